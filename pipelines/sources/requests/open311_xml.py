"""Open311 GeoReport v2 XML: `<service_requests><request>...</request>...</service_requests>`.

Real servers stray from the spec: SF311 wraps answers in SOAP namespaces, marks missing values
with `xsi:nil="true"`, and writes datetimes as `2012-05-22 23:57:23.97` in local time without
an offset. Elements are therefore matched by local name (any namespace), nil and empty
elements are null, and naive datetimes take the mapping's timezone (UTC unless the caller
says otherwise: pass `SourceMapping(timezone=...)`). The file is parsed incrementally with
defusedxml (no entity expansion, no external resources), and every element is let go once
read, so size is not a memory problem.

A record is a `<request>` anywhere inside a `<service_requests>` (some servers put another
wrapper between them), but not inside another `<request>`. A document with `<request>`
elements and none of them inside `<service_requests>`, or whose `<service_requests>` holds
other elements and no request, raises and names what it found, instead of reading as zero
requests. A record nested deeper than `MAX_NESTING_DEPTH` or with a field longer than
`MAX_FIELD_CHARS` becomes an unreadable row keeping (the start of) its fields as XML text.
An `<errors>` answer raises with the server's message.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree as SafeET

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.limits import MAX_FIELD_CHARS, MAX_NESTING_DEPTH, kept_text
from pipelines.sources.requests.chunks import Item, RawChunk, batched_records
from pipelines.sources.requests.mapping import SourceMapping

_CONTAINER = "service_requests"
_RECORD = "request"
_ERRORS = "errors"
_NIL_VALUES = frozenset({"true", "1"})
_EXPECTED = f"<{_CONTAINER}><{_RECORD}>...</{_RECORD}>...</{_CONTAINER}>"


def read_open311_xml_chunks(
    path: Path, batch_rows: int, mapping: SourceMapping
) -> Iterator[RawChunk]:
    """Chunks of at most `batch_rows` `<request>` records, fields under their element names."""
    yield from batched_records(_requests(path), batch_rows, mapping.source_columns())


@dataclass
class _Open:
    """An element whose end the parser has not reached yet."""

    element: Element
    name: str
    has_children: bool = False


@dataclass
class _Seen:
    """The open elements, and what the document held besides records (for the error when it
    held no record)."""

    root: str = ""
    open: list[_Open] = field(default_factory=list)
    open_records: int = 0
    open_containers: int = 0
    containers: int = 0
    records: int = 0
    stray_record_parent: str | None = None  # parent of a <request> outside <service_requests>
    container_child: str | None = None  # first other element with children in <service_requests>

    def started(self, element: Element) -> None:
        name = local_name(element.tag)
        self.root = self.root or name
        if self.open:
            self.open[-1].has_children = True
        self.open.append(_Open(element, name))
        self.open_records += name == _RECORD
        self.open_containers += name == _CONTAINER

    def ended(self) -> _Open:
        ended = self.open.pop()
        self.open_records -= ended.name == _RECORD
        self.open_containers -= ended.name == _CONTAINER
        return ended


def _requests(path: Path) -> Iterator[Item]:
    seen = _Seen()
    try:
        for event, element in SafeET.iterparse(str(path), events=("start", "end")):
            if event == "start":
                seen.started(element)
            else:
                yield from _ended(element, seen, path)
    except SafeET.ParseError as exc:
        line, column = exc.position
        raise SourceFormatError(
            f"{path} is not well-formed XML (line {line}, column {column}): {exc}; fix the file "
            "or fetch the answer again"
        ) from exc
    except (OSError, defusedxml.DefusedXmlException) as exc:
        raise SourceFormatError(f"cannot read {path} as Open311 XML: {exc}") from exc
    except (LookupError, ValueError) as exc:  # an encoding the declaration names but Python lacks
        raise SourceFormatError(
            f"cannot decode {path} as Open311 XML: {exc}; fix the encoding its <?xml ...?> "
            "declaration names (utf-8 is the norm)"
        ) from exc
    if not seen.records:
        _raise_if_misplaced(seen, path)


def _ended(element: Element, seen: _Seen, path: Path) -> Iterator[Item]:
    """Handle one end event: yield a finished record, let go of what is no longer needed."""
    ended = seen.ended()
    name = ended.name
    if seen.open_records:
        return  # a field of an open record: read with the record
    parent, parent_name = (seen.open[-1].element, seen.open[-1].name) if seen.open else (None, "")
    if name == _RECORD and seen.open_containers:
        seen.records += 1
        yield _record(element)
    elif name == _RECORD:
        seen.stray_record_parent = seen.stray_record_parent or parent_name
    elif parent_name == _CONTAINER and seen.container_child is None and ended.has_children:
        seen.container_child = name  # has fields of its own: a record under another name
    seen.containers += name == _CONTAINER
    if parent is None and name == _ERRORS:
        _raise_error_envelope(element, path)
    if parent is not None and seen.root != _ERRORS:
        parent.remove(element)  # keep memory flat on large answers (an error answer is small)


def _raise_if_misplaced(seen: _Seen, path: Path) -> None:
    if seen.stray_record_parent is not None:
        where = f"<{seen.stray_record_parent}>" if seen.stray_record_parent else "the top level"
        raise SourceFormatError(
            f"{path} has <{_RECORD}> elements in {where} but none inside <{_CONTAINER}>; an Open311 "
            f"GeoReport v2 answer is {_EXPECTED}. Wrap the requests so, or convert the file to "
            "JSON Lines or CSV and read it with a mapping."
        )
    if seen.container_child is not None:
        raise SourceFormatError(
            f"{path}: <{_CONTAINER}> holds <{seen.container_child}> elements, not <{_RECORD}>; an "
            f"Open311 GeoReport v2 answer is {_EXPECTED}. Rename the elements, or convert the file "
            "to JSON Lines or CSV and read it with a mapping."
        )
    if not seen.containers:
        raise SourceFormatError(
            f"{path} has no <{_CONTAINER}> element (root element is <{seen.root}>); it is not an "
            f"Open311 GeoReport v2 requests answer ({_EXPECTED})"
        )


def local_name(tag: object) -> str:
    """`{namespace}name` or `prefix:name` -> `name`."""
    text = str(tag)
    return text.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _record(request: Element) -> Item:
    """(fields, None, size), or (None, the record as XML text, size) past the bounds."""
    fields: dict[str, object] = {}
    size = 0
    too_large = False
    for child in request:
        name = local_name(child.tag)
        value = None if _is_nil(child) else "".join(child.itertext()) or None
        size += len(name) + len(value or "")
        too_large = too_large or len(value or "") > MAX_FIELD_CHARS
        if name not in fields:
            fields[name] = value  # a repeated element: the first one is the value
    if too_large or _deeper_than(request, MAX_NESTING_DEPTH):
        return None, kept_text(_as_xml(fields), size), size
    return fields, None, size


def _deeper_than(element: Element, limit: int) -> bool:
    stack = [(element, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in item)
    return False


def _as_xml(fields: dict[str, object]) -> str:
    """A readable stand-in for the record's text (the parser does not keep the original)."""
    parts = (f"<{name}>{str(value)[:200]}</{name}>" for name, value in fields.items())
    return f"<{_RECORD}>{''.join(parts)}</{_RECORD}>"


def _is_nil(element: Element) -> bool:
    return any(
        local_name(key) == "nil" and value.strip().lower() in _NIL_VALUES
        for key, value in element.attrib.items()
    )


def _raise_error_envelope(errors: Element, path: Path) -> None:
    messages = []
    for error in errors:
        parts = {local_name(child.tag): "".join(child.itertext()).strip() for child in error}
        messages.append(f"{parts.get('code', '?')}: {parts.get('description', '(no description)')}")
    raise SourceFormatError(
        f"{path} is an Open311 error response, not requests: {'; '.join(messages[:5])}. Fix the "
        "request that produced it (API key, jurisdiction_id, parameters) and fetch again."
    )
