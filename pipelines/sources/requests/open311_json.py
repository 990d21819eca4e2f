"""Open311 GeoReport v2 JSON: `GET requests.json` answers, an array of request objects.

The spec's error answer is also an array, of `{code, description}`; reading it as zero requests
would hide a bad API key or a server outage, so it raises with the server's own words. Numbers
(`lat`, `long`) keep the text the server wrote, so `0` stays `0` and precision is not rounded.
Some servers wrap the array in an object (`{"service_requests": [...]}`); that is read too.

The document is decoded element by element (each keeps its exact text), so one element that is
not an object, is nested too deep for any decoder, or is larger than the bounds in `limits`
becomes one unreadable row and the others are read; only a document that is not JSON at all
raises. The file's text is held whole (one answer of a server); its records only a chunk at a
time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from itertools import chain, islice
from json.decoder import scanstring
from pathlib import Path

from pipelines.sources.encoding import TextEncoding, text_encoding
from pipelines.sources.errors import SourceFormatError
from pipelines.sources.json_elements import (
    TOO_DEEP,
    Element,
    array_elements,
    decode_value,
    expect_end,
    skip,
)
from pipelines.sources.limits import KEPT_TEXT_CHARS, MAX_RECORD_CHARS, kept_text
from pipelines.sources.requests.chunks import Item, RawChunk, batched_records
from pipelines.sources.requests.json_records import record_of
from pipelines.sources.requests.mapping import SourceMapping

_ERROR_KEYS = frozenset({"code", "description"})
# Some servers wrap the array in an object; these are the wrappers seen in the wild.
_WRAPPERS = ("service_requests", "requests")



def read_open311_json_chunks(
    path: Path, batch_rows: int, mapping: SourceMapping
) -> Iterator[RawChunk]:
    """Chunks of at most `batch_rows` requests; a non-object element becomes an unreadable row."""
    encoding = text_encoding(path, mapping.encoding)
    text = _read_text(path, encoding)
    elements = _elements(text, path)
    head: list[Element] = []
    for element in elements:  # an error answer is a few {code, description}: look at those
        head.append(element)
        if not _is_error(element[0]):
            break
    else:
        if head:
            raise_if_error_envelope([value for value, _, _ in head], path)
        return
    items = (_item(text, *element) for element in chain(head, elements))
    for chunk in batched_records(items, batch_rows, mapping.source_columns()):
        yield replace(chunk, guessed_encoding=encoding.guess)


def raise_if_error_envelope(values: list[object], path: Path) -> None:
    """Raise with the server's message when every element is an Open311 `{code, description}`."""
    if not all(_is_error(v) for v in values):
        return
    messages = "; ".join(
        f"{v.get('code')}: {v.get('description', '(no description)')}"  # type: ignore[union-attr]
        for v in islice(values, 5)
    )
    raise SourceFormatError(
        f"{path} is an Open311 error response, not requests: {messages}. Fix the request that "
        "produced it (API key, jurisdiction_id, parameters) and fetch again."
    )


def _is_error(value: object) -> bool:
    return isinstance(value, Mapping) and "code" in value and set(value) <= _ERROR_KEYS


def _read_text(path: Path, encoding: TextEncoding) -> str:
    codec = "utf-8-sig" if encoding.is_utf8 else encoding.codec
    try:
        return path.read_bytes().decode(codec, errors="replace")
    except OSError as exc:
        raise SourceFormatError(f"cannot read Open311 JSON file {path}: {exc}") from exc


def _item(text: str, value: object, start: int, end: int) -> Item:
    if value is TOO_DEEP or end - start > MAX_RECORD_CHARS:
        return None, kept_text(text[start : start + KEPT_TEXT_CHARS], end - start), end - start
    return record_of(value, text[start:end])


def _elements(text: str, path: Path) -> Iterator[Element]:
    """The requests of the document: a top-level array, or the array an object wraps."""
    try:
        start = skip(text, 0)
        if text.startswith("[", start):
            expect_end(text, (yield from array_elements(text, start)))
        elif text.startswith("{", start):
            yield from _object_elements(text, start, path)
        else:
            document = json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
            raise SourceFormatError(
                f"{path} holds a JSON {type(document).__name__}, not an array of requests"
            )
    except json.JSONDecodeError as exc:
        raise SourceFormatError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "an Open311 requests.json answer is an array of request objects"
        ) from exc


def _object_elements(text: str, index: int, path: Path) -> Iterator[Element]:
    """The elements of the first wrapper array in an object; an object without one raises."""
    members: dict[str, object] = {}
    wrapped = False
    index = skip(text, index + 1)
    if text.startswith("}", index):
        index += 1
    else:
        while True:
            key, index = _member_key(text, index)
            if key in _WRAPPERS and not wrapped and text.startswith("[", index):
                wrapped = True
                index = yield from array_elements(text, index)
            else:
                members[key], index = decode_value(text, index)
            index = skip(text, index)
            if text.startswith(",", index):
                index = skip(text, index + 1)
            elif text.startswith("}", index):
                index += 1
                break
            else:
                raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
    expect_end(text, index)
    if not wrapped:
        if "code" in members and set(members) <= _ERROR_KEYS:
            raise_if_error_envelope([members], path)
        raise SourceFormatError(
            f"{path} holds a JSON object with keys {sorted(members)[:10]}, not an Open311 array "
            "of requests; use format 'jsonl' or 'csv' with a mapping for other layouts"
        )


def _member_key(text: str, index: int) -> tuple[str, int]:
    """An object member's key and the index of its value."""
    if not text.startswith('"', index):
        raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, index)
    key, index = scanstring(text, index + 1)
    index = skip(text, index)
    if not text.startswith(":", index):
        raise json.JSONDecodeError("Expecting ':' delimiter", text, index)
    return key, skip(text, index + 1)
