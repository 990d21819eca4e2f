"""Open311 GeoReport v2 XML: `<service_requests><request>...</request>...</service_requests>`.

Real servers stray from the spec: SF311 wraps answers in SOAP namespaces, marks missing values
with `xsi:nil="true"`, and writes datetimes as `2012-05-22 23:57:23.97` in local time without
an offset. Elements are therefore matched by local name (any namespace), nil and empty
elements are null, and naive datetimes take the mapping's timezone (UTC unless the caller
says otherwise: pass `SourceMapping(timezone=...)`). The file is parsed incrementally with
defusedxml (no entity expansion, no external resources), so size is not a memory problem.
An `<errors>` answer raises with the server's message instead of reading as zero requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree as SafeET

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.requests.chunks import RawChunk, batched_records
from pipelines.sources.requests.mapping import SourceMapping

_CONTAINER = "service_requests"
_RECORD = "request"
_ERRORS = "errors"
_NIL_VALUES = frozenset({"true", "1"})


def read_open311_xml_chunks(
    path: Path, batch_rows: int, mapping: SourceMapping
) -> Iterator[RawChunk]:
    """Chunks of at most `batch_rows` `<request>` records, fields under their element names."""
    yield from batched_records(((record, None) for record in _requests(path)), batch_rows)


def _requests(path: Path) -> Iterator[dict[str, object]]:
    stack: list[Element] = []
    root = ""
    seen_container = False
    try:
        for event, element in SafeET.iterparse(str(path), events=("start", "end")):
            name = local_name(element.tag)
            if event == "start":
                root = root or name
                seen_container = seen_container or name == _CONTAINER
                stack.append(element)
                continue
            stack.pop()
            parent = stack[-1] if stack else None
            if name == _RECORD and parent is not None and local_name(parent.tag) == _CONTAINER:
                yield _fields(element)
                parent.remove(element)  # keep memory flat on large answers
            elif parent is None and name == _ERRORS:
                _raise_error_envelope(element, path)
    except SafeET.ParseError as exc:
        line, column = exc.position
        raise SourceFormatError(
            f"{path} is not well-formed XML (line {line}, column {column}): {exc}"
        ) from exc
    except (OSError, defusedxml.DefusedXmlException) as exc:
        raise SourceFormatError(f"cannot read {path} as Open311 XML: {exc}") from exc
    if not seen_container:
        raise SourceFormatError(
            f"{path} has no <{_CONTAINER}> element (root element is <{root}>); it is not an "
            "Open311 GeoReport v2 requests answer"
        )


def local_name(tag: object) -> str:
    """`{namespace}name` or `prefix:name` -> `name`."""
    text = str(tag)
    return text.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _fields(request: Element) -> dict[str, object]:
    fields: dict[str, object] = {}
    for child in request:
        name = local_name(child.tag)
        if name in fields:
            continue  # a repeated element: the first one is the value
        fields[name] = None if _is_nil(child) else "".join(child.itertext()) or None
    return fields


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
