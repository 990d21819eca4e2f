"""Generic sensor tables through a mapping: the peer's long layout, counters, wide columns, broken lines."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.sensors.tables import SensorMapping, load_sensor_mapping, read_table
from schemas import sensors as sn
from schemas.requests import SOURCE_POSITION, UNREADABLE_RECORD


def rows(path: Path, mapping: SensorMapping = SensorMapping()) -> pl.DataFrame:
    return pl.concat(list(read_table(path, 1000, mapping)))


def test_the_long_layout_needs_no_mapping(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("station_id,parameter,period_start,value\nS1,pm25,2024-01-01T00:00:00Z,12.5\n"
                    "S1,pm25,2024-01-01T01:00:00Z,\nS2,no2,2024-01-01T00:00:00Z,30\n", encoding="utf-8")
    raw = rows(path)
    assert raw[sn.STATION_ID].to_list() == ["S1", "S2"]  # the empty value is a missing hour, no row
    assert raw[sn.OBSERVED_AT][0] == "2024-01-01T00:00:00Z" and raw[SOURCE_POSITION].to_list() == [0, 2]


def test_a_counter_file_with_constants_and_wide_columns(tmp_path: Path) -> None:
    (tmp_path / "map.toml").write_text('[columns]\nstation_id = "counter"\nobserved_at = "hour"\n'
                                       '[constants]\nunit = "count"\n[wide]\nparameters = ["bikes", "pedestrians"]\n',
                                       encoding="utf-8")
    path = tmp_path / "counters.csv"
    path.write_text("counter,hour,bikes,pedestrians\nC7,2024-05-01 08:00,41,120\n", encoding="utf-8")
    raw = rows(path, load_sensor_mapping(tmp_path / "map.toml")).sort(sn.PARAMETER)
    assert raw[sn.PARAMETER].to_list() == ["bikes", "pedestrians"] and raw[sn.VALUE].to_list() == ["41", "120"]
    assert set(raw[sn.UNIT]) == {"count"}


def test_a_broken_line_is_one_unreadable_row_and_a_missing_column_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_text("station_id,parameter,period_start,value\nS1,pm25,2024-01-01T00:00:00Z,1\n"
                    "S1,pm25,2024-01-01T01:00:00Z,2,extra\n", encoding="utf-8")
    raw = rows(path)
    assert raw.height == 2 and raw[UNREADABLE_RECORD].null_count() == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("where,when,what\nx,y,z\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="no column 'station_id'"):
        rows(bad)
