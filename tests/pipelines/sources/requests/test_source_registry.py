"""The entry point: format names, source names and the errors a caller can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.sources.requests import FORMATS, SourceFormatError, read_raw_batches


def test_supported_formats() -> None:
    assert sorted(FORMATS) == [
        "csv",
        "jsonl",
        "nyc311",
        "open311-json",
        "open311-xml",
        "parquet",
        "sf311",
    ]


def test_unknown_format_lists_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("service_request_id\n1\n")
    with pytest.raises(SourceFormatError, match=r"unknown source format 'xlsx'.*'nyc311'"):
        read_raw_batches(path, "xlsx")  # raises at the call, before iterating


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"absent.csv is not a readable file"):
        read_raw_batches(tmp_path / "absent.csv", "csv")


def test_nyc_adapter_on_a_file_of_another_city(tmp_path: Path) -> None:
    path = tmp_path / "sf.csv"
    path.write_text("unique_key,created_date\n1,2016-07-13 15:11:07+00:00\n")
    with pytest.raises(SourceFormatError, match=r"no column 'Unique Key'.*\['created_date'"):
        list(read_raw_batches(path, "nyc311"))


def test_source_error_is_a_value_error() -> None:
    assert issubclass(SourceFormatError, ValueError)
