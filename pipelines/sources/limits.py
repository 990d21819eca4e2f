"""How much of one record the readers hold: the bounds that keep parsing total and memory flat.

A record past any bound is not an error of the file: it becomes an unreadable row whose
`unreadable_record` keeps the start of its text (`kept_text`), so validation dead-letters it as
`unreadable_row` and the rest of the file goes on. Change the constants here, in one place.
"""

from __future__ import annotations

# Nesting of JSON arrays/objects (the record itself is level 1) and of XML elements in a record.
# Python's JSON decoder recurses, and polars builds nested types level by level: a 1.9 KB line
# nested 900 deep took more than 4 GB before this bound.
MAX_NESTING_DEPTH = 64
# Characters of one field: its text, or a nested value written as JSON.
MAX_FIELD_CHARS = 1 << 20
# Characters of one record's text (a JSON Lines line, an Open311 JSON element). Longer lines are
# read and skipped in pieces of this size, so one record never costs more than this in memory.
MAX_RECORD_CHARS = 4 << 20
# How much of a rejected record's text its unreadable row keeps.
KEPT_TEXT_CHARS = 64 << 10
# A chunk is handed on early when its records' text adds up to this, whatever `batch_rows` says.
MAX_CHUNK_CHARS = 256 << 20


def kept_text(text: str, total_chars: int | None = None) -> str:
    """`text` as an unreadable row keeps it: whole when short, else its start and its length."""
    total = len(text) if total_chars is None else total_chars
    if total <= KEPT_TEXT_CHARS and len(text) == total:
        return text
    return f"{text[:KEPT_TEXT_CHARS]}... [truncated: {total:,} characters in all]"


def breaks_bounds(record: dict[str, object], max_depth: int = MAX_NESTING_DEPTH) -> bool:
    """Whether a parsed JSON record is nested deeper than `max_depth` or has a field longer than
    `MAX_FIELD_CHARS`. Walks the value without recursion; a nested field's size is counted from
    its strings and punctuation, close to the length of its JSON text, without writing it."""
    for name, field in record.items():
        size = len(name)
        stack: list[tuple[object, int]] = [(field, 2)]
        while stack:
            item, depth = stack.pop()
            if isinstance(item, str):
                size += len(item) + 2
            elif isinstance(item, dict | list):
                if depth > max_depth:
                    return True
                children = item.items() if isinstance(item, dict) else ((None, v) for v in item)
                for key, child in children:
                    size += 2 if key is None else len(key) + 4
                    stack.append((child, depth + 1))
            else:
                size += 5
            if size > MAX_FIELD_CHARS:
                return True
    return False
