"""`urbanpulse generate sensors` then `ingest sensors`, for each generated format: the planted
faults are flagged, every observation is accounted for, stations sit in their districts."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from flows.cli import main
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import sensors as sn
from synthetic.demo_city import build_demo_city


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-sensors")
    build_demo_city(Workspace(root).city("demo"))
    return root


@pytest.mark.parametrize("fmt", ["csv", "uci", "mqtt-json"])
def test_generate_then_ingest(home: Path, fmt: str, capsys) -> None:
    out = home / f"generated-{fmt}"
    assert main(["--home", str(home), "generate", "sensors", "--stations", "3", "--days", "4", "--end", "2026-11-30",
                 "--format", fmt, "--seed", "4", "--out", str(out)]) == 0
    files = sorted(out.glob("uci_*.csv")) if fmt == "uci" else [next(p for p in out.iterdir() if p.stem in (
        "observations", "messages"))]
    city = f"demo{fmt.replace('-', '')}"
    build_demo_city(Workspace(home).city(city))
    assert main(["--home", str(home), "ingest", "sensors", *map(str, files), "--city", city, "--format", fmt,
                 "--stations", str(out / "stations.csv"), "--no-prefect"]) == 0
    printed = capsys.readouterr().out
    assert "accounting ok: True" in printed
    observations = pl.read_parquet(Workspace(home).city_dataset(ds.SENSOR_OBSERVATIONS, city) / "**" / "*.parquet",
                                   hive_partitioning=False)
    faults = pl.read_parquet(out / "faults.parquet")
    checked = 0
    for kind, code in [("spike", sn.QcFlag.SPIKE), ("flatline", sn.QcFlag.FLATLINE),
                       ("out_of_range", sn.QcFlag.OUT_OF_RANGE), ("negative", sn.QcFlag.NEGATIVE)]:
        planted = faults.filter(pl.col("fault") == kind).select(sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START)
        found = observations.join(planted, on=[sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START])
        if found.height:  # (the UCI layout has no column for some generated parameters)
            checked += 1
            assert found[sn.QC_FLAGS].list.contains(code).mean() >= 0.8, kind
    assert checked >= 2
    daily = pl.read_parquet(Workspace(home).city_dataset(ds.SENSOR_DAILY, city) / "**" / "*.parquet",
                            hive_partitioning=False)
    assert daily["district_id"].null_count() == 0 and daily[sn.STATION_ID].n_unique() == 3


def test_generate_sensors_needs_a_city_pack(tmp_path: Path, capsys) -> None:
    assert main(["--home", str(tmp_path), "generate", "sensors", "--out", str(tmp_path / "x")]) == 2
    assert "city create" in capsys.readouterr().err


@pytest.mark.parametrize(("fmt", "text", "message"), [
    ("uci", "x;y\n1;2\n", "is not a UCI Beijing multi-site file"),
    ("wide-daily", "x;y\n1;2\n", "is not in Madrid's hourly layout"),
    ("sensorthings", "garbage{\n", "is not valid JSON"),
    ("csv", "x;y\n1;2\n", "has no column 'station_id'"),
])
def test_a_file_in_another_format_is_one_line_before_any_flow(tmp_path: Path, capsys, fmt, text, message) -> None:
    path = tmp_path / "wrong.txt"
    path.write_text(text)
    assert main(["--home", str(tmp_path), "ingest", "sensors", str(path), "--format", fmt]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"urbanpulse: error: {path} ") and message in captured.err
    assert captured.err.count("\n") == 1 and "ingesting" not in captured.out  # no flow started
