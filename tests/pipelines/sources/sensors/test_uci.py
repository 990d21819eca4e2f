"""UCI Beijing multi-site files: wide station-hours -> long raw observations."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import polars as pl
import pytest
from samples import sample_file

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.sensors.uci import UCI_PARAMETERS, UciStats, read_uci
from schemas.sensors import RAW_OBSERVATION

HEADER = '"No","year","month","day","hour","PM2.5","PM10","SO2","NO2","CO","O3","TEMP","PRES","DEWP","RAIN","wd","WSPM","station"'
ROW_1 = '1,2013,3,1,0,4,4,4,7,300,77,-0.7,1023,-18.8,0,"NNW",4.4,"Aotizhongxin"'
ROW_2 = '2,2013,3,1,1,NA,8,4,7,300,77,-1.1,1023.2,-18.2,0,"N",NA,"Aotizhongxin"'


def write(tmp_path: Path, text: str, name: str = "uci.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def read_all(path: Path, batch_rows: int = 10_000, stats: UciStats | None = None) -> pl.DataFrame:
    return pl.concat(list(read_uci(path, batch_rows, stats)))


def test_real_file_counts_match_a_csv_recount() -> None:
    path = sample_file("sensors", "PRSA_Data_Aotizhongxin_20130301-20170228.csv")
    started = time.perf_counter()
    stats = UciStats()
    frame = read_all(path, 100_000, stats)
    elapsed = time.perf_counter() - started
    with path.open(newline="") as handle:
        records = list(csv.DictReader(handle))
    expected = {p: sum(1 for r in records if r[p] not in ("NA", "")) for p in UCI_PARAMETERS}
    counts = dict(frame.group_by("parameter").len().iter_rows())
    assert counts == expected
    assert frame.height == len(records) * len(UCI_PARAMETERS) - sum(stats.missing.values())
    assert stats.records == len(records) == 35_064 and stats.unreadable == 0
    assert frame.select("source_position", "parameter").is_unique().all()
    first = frame.row(0, named=True)
    assert (first["station_id"], first["parameter"], first["value"], first["observed_at"]) == (
        "Aotizhongxin", "PM2.5", "4", "2013-03-01 00:00")
    last = records[-1]
    assert frame.filter(pl.col("source_position") == len(records) - 1, pl.col("parameter") == "TEMP").item(
        0, "value") == last["TEMP"]
    assert frame.get_column("observed_at").str.ends_with(":00").all()
    assert elapsed < 2.0, f"{elapsed:.2f} s"  # ~0.15 s alone; slack for shared cores


def test_rows_are_raw_observations_without_missing_values(tmp_path: Path) -> None:
    stats = UciStats()
    frame = read_all(write(tmp_path, f"{HEADER}\n{ROW_1}\n{ROW_2}\n"), stats=stats)
    assert frame.to_arrow().cast(RAW_OBSERVATION).num_rows == 11 + 9
    assert "NA" not in frame.get_column("value").to_list()
    assert stats.missing == {"PM2.5": 1, "WSPM": 1} and stats.observations == 20
    assert frame.get_column("parameter").to_list()[:11] == list(UCI_PARAMETERS)
    assert "wd" not in frame.get_column("parameter").to_list()
    second = frame.filter(pl.col("source_position") == 1)
    assert second.get_column("observed_at").unique().to_list() == ["2013-03-01 01:00"]
    assert frame.get_column("unit").is_null().all() and (frame.get_column("period_hours") == 1.0).all()
    assert frame.get_column("source").unique().to_list() == ["uci_beijing"]


def test_crlf_and_bom_read_like_lf(tmp_path: Path) -> None:
    lf = read_all(write(tmp_path, f"{HEADER}\n{ROW_1}\n{ROW_2}\n", "lf.csv"))
    crlf = read_all(write(tmp_path, f"\ufeff{HEADER}\r\n{ROW_1}\r\n\r\n{ROW_2}\r\n", "crlf.csv"))
    assert crlf.drop("source_file").equals(lf.drop("source_file"))


def test_a_broken_record_is_one_unreadable_row(tmp_path: Path) -> None:
    broken = "3,2013,3,1,2,5,5,extra,4,7,300"
    frame = read_all(write(tmp_path, f"{HEADER}\n{ROW_1}\n{broken}\n{ROW_2}\n"))
    bad = frame.filter(pl.col("unreadable_record").is_not_null())
    assert bad.height == 1
    assert bad.row(0, named=True)["unreadable_record"] == broken
    assert bad.row(0, named=True)["parameter"] is None and bad.row(0, named=True)["source_position"] == 1
    assert frame.filter(pl.col("source_position") == 2).height == 9  # the next record is intact


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = write(tmp_path, '"No","year","month","PM2.5","station"\n1,2013,3,4,"A"\n')
    with pytest.raises(SourceFormatError, match="day; hour"):
        list(read_uci(path, 10))
    path = write(tmp_path, '"year","month","day","hour","station"\n2013,3,1,0,"A"\n', "nothing.csv")
    with pytest.raises(SourceFormatError, match="one of PM2.5"):
        list(read_uci(path, 10))


def test_batches_are_bounded(tmp_path: Path) -> None:
    frames = list(read_uci(write(tmp_path, f"{HEADER}\n{ROW_1}\n{ROW_2}\n"), 7))
    assert [f.height for f in frames] == [7, 7, 6]


def test_header_only_file_gives_nothing(tmp_path: Path) -> None:
    assert list(read_uci(write(tmp_path, f"{HEADER}\n"), 10)) == []
    assert list(read_uci(write(tmp_path, "", "empty.csv"), 10)) == []


def test_an_overlong_record_is_unreadable_and_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pipelines.sources.sensors.MAX_RECORD_CHARS", 200)
    monkeypatch.setattr("pipelines.sources.sensors._PIECE_CHARS", 64)
    long_line = "9,2013,3,1,5," + "1" * 5_000
    frame = read_all(write(tmp_path, f"{HEADER}\r\n{ROW_1}\r\n{long_line}\r\n{ROW_2}\r\n"))
    bad = frame.filter(pl.col("unreadable_record").is_not_null())
    assert bad.get_column("source_position").to_list() == [1]
    assert "5,013 characters" in bad.item(0, "unreadable_record")
    assert frame.filter(pl.col("source_position") == 2).height == 9
