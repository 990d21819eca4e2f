"""Open311 GeoReport v2 JSON: `GET requests.json` answers, an array of request objects.

The spec's error answer is also an array, of `{code, description}`; reading it as zero requests
would hide a bad API key or a server outage, so it raises with the server's own words. Numbers
(`lat`, `long`) keep the text the server wrote, so `0` stays `0` and precision is not rounded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from itertools import islice
from pathlib import Path

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.requests.chunks import RawChunk, batched_records
from pipelines.sources.requests.mapping import SourceMapping

_ERROR_KEYS = frozenset({"code", "description"})
# Some servers wrap the array in an object; these are the wrappers seen in the wild.
_WRAPPERS = ("service_requests", "requests")
_DECODER = json.JSONDecoder(parse_float=str, parse_int=str, parse_constant=str)
_WHITESPACE = " \t\n\r"

Element = tuple[object, str]  # parsed value, its text in the file


def read_open311_json_chunks(
    path: Path, batch_rows: int, mapping: SourceMapping
) -> Iterator[RawChunk]:
    """Chunks of at most `batch_rows` requests; a non-object element becomes an unreadable row."""
    elements = _elements(_read_text(path), path)
    if not elements:
        return
    raise_if_error_envelope([value for value, _ in elements], path)
    pairs = ((value, None) if isinstance(value, dict) else (None, text) for value, text in elements)
    yield from batched_records(pairs, batch_rows)


def raise_if_error_envelope(values: list[object], path: Path) -> None:
    """Raise with the server's message when every element is an Open311 `{code, description}`."""
    if not all(isinstance(v, Mapping) and "code" in v and set(v) <= _ERROR_KEYS for v in values):
        return
    messages = "; ".join(
        f"{v.get('code')}: {v.get('description', '(no description)')}"  # type: ignore[union-attr]
        for v in islice(values, 5)
    )
    raise SourceFormatError(
        f"{path} is an Open311 error response, not requests: {messages}. Fix the request that "
        "produced it (API key, jurisdiction_id, parameters) and fetch again."
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as exc:
        raise SourceFormatError(f"cannot read Open311 JSON file {path}: {exc}") from exc


def _elements(text: str, path: Path) -> list[Element]:
    try:
        if text.lstrip(_WHITESPACE).startswith("["):
            return _array_elements(text)
        document = json.loads(text, parse_float=str, parse_int=str, parse_constant=str)
    except json.JSONDecodeError as exc:
        raise SourceFormatError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "an Open311 requests.json answer is an array of request objects"
        ) from exc
    if isinstance(document, dict):
        for key in _WRAPPERS:
            if isinstance(document.get(key), list):
                return [(value, json.dumps(value)) for value in document[key]]
        if "code" in document and set(document) <= _ERROR_KEYS:
            raise_if_error_envelope([document], path)
        raise SourceFormatError(
            f"{path} holds a JSON object with keys {sorted(document)[:10]}, not an Open311 array "
            "of requests; use format 'jsonl' or 'csv' with a mapping for other layouts"
        )
    raise SourceFormatError(f"{path} holds a JSON {type(document).__name__}, not an array")


def _array_elements(text: str) -> list[Element]:
    """Decode a top-level array element by element, keeping each element's exact text."""
    elements: list[Element] = []
    index = _skip(text, text.index("[") + 1)
    if text.startswith("]", index):
        return _expect_end(text, index + 1, elements)
    while True:
        value, end = _DECODER.raw_decode(text, index)
        elements.append((value, text[index:end]))
        index = _skip(text, end)
        if text.startswith(",", index):
            index = _skip(text, index + 1)
        elif text.startswith("]", index):
            return _expect_end(text, index + 1, elements)
        else:
            raise json.JSONDecodeError("expected ',' or ']' after an array element", text, index)


def _expect_end(text: str, index: int, elements: list[Element]) -> list[Element]:
    if _skip(text, index) != len(text):
        raise json.JSONDecodeError("extra data after the array", text, _skip(text, index))
    return elements


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index
