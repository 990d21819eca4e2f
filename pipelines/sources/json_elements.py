"""Large JSON documents read element by element, within bounds: what the JSON adapters share.

Python's `json` decodes a whole document at once and recurses into every level. The Open311
and SensorThings adapters instead walk the outer array (or the wrapper object holding it) and
decode one element at a time with `DECODER.raw_decode`, so a broken or huge element costs that
element, and one nested past Python's recursion limit is skipped by its brackets (`TOO_DEEP`)
instead of aborting the file. Numbers stay text (`parse_float=str`): a source's `00123` or
`1e309` reaches validation as written. Hand-written because no maintained library decodes a
JSON array element by element from text with these bounds (ijson reads bytes and has no
element-size or depth bound of its own).
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator
from json.decoder import scanstring

DECODER = json.JSONDecoder(parse_float=str, parse_int=str, parse_constant=str)
TOO_DEEP = object()  # an element Python's decoder gives up on (RecursionError)
Element = tuple[object, int, int]  # decoded value (or TOO_DEEP), start and end in the text
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_STRUCTURE = re.compile(r'["\[\]{}]')


def skip(text: str, index: int) -> int:
    """The index of the next character that is not JSON whitespace."""
    return _WHITESPACE.match(text, index).end()  # type: ignore[union-attr]  # `*` always matches


def decode_value(text: str, index: int) -> tuple[object, int]:
    """(value, end); a value too deep for Python's decoder is skipped to its end, not decoded."""
    try:
        return DECODER.raw_decode(text, index)
    except RecursionError:
        return TOO_DEEP, container_end(text, index)


def container_end(text: str, index: int) -> int:
    """The end of the array or object starting at `index`, by its brackets (strings skipped)."""
    depth = 0
    while (match := _STRUCTURE.search(text, index)) is not None:
        token, index = match.group(), match.end()
        if token == '"':
            _, index = scanstring(text, index)
        elif token in "[{":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return index
    raise json.JSONDecodeError("unterminated array or object", text, len(text))


def array_elements(text: str, index: int) -> Generator[Element, None, int]:
    """Decode the array starting at `index` element by element; returns the index after its `]`."""
    index = skip(text, index + 1)
    if text.startswith("]", index):
        return index + 1
    while True:
        value, end = decode_value(text, index)
        yield value, index, end
        index = skip(text, end)
        if text.startswith(",", index):
            index = skip(text, index + 1)
        elif text.startswith("]", index):
            return index + 1
        else:
            raise json.JSONDecodeError("expected ',' or ']' after an array element", text, index)


def expect_end(text: str, index: int) -> None:
    """Nothing but whitespace may follow the document."""
    if skip(text, index) != len(text):
        raise json.JSONDecodeError("extra data after the document", text, skip(text, index))
