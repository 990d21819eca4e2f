"""Fuzz: Open311 JSON answers (bare or wrapped arrays) with hostile, deep and odd elements.

Each array element is one record: one row, readable when it is an object within the bounds of
`pipelines.sources.limits`, else an unreadable row. An answer whose every element is
`{code, description}` is the server's error and must raise `SourceFormatError`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fuzzing import json_values, lone_surrogates, nested, read_or_reject
from hypothesis import given
from hypothesis import strategies as st

from pipelines.sources.limits import MAX_NESTING_DEPTH
from schemas.requests import SERVICE_REQUEST_ID, UNREADABLE_RECORD

DEPTHS = st.sampled_from([MAX_NESTING_DEPTH - 1, MAX_NESTING_DEPTH, 500, 1200, 5000])


@st.composite
def elements(draw) -> tuple[str, bool, str | None, bool]:
    """(element text, readable?, its id, error-shaped?)."""
    kind = draw(st.sampled_from(["record"] * 5 + ["surrogate", "scalar", "deep", "error"]))
    rid = draw(st.text(min_size=1, max_size=10))
    if kind == "scalar":
        value = draw(json_values().filter(lambda v: not isinstance(v, dict)))
        return json.dumps(value), False, None, False
    if kind == "deep":
        depth = draw(DEPTHS)
        text = f'{{"service_request_id": {json.dumps(rid)}, "media": {nested(depth)}}}'
        return text, depth + 1 <= MAX_NESTING_DEPTH, rid, False
    if kind == "error":
        return json.dumps({"code": draw(st.integers(400, 599)), "description": "no"}), True, None, True
    record: dict[str, object] = {"service_request_id": rid}
    record.update(draw(st.dictionaries(st.sampled_from(["status", "lat", "long", "address_id"]), json_values())))
    if kind == "surrogate":
        record["description"] = draw(lone_surrogates())
    return json.dumps(record, ensure_ascii=kind == "surrogate" or draw(st.booleans())), True, rid, False


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-open311-json")


@given(data=st.data())
def test_every_element_is_one_row(workdir: Path, data: st.DataObject) -> None:
    drawn = data.draw(st.lists(elements(), max_size=10))
    separator = data.draw(st.sampled_from([",", ", ", ",\n  ", ",\r\n", ",\r"]))
    array = "[" + separator.join(text for text, _, _, _ in drawn) + "]"
    wrapper = data.draw(st.sampled_from(["{}", '{{"service_requests": {}}}', '{{"meta": {{"n": 1}}, "requests": {}}}']))
    document = wrapper.format(array) if wrapper != "{}" else array
    path = workdir / "requests.json"
    path.write_bytes(data.draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + document.encode("utf-8", "replace"))
    raw = read_or_reject(path, "open311-json", batch_rows=data.draw(st.sampled_from([3, 100_000])))
    if drawn and all(error for _, _, _, error in drawn):
        assert raw is None, "an Open311 error answer must raise"
        return
    assert raw is not None
    assert raw.height == len(drawn)
    assert raw[UNREADABLE_RECORD].is_null().to_list() == [readable for _, readable, _, _ in drawn]
    expected = [rid if readable else None for _, readable, rid, _ in drawn]
    assert raw[SERVICE_REQUEST_ID].to_list() == expected
