"""`urbanpulse train gazetteer` then `urbanpulse geocode`, end to end on the tiny city."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from flows.cli import _parser, main
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
    # both Russian spellings of house 1 and the English one pool; null island is not evidence
    assert "2 addresses learned from 6 reports" in capsys.readouterr().out
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
    # 1 and 9 are 2.5 km apart: no interpolation across that gap, the middle of the stretch instead
    assert result[rq.GEOCODE_PRECISION].to_list() == ["house", "street", "house", "none"]
    assert result[rq.GEOCODE_ISSUE].to_list() == [None, None, None, rq.AddressIssue.UNKNOWN_STREET]
    assert result[rq.LONG][1] == pytest.approx(37.03, abs=1e-4)
    assert result[rq.GEOCODE_EXTENT_M][1] == pytest.approx(1275, rel=0.02)
    assert result[rq.LAT][0] == pytest.approx(55.15, abs=1e-4)


def test_geocode_without_gazetteer_says_what_to_do(tiny_pack: CityPack, tmp_path: Path, capsys):
    feed = tmp_path / "feed.csv"
    pl.DataFrame({"where": ["ул. Садовая, 5"]}).write_csv(feed)
    argv = ["--home", str(tmp_path), "geocode", str(feed), "--city", "tiny", "--address", "where",
            "--out", str(tmp_path / "out.csv")]
    assert main(argv) == 2
    assert "train gazetteer" in capsys.readouterr().err


REGISTER = "Адрес;Широта;Долгота\nул. Садовая, д. 1;55,15;37,01\nул. Садовая, д. 9;55,15;37,05\nул. Садовая;55,1;37,0\n"


def _city_addresses_wired() -> bool:
    try:
        _parser().parse_args(["city", "addresses", "--city", "x", "f.csv"])
    except SystemExit:
        return False
    return True


@pytest.mark.skipif(not _city_addresses_wired(), reason="flows/cli.py does not pass its `city` group to modules yet")
def test_city_addresses_imports_a_register_and_reports_bad_rows(tiny_pack: CityPack, tmp_path: Path, capsys):
    register = tmp_path / "register.csv"
    register.write_bytes(b"\xef\xbb\xbf" + REGISTER.encode())
    argv = ["--home", str(tmp_path), "city", "addresses", "--city", "tiny", str(register)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 addresses imported from 3 rows; rejected: no_house 1" in out
    rejected = pl.read_csv(tmp_path / "cities" / "tiny" / cp.PACK_REGISTER_REJECTED_FILE)
    assert rejected.rows() == [(4, "no_house", "ул. Садовая | 55,1 | 37,0")]
    gazetteer = CityPack.load(tmp_path / "cities" / "tiny").gazetteer
    assert gazetteer is not None and gazetteer[cp.HOUSE].to_list() == ["1", "9"]

    empty = tmp_path / "nothing.csv"
    empty.write_text("street;house\nул. Мира;5\n", encoding="utf-8")
    assert main(["--home", str(tmp_path), "city", "addresses", "--city", "tiny", str(empty)]) == 2
    assert "no coordinates" in capsys.readouterr().err


def test_import_addresses_handler(tiny_pack: CityPack, tmp_path: Path, capsys):
    """The handler behind `urbanpulse city addresses`, called as the CLI calls it."""
    import argparse

    from flows.cli_geocode import import_addresses
    from plumbing.workspace import Workspace

    register = tmp_path / "register.csv"
    register.write_text(REGISTER, encoding="utf-8")
    args = argparse.Namespace(path=register, city="tiny", encoding=None,
                              **{f"column_{r}": None for r in ("address", "street", "street_type", "street_en",
                                                              "house", "locality", "lat", "lon", "point")})
    assert import_addresses(args, [], Workspace.resolve(str(tmp_path))) == 0
    assert "2 addresses imported from 3 rows; rejected: no_house 1" in capsys.readouterr().out
    args.column_lat = "missing"
    with pytest.raises(ValueError, match="no column 'missing'"):
        import_addresses(args, [], Workspace.resolve(str(tmp_path)))
