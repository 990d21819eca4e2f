"""Open311 GeoReport v2 JSON: the real Bloomington answer and the spec's error envelope."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from raw_reading import read_raw, sample_file

from pipelines.sources.limits import MAX_FIELD_CHARS, MAX_NESTING_DEPTH
from pipelines.sources.requests import SourceFormatError, read_raw_batches
from schemas.requests import (
    ADDRESS,
    DESCRIPTION,
    GUESSED_ENCODING,
    LAT,
    LONG,
    REQUESTED_DATETIME,
    SERVICE_REQUEST_ID,
    SOURCE,
    UNREADABLE_RECORD,
    UPDATED_DATETIME,
)


@pytest.fixture(scope="module")
def sample() -> Path:
    return sample_file("open311", "bloomington_requests.json")


@pytest.fixture(scope="module")
def answer(sample: Path) -> list[dict[str, object]]:
    return json.loads(sample.read_text(encoding="utf-8"))


@pytest.fixture
def raw(sample: Path) -> pl.DataFrame:
    return read_raw(sample, "open311-json", batch_rows=8)


def test_one_row_per_request(raw: pl.DataFrame, answer: list[dict[str, object]]) -> None:
    assert raw.height == len(answer) == 21
    assert raw[SERVICE_REQUEST_ID].to_list() == [r["service_request_id"] for r in answer]
    assert raw[SOURCE].unique().to_list() == ["open311"]
    assert raw[UNREADABLE_RECORD].null_count() == raw.height


def test_offsets_become_utc(raw: pl.DataFrame) -> None:
    # "2012-05-23T15:55:28-04:00"
    assert raw[REQUESTED_DATETIME][0] == "2012-05-23T19:55:28Z"
    assert raw[UPDATED_DATETIME][0] == "2012-05-23T19:55:30Z"


def test_coordinates_keep_the_servers_text(
    raw: pl.DataFrame, answer: list[dict[str, object]]
) -> None:
    assert raw[LAT][:3].to_list() == [None, "39.146551871103", "0"]
    assert raw[LONG][:3].to_list() == [None, "-86.485448337464", "0"]
    assert raw[LAT].null_count() == sum(r["lat"] is None for r in answer) == 2


def test_citizen_text_is_passed_through(raw: pl.DataFrame, answer: list[dict[str, object]]) -> None:
    assert raw[DESCRIPTION][0] == answer[0]["description"]
    assert "\r\n" in raw[DESCRIPTION][0]
    assert raw[ADDRESS][0] is None


def test_non_object_element_is_an_unreadable_row(tmp_path: Path) -> None:
    path = tmp_path / "requests.json"
    path.write_text('[{"service_request_id": "1", "lat": 40.1}, 7, {"service_request_id": "3"}]')
    raw = read_raw(path, "open311-json")
    assert raw[SERVICE_REQUEST_ID].to_list() == ["1", None, "3"]
    assert raw[UNREADABLE_RECORD].to_list() == [None, "7", None]
    assert raw[LAT].to_list() == ["40.1", None, None]


@pytest.mark.parametrize(
    "document",
    [
        '[{"code": 403, "description": "Invalid api_key received -- can\'t proceed"}]',
        '{"code": 403, "description": "Invalid api_key received -- can\'t proceed"}',
    ],
)
def test_error_envelope_raises_with_the_servers_message(tmp_path: Path, document: str) -> None:
    path = tmp_path / "requests.json"
    path.write_text(document)
    with pytest.raises(SourceFormatError, match=r"403: Invalid api_key received"):
        list(read_raw_batches(path, "open311-json"))


def test_broken_json_says_where(tmp_path: Path) -> None:
    path = tmp_path / "requests.json"
    path.write_text('[{"service_request_id": "1",\n "status": }]')
    with pytest.raises(SourceFormatError, match=r"line 2, column"):
        list(read_raw_batches(path, "open311-json"))


def test_lone_surrogate_escape_keeps_the_record(tmp_path: Path) -> None:
    """Regression (parsing probe): `"\\ud800"` aborted the run with an unclear message."""
    path = tmp_path / "requests.json"
    path.write_text('[{"service_request_id": "1", "description": "x\\udc00y"}]')
    raw = read_raw(path, "open311-json")
    assert raw[DESCRIPTION].to_list() == ["x\ufffdy"]


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH, 900, 5_000])
@pytest.mark.parametrize("wrapper", ["{}", '{{"service_requests": {}}}'])
def test_element_nested_too_deep_is_an_unreadable_row(tmp_path: Path, depth: int, wrapper: str) -> None:
    """Regression (parsing probe): past ~1,000 levels the run aborted with an unclear message."""
    deep = '{"service_request_id": "deep", "media": ' + "[" * depth + "]" * depth + "}"
    array = f'[{{"service_request_id": "1"}}, {deep}, {{"service_request_id": "3"}}]'
    path = tmp_path / "requests.json"
    path.write_text(wrapper.format(array) if wrapper != "{}" else array)
    raw = read_raw(path, "open311-json", batch_rows=2)
    assert raw[SERVICE_REQUEST_ID].to_list() == ["1", None, "3"]
    assert raw[UNREADABLE_RECORD][1].startswith('{"service_request_id": "deep"')


def test_wrapped_array_keeps_each_elements_text(tmp_path: Path) -> None:
    path = tmp_path / "requests.json"
    path.write_text('{"meta": {"page": 1},\r"requests": [{"service_request_id": "1"},\r 7 ]\r}\r')
    raw = read_raw(path, "open311-json")
    assert raw[SERVICE_REQUEST_ID].to_list() == ["1", None]
    assert raw[UNREADABLE_RECORD].to_list() == [None, "7"]


def test_element_past_the_size_bound_is_an_unreadable_row(tmp_path: Path) -> None:
    path = tmp_path / "requests.json"
    big = "x" * (MAX_FIELD_CHARS + 10)
    path.write_text(f'[{{"service_request_id": "1", "description": "{big}"}}, {{"service_request_id": "2"}}]')
    raw = read_raw(path, "open311-json")
    assert raw[SERVICE_REQUEST_ID].to_list() == [None, "2"]
    assert raw[UNREADABLE_RECORD][0].endswith("characters in all]")


def test_cp1251_answer_is_decoded_by_guess(tmp_path: Path) -> None:
    records = [{"service_request_id": str(i), "description": "Не горит фонарь во дворе"} for i in range(10)]
    path = tmp_path / "requests.json"
    path.write_bytes(json.dumps(records, ensure_ascii=False).encode("cp1251"))
    raw = read_raw(path, "open311-json")
    assert raw[DESCRIPTION].to_list() == ["Не горит фонарь во дворе"] * 10
    assert raw[GUESSED_ENCODING].drop_nulls().len() == 10
