"""One JSON record as the JSON readers (JSON Lines, Open311 JSON) hand it on: bounded, flat text.

A record is a JSON object. Its values become text here (numbers as written, booleans as
`true`/`false`, nested values as compact JSON), so polars only ever sees strings and never
builds a nested type. A lone surrogate (`"\\ud800"` is a valid JSON escape but no character)
becomes U+FFFD, so the record is kept. Anything else becomes an unreadable row keeping (the
start of) its text: a value that is not an object, broken JSON, a record nested deeper than
`MAX_NESTING_DEPTH` or too deep for Python's decoder, a field longer than `MAX_FIELD_CHARS`.
"""

from __future__ import annotations

import re

from pipelines.sources.json_elements import DECODER
from pipelines.sources.limits import (
    MAX_FIELD_CHARS,
    MAX_NESTING_DEPTH,
    breaks_bounds,
    kept_text,
)
from pipelines.sources.requests.chunks import Item, as_text

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_REPLACEMENT = "\ufffd"


def decode_record(text: str, chars: int | None = None) -> Item:
    """The record in one JSON text (a JSON Lines line); `chars` is the text's full length when
    only its start was read (the line was longer than the readers hold)."""
    if chars is not None and chars > len(text):
        return None, kept_text(text, chars), chars
    try:
        value, end = DECODER.raw_decode(text)
        if end != len(text) and text[end:].strip():
            return None, kept_text(text), len(text)  # something after the value
    except ValueError:
        try:  # leading whitespace, which raw_decode does not skip
            value = DECODER.decode(text)
        except (ValueError, RecursionError):
            return None, kept_text(text), len(text)
    except RecursionError:
        return None, kept_text(text), len(text)
    return record_of(value, text)


def record_of(value: object, text: str) -> Item:
    """(flat record, None, size) for an object within bounds, (None, kept text, size) otherwise.

    Nested values become JSON text here; booleans and numbers are left to `chunks`, which
    turns them into text column by column.
    """
    if not isinstance(value, dict):
        return None, kept_text(text), len(text)
    brackets = text.count("[") + text.count("{")
    if brackets > 1:  # a value may be nested (or a text holds a bracket)
        if (brackets > MAX_NESTING_DEPTH or len(text) > MAX_FIELD_CHARS) and breaks_bounds(value):
            return None, kept_text(text), len(text)
        value = {key: as_text(field) if isinstance(field, dict | list) else field for key, field in value.items()}
    elif len(text) > MAX_FIELD_CHARS and breaks_bounds(value):
        return None, kept_text(text), len(text)
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        value = {_valid(key): _valid(field) for key, field in value.items()}
    return value, None, len(text)


def _valid(text: object) -> object:
    return _SURROGATE.sub(_REPLACEMENT, text) if isinstance(text, str) else text
