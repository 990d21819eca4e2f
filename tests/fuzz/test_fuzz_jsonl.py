"""Fuzz: JSON Lines with hostile records, deep nesting, huge fields, garbage, odd line endings.

Each non-blank line is one record: one row, readable when it is a JSON object within the bounds
of `pipelines.sources.limits`, else an unreadable row. Blank lines are not records.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fuzzing import hostile_text, json_values, lone_surrogates, nested, read_or_reject
from hypothesis import given
from hypothesis import strategies as st

from pipelines.sources.limits import MAX_FIELD_CHARS, MAX_NESTING_DEPTH, MAX_RECORD_CHARS
from schemas.requests import GUESSED_ENCODING, SERVICE_REQUEST_ID, UNREADABLE_RECORD

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1251")
# (line, readable?) for the lines past the bounds; a huge line now and then, not every time
DEEP = st.sampled_from([MAX_NESTING_DEPTH - 2, MAX_NESTING_DEPTH - 1, MAX_NESTING_DEPTH, 300, 900, 1500, 20_000])
HUGE = st.sampled_from([MAX_FIELD_CHARS - 100, MAX_FIELD_CHARS + 1, MAX_RECORD_CHARS + 10])


@st.composite
def lines(draw) -> tuple[str, bool | None, str | None]:
    """(line text, readable? (None: blank, not a record), the id a readable line carries)."""
    kind = draw(st.sampled_from(["record"] * 6 + ["surrogate", "deep", "garbage", "blank", "huge"]))
    rid = draw(st.text(min_size=1, max_size=10))
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\t", "  \t "])), None, None
    if kind == "garbage":
        text = draw(st.sampled_from(["#", "{\"a\": \"", "[1, 2]", "\"text\"", "42", "null", "{1: 2}"]))
        # a trailing backslash keeps any of them from becoming an object by chance
        text += draw(hostile_text()).replace("\r", " ").replace("\n", " ") + "\\"
        return text, False, None
    if kind == "deep":
        depth = draw(DEEP)
        return f'{{"service_request_id": {json.dumps(rid)}, "x": {nested(depth)}}}', depth + 1 <= MAX_NESTING_DEPTH, rid
    if kind == "huge" and draw(st.integers(0, 4)) == 0:
        size = draw(HUGE)
        readable = size <= MAX_FIELD_CHARS
        line = json.dumps({"service_request_id": rid, "description": "é" * size}, ensure_ascii=False)
        return line, readable, rid
    record = {"service_request_id": rid}
    record.update(draw(st.dictionaries(st.sampled_from(["status", "lat", "description", "other"]), json_values())))
    if kind == "surrogate":
        record["description"] = draw(lone_surrogates())
    ascii_only = kind == "surrogate" or draw(st.booleans())
    return json.dumps(record, ensure_ascii=ascii_only), True, rid


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-jsonl")


@given(data=st.data())
def test_every_line_is_one_row(workdir: Path, data: st.DataObject) -> None:
    drawn = data.draw(st.lists(lines(), max_size=12))
    ending = data.draw(st.sampled_from(["\n", "\r\n", "\r"]))
    encoding = data.draw(st.sampled_from(ENCODINGS))
    text = ending.join(line for line, _, _ in drawn) + data.draw(st.sampled_from(["", ending]))
    path = workdir / "feed.jsonl"
    path.write_bytes(text.encode(encoding, errors="replace"))
    raw = read_or_reject(path, "jsonl", batch_rows=data.draw(st.sampled_from([3, 100_000])))
    assert raw is not None
    records = [(readable, rid) for _, readable, rid in drawn if readable is not None]
    assert raw.height == len(records)
    assert raw[GUESSED_ENCODING].n_unique() <= 1
    if raw[GUESSED_ENCODING].null_count() == raw.height:  # a wrong guess may garble a record
        assert raw[UNREADABLE_RECORD].is_null().to_list() == [readable for readable, _ in records]
    if encoding != "cp1251" and raw[GUESSED_ENCODING].null_count() == raw.height:
        expected = [rid if readable else None for readable, rid in records]
        assert raw[SERVICE_REQUEST_ID].to_list() == expected
    kept = raw[UNREADABLE_RECORD].drop_nulls().str.len_chars()
    assert kept.max() is None or kept.max() < 70_000  # the start of a rejected line, not all of it
