"""Fuzz: Open311 XML answers with hostile text, nil values, deep fields and the wrappers seen
in the wild (bare, SOAP, an extra element around or inside `<service_requests>`).

Each `<request>` is one row: readable unless nested deeper than `MAX_NESTING_DEPTH`.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from fuzzing import hostile_text, read_or_reject
from hypothesis import given
from hypothesis import strategies as st

from pipelines.sources.limits import MAX_NESTING_DEPTH
from schemas.requests import SERVICE_REQUEST_ID, UNREADABLE_RECORD

FIELDS = ("status", "description", "requested_datetime", "lat", "long", "zipcode", "service_notice")
WRAPPERS = (
    "<service_requests>{}</service_requests>",
    (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        '<m:service_requests xmlns:m="http://example.org/311">{}</m:service_requests>'
        "</soap:Body></soap:Envelope>"
    ),
    "<root><service_requests>{}</service_requests></root>",
    "<service_requests><requests>{}</requests></service_requests>",
)
NIL = ' xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def xml_legal(text: str) -> str:
    """Only the characters XML 1.0 can carry."""
    return "".join(
        c for c in text
        if c in "\t\n\r" or "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c >= "\U00010000"
    )


def as_parsed(text: str) -> str | None:
    """What a parser gives back for element text: line breaks normalised, empty is none."""
    return text.replace("\r\n", "\n").replace("\r", "\n") or None


@st.composite
def requests(draw, prefix: str) -> tuple[str, bool, str | None]:
    """(`<request>` text, readable?, the id it carries)."""
    rid = xml_legal(draw(st.text(min_size=1, max_size=10)))
    parts = [f"<{prefix}service_request_id>{escape(rid)}</{prefix}service_request_id>"]
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=5)):
        if draw(st.integers(0, 5)) == 0:
            parts.append(f"<{prefix}{name}{NIL}/>")
        else:
            parts.append(f"<{prefix}{name}>{escape(xml_legal(draw(hostile_text())))}</{prefix}{name}>")
    depth = draw(st.sampled_from([0] * 6 + [MAX_NESTING_DEPTH - 2, MAX_NESTING_DEPTH - 1, 300, 3000]))
    if depth:
        parts.append(f"<{prefix}media>" + "<a>" * depth + "x" + "</a>" * depth + f"</{prefix}media>")
    readable = 2 + depth <= MAX_NESTING_DEPTH
    return f"<{prefix}request>{''.join(parts)}</{prefix}request>", readable, as_parsed(rid)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-open311-xml")


@given(data=st.data())
def test_every_request_is_one_row(workdir: Path, data: st.DataObject) -> None:
    wrapper = data.draw(st.sampled_from(WRAPPERS))
    prefix = "m:" if "m:service_requests" in wrapper else ""
    drawn = data.draw(st.lists(requests(prefix), max_size=8))
    between = data.draw(st.sampled_from(["", "\n", "\r\n", "\r", "\n  "]))
    body = wrapper.format(between + between.join(text for text, _, _ in drawn) + between)
    declaration = data.draw(st.sampled_from(["", '<?xml version="1.0" encoding="utf-8"?>' + between]))
    path = workdir / "requests.xml"
    path.write_bytes((declaration + body).encode("utf-8"))
    raw = read_or_reject(path, "open311-xml", batch_rows=data.draw(st.sampled_from([3, 100_000])))
    assert raw is not None
    assert raw.height == len(drawn)
    assert raw[UNREADABLE_RECORD].is_null().to_list() == [readable for _, readable, _ in drawn]
    assert raw[SERVICE_REQUEST_ID].to_list() == [rid if readable else None for _, readable, rid in drawn]
