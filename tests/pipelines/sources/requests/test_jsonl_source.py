"""JSON Lines: one request per line; a line that is not a JSON object is still a record."""

from __future__ import annotations

import codecs
import json
import resource
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from raw_reading import read_raw

from pipelines.sources.limits import (
    KEPT_TEXT_CHARS,
    MAX_FIELD_CHARS,
    MAX_NESTING_DEPTH,
    MAX_RECORD_CHARS,
)
from pipelines.sources.requests import SourceFormatError, SourceMapping, read_raw_batches
from schemas.requests import (
    DESCRIPTION,
    GUESSED_ENCODING,
    LAT,
    REQUESTED_DATETIME,
    SERVICE_REQUEST_ID,
    SOURCE_POSITION,
    STATUS,
    UNREADABLE_RECORD,
)

LINES = [
    '{"service_request_id": "1", "lat": 40.70, "requested_datetime": "2023-02-28T23:45:00Z"}',
    '{"service_request_id": "2", "description": "trunc',
    "",
    '["not", "an", "object"]',
    '{"service_request_id": "4", "status": "open", "description": {"text": "nested"}}',
]


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("batch_rows", [1, 2, 100])
def test_malformed_lines_become_unreadable_rows(feed: Path, batch_rows: int) -> None:
    raw = read_raw(feed, "jsonl", batch_rows=batch_rows)
    expected = pl.DataFrame(
        {
            SERVICE_REQUEST_ID: ["1", None, None, "4"],
            STATUS: [None, None, None, "open"],
            DESCRIPTION: [None, None, None, '{"text":"nested"}'],
            REQUESTED_DATETIME: ["2023-02-28T23:45:00Z", None, None, None],
            LAT: ["40.70", None, None, None],  # the number as written, not 40.7
            SOURCE_POSITION: [0, 1, 2, 3],  # the blank line is not a record
            UNREADABLE_RECORD: [None, LINES[1], LINES[3], None],
        },
        schema_overrides={SOURCE_POSITION: pl.Int64},
    )
    assert_frame_equal(raw.select(expected.columns), expected)


def test_mapped_key_in_no_record_fails_at_the_end(feed: Path) -> None:
    mapping = SourceMapping(columns={DESCRIPTION: "text"})
    with pytest.raises(SourceFormatError, match=r"no column 'text'"):
        list(read_raw_batches(feed, "jsonl", mapping=mapping))


def test_mapped_key_present_in_some_records(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text('{"id": "1"}\n{"id": "2", "text": "hello"}\n', encoding="utf-8")
    mapping = SourceMapping(columns={SERVICE_REQUEST_ID: "id", DESCRIPTION: "text"})
    raw = read_raw(path, "jsonl", mapping=mapping, batch_rows=1)
    assert raw.select(SERVICE_REQUEST_ID, DESCRIPTION).rows() == [("1", None), ("2", "hello")]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_lone_surrogate_escape_keeps_the_record(tmp_path: Path) -> None:
    """Regression (parsing probe): `"\\ud800"` aborted the run with an unclear message."""
    path = tmp_path / "feed.jsonl"
    path.write_text(
        '{"service_request_id": "1", "description": "bad \\ud800 text", "status": {"n\\udfff": 1}}\n'
        '{"service_request_id": "2", "description": "pair \\ud83d\\ude00 kept"}\n',
        encoding="utf-8",
    )
    raw = read_raw(path, "jsonl")
    assert raw[SERVICE_REQUEST_ID].to_list() == ["1", "2"]
    assert raw[DESCRIPTION].to_list() == ["bad \ufffd text", "pair \U0001f600 kept"]
    assert raw[STATUS].to_list() == ['{"n\ufffd":"1"}', None]  # nested numbers: text, as before
    assert raw[UNREADABLE_RECORD].null_count() == 2


@pytest.mark.parametrize("depth", [MAX_NESTING_DEPTH, 900, 1_500, 100_000])
def test_deeply_nested_line_is_an_unreadable_row(tmp_path: Path, depth: int) -> None:
    """Regression (parsing probe): past ~1,000 levels the run aborted; a 1.9 KB line nested 900
    deep took more than 4 GB. Now one unreadable row, and memory stays flat."""
    line = '{"service_request_id": "deep", "x": ' + "[" * depth + "]" * depth + "}"
    path = tmp_path / "feed.jsonl"
    path.write_text(f'{line}\n{{"service_request_id": "next"}}\n', encoding="utf-8")
    before = _peak_rss_mb()
    raw = read_raw(path, "jsonl")
    assert _peak_rss_mb() - before < 200
    assert raw[SERVICE_REQUEST_ID].to_list() == [None, "next"]
    assert raw[UNREADABLE_RECORD][0].startswith('{"service_request_id": "deep"')


def test_nesting_up_to_the_bound_is_read(tmp_path: Path) -> None:
    depth = MAX_NESTING_DEPTH - 1  # the record is level 1
    path = tmp_path / "feed.jsonl"
    path.write_text('{"service_request_id": "1", "status": ' + "[" * depth + "]" * depth + "}\n")
    raw = read_raw(path, "jsonl")
    assert raw[STATUS].to_list() == ["[" * depth + "]" * depth]


def test_field_past_the_size_bound_is_an_unreadable_row_with_its_start(tmp_path: Path) -> None:
    line = '{"service_request_id": "1", "description": "' + "x" * (MAX_FIELD_CHARS + 1) + '"}'
    path = tmp_path / "feed.jsonl"
    path.write_text(f'{line}\n{{"service_request_id": "2"}}\n')
    raw = read_raw(path, "jsonl")
    assert raw[SERVICE_REQUEST_ID].to_list() == [None, "2"]
    kept = raw[UNREADABLE_RECORD][0]
    assert kept.startswith('{"service_request_id": "1"') and len(kept) < KEPT_TEXT_CHARS + 100
    assert kept.endswith(f"[truncated: {len(line):,} characters in all]")


def test_line_past_the_record_bound_is_read_in_pieces(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    line = '{"service_request_id": "1", "description": "' + "y" * (MAX_RECORD_CHARS * 2) + '"}'
    path.write_text(f'{line}\n{{"service_request_id": "2"}}\n')
    before = _peak_rss_mb()
    raw = read_raw(path, "jsonl")
    assert _peak_rss_mb() - before < 200
    assert raw[SERVICE_REQUEST_ID].to_list() == [None, "2"]
    assert raw[UNREADABLE_RECORD][0].endswith(f"[truncated: {len(line):,} characters in all]")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_every_line_ending_and_a_bom_give_every_record(tmp_path: Path, newline: str, bom: bytes) -> None:
    path = tmp_path / "feed.jsonl"
    text = newline.join(['{"service_request_id": "1"}', "", '{"service_request_id": "2"}', "oops"])
    path.write_bytes(bom + text.encode())
    raw = read_raw(path, "jsonl")
    assert raw[SERVICE_REQUEST_ID].to_list() == ["1", "2", None]
    assert raw[UNREADABLE_RECORD].to_list() == [None, None, "oops"]


@pytest.mark.parametrize("encoding", ["cp1251", "utf-16"])
def test_other_encodings_are_decoded(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "feed.jsonl"
    lines = [json.dumps({"service_request_id": str(i), "description": f"Яма на дороге номер {i}, глубокая"},
                        ensure_ascii=False) for i in range(20)]
    path.write_bytes("\n".join(lines).encode(encoding))
    raw = read_raw(path, "jsonl")
    assert raw[DESCRIPTION].to_list() == [f"Яма на дороге номер {i}, глубокая" for i in range(20)]
    # a byte-order mark names UTF-16; cp1251 has none, so that one is a guess
    guessed = raw[GUESSED_ENCODING].unique().to_list()
    assert [codecs.lookup(g).name if g else g for g in guessed] == [encoding if encoding == "cp1251" else None]


def test_named_encoding_is_used_and_not_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes('{"service_request_id": "1", "description": "Müll"}\n'.encode("latin-1"))
    raw = read_raw(path, "jsonl", mapping=SourceMapping(encoding="latin-1"))
    assert raw[DESCRIPTION].to_list() == ["Müll"]
    assert raw[GUESSED_ENCODING].to_list() == [None]


def test_only_the_fields_a_mapping_reads_are_kept(tmp_path: Path) -> None:
    """A feed whose records each carry their own keys must not become a frame as wide as the
    file (memory): unknown keys are dropped, but still named when a mapped key is missing."""
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(f'{{"service_request_id": "{i}", "k{i}": 1}}\n' for i in range(500)))
    raw = read_raw(path, "jsonl")
    assert raw[SERVICE_REQUEST_ID].to_list() == [str(i) for i in range(500)]
    with pytest.raises(SourceFormatError, match=r"no column 'text'.*'k0'"):
        list(read_raw_batches(path, "jsonl", mapping=SourceMapping(columns={DESCRIPTION: "text"})))
