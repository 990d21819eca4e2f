"""Madrid's hourly layout (24 values and flags per station x pollutant x day) and snapshots."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.sensors.wide_daily import read_snapshots, read_wide_daily, upsert_snapshots
from schemas.sensors import RAW_OBSERVATION

HEADER = "PROVINCIA;MUNICIPIO;ESTACION;MAGNITUD;PUNTO_MUESTREO;ANO;MES;DIA;" + ";".join(
    f"H{h:02d};V{h:02d}" for h in range(1, 25))


def record(magnitud: int, hours: list[tuple[str, str]], station: str = "4", day: int = 15) -> str:
    hours = hours + [("00000", "N")] * (24 - len(hours))
    cells = ";".join(f"{value};{flag}" for value, flag in hours)
    return f"28;79;{station};{magnitud};28079{int(station):03d}_{magnitud}_8;2024;1;{day};{cells}"


def write(tmp_path: Path, lines: list[str], name: str = "madrid.csv", bom: bool = True, eol: str = "\r\n") -> Path:
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + eol.join([HEADER, *lines, ""]).encode("utf-8"))
    return path


def read_all(path: Path, batch_rows: int = 1_000) -> pl.DataFrame:
    return pl.concat(list(read_wide_daily(path, batch_rows)))


def test_one_row_per_hour_with_period_start_and_flag(tmp_path: Path) -> None:
    full = [(f"{h:05d}", "V") for h in range(1, 25)]
    frame = read_all(write(tmp_path, [record(8, full), record(6, [("0,4", "V"), ("1,25", "N")])]))
    assert frame.to_arrow().cast(RAW_OBSERVATION).num_rows == 48
    no2 = frame.filter(pl.col("parameter") == "no2")
    assert no2.get_column("observed_at").to_list()[:2] == ["2024-01-15 00:00", "2024-01-15 01:00"]
    assert no2.row(23, named=True)["observed_at"] == "2024-01-15 23:00"
    assert no2.row(0, named=True)["value"] == "00001" and no2.row(23, named=True)["value"] == "00024"
    assert set(no2.get_column("unit")) == {"µg/m³"} and set(no2.get_column("station_id")) == {"28079004"}
    co = frame.filter(pl.col("parameter") == "co")
    assert co.get_column("value").to_list()[:2] == ["0.4", "1.25"]
    assert co.get_column("source_valid").to_list()[:2] == ["V", "N"] and co.row(0, named=True)["unit"] == "mg/m³"
    assert frame.get_column("source_position").to_list() == list(range(48))
    assert (frame.get_column("period_hours") == 1.0).all()


def test_other_codes_keep_their_number(tmp_path: Path) -> None:
    frame = read_all(write(tmp_path, [record(7, [("00012", "V")]), record(20, [("1,5", "V")])], bom=False, eol="\n"))
    assert set(frame.get_column("parameter")) == {"magnitud_7", "magnitud_20"}
    assert frame.get_column("unit").is_null().all()


def test_broken_record_and_missing_columns(tmp_path: Path) -> None:
    broken = "28;79;4;8;2024;1;15;00001;V"
    frame = read_all(write(tmp_path, [record(8, [("00001", "V")]), broken, record(9, [("00002", "V")])]))
    bad = frame.filter(pl.col("unreadable_record").is_not_null())
    assert bad.height == 1 and bad.item(0, "unreadable_record") == broken and bad.item(0, "source_position") == 24
    assert frame.filter(pl.col("source_position") >= 48).height == 24
    path = tmp_path / "short.csv"
    path.write_text("PROVINCIA;MUNICIPIO;ESTACION;MAGNITUD;ANO;MES;DIA;H01;V01\n")
    with pytest.raises(SourceFormatError, match="H02, V02"):
        list(read_wide_daily(path, 10))


def test_batches_are_bounded(tmp_path: Path) -> None:
    frames = list(read_wide_daily(write(tmp_path, [record(8, []), record(9, [])]), 20))
    assert [f.height for f in frames] == [20, 20, 8]


def test_later_snapshots_supersede_hour_by_hour(tmp_path: Path) -> None:
    morning = write(tmp_path, [record(8, [("00030", "V"), ("00031", "V")])], "0900.csv")
    noon = write(tmp_path, [record(8, [("00030", "V"), ("00000", "N"), ("00035", "V"), ("00099", "N")])], "1200.csv")
    evening = write(tmp_path, [record(8, [("00032", "V"), ("00000", "N"), ("00036", "N"), ("00040", "V")])], "1800.csv")
    merged = read_snapshots([morning, noon, evening], 100)
    assert merged.height == 24  # every hour once
    assert merged.select("observed_at").is_unique().all()
    hours = merged.sort("observed_at").head(5).select("value", "source_valid", "source_file").rows()
    assert hours[0][:2] == ("00032", "V")  # a later valid value wins
    assert hours[1] == ("00031", "V", str(morning))  # a placeholder never overwrites a real value
    assert hours[2][:2] == ("00036", "N")  # a later N with a value: the agency invalidated it
    assert hours[3][:2] == ("00040", "V")
    assert hours[4] == ("00000", "N", str(evening))  # only placeholders: the latest, still not valid


def test_upsert_keeps_unreadable_rows_and_order() -> None:
    rows = pl.DataFrame({
        "station_id": ["s", None, "s", "s"], "parameter": ["no2", None, "no2", "no2"],
        "value": ["5", None, "0", "7"], "observed_at": ["t1", None, "t1", "t2"],
        "source_valid": ["V", None, "N", "V"], "source_position": [0, 1, 2, 3],
    })
    assert upsert_snapshots(rows).get_column("source_position").to_list() == [0, 1, 3]
    assert read_snapshots([], 10).height == 0
