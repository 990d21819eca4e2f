"""`urbanpulse train gazetteer` then `urbanpulse geocode`, end to end on the tiny city."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from flows.cli import main
from models.cities.pack import CityPack
from schemas import citypack as cp
from schemas import requests as rq


@pytest.fixture(autouse=True)
def isolated_prefect_settings(monkeypatch):
    for name in ("PREFECT_HOME", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
                 "PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK", "PREFECT_LOGGING_LEVEL"):
        monkeypatch.delenv(name, raising=False)


def test_train_gazetteer_then_geocode(tiny_pack: CityPack, tmp_path: Path, capsys):
    home = ["--home", str(tmp_path)]
    history = tmp_path / "history.csv"
    pl.DataFrame({
        "addr": ["ул. Садовая, д. 1", "Садовая ул., 1", "ул. Садовая, д. 9", "ул. Садовая, д. 9",
                 "Sadovaya St 1", "ул. Садовая, д. 9", "ул. Садовая, д. 9"],
        "y": ["55.15", "55.1502", "55.15", "55.1501", "55.15", "0", "55.1499"],
        "x": ["37.01", "37.0101", "37.05", "37.0501", "37.01", "0", "37.05"],
    }).write_csv(history)
    argv = [*home, "train", "gazetteer", "--city", "tiny", "--data", str(history),
            "--address", "addr", "--lat", "y", "--lon", "x"]
    assert main(argv) == 0
    # both Russian spellings of house 1 pool; the English one is a street of its own (no gazetteer
    # links the two languages yet), and null island is not evidence
    assert "3 addresses learned from 6 reports" in capsys.readouterr().out
    learned = CityPack.load(tmp_path / "cities" / "tiny").gazetteer
    assert learned is not None and set(learned[cp.HOUSE]) == {"1", "9"}

    feed = tmp_path / "feed.csv"
    pl.DataFrame({
        "where": ["Садовая улица, дом 9", "ул. Садовая, 5", None, "ул. Лесная, 3"],
        "text": [None, None, "Яма на дороге около дома ул. Садовая, д. 1, опасно", None],
    }).write_csv(feed)
    out = tmp_path / "geocoded.parquet"
    argv = [*home, "geocode", str(feed), "--city", "tiny", "--address", "where", "--text", "text",
            "--out", str(out)]
    assert main(argv) == 0
    result = pl.read_parquet(out)
    assert result[rq.GEOCODE_PRECISION].to_list() == ["house", "interpolated", "house", "none"]
    assert result[rq.GEOCODE_ISSUE].to_list() == [None, None, None, rq.AddressIssue.UNKNOWN_STREET]
    assert result[rq.LONG][1] == pytest.approx(37.03, abs=1e-4)  # halfway between 1 and 9
    assert result[rq.LAT][0] == pytest.approx(55.15, abs=1e-4)


def test_geocode_without_gazetteer_says_what_to_do(tiny_pack: CityPack, tmp_path: Path, capsys):
    feed = tmp_path / "feed.csv"
    pl.DataFrame({"where": ["ул. Садовая, 5"]}).write_csv(feed)
    argv = ["--home", str(tmp_path), "geocode", str(feed), "--city", "tiny", "--address", "where",
            "--out", str(tmp_path / "out.csv")]
    assert main(argv) == 2
    assert "train gazetteer" in capsys.readouterr().err
