"""Open311 answers in JSON and XML, with the specification's element names and error envelope.

JSON is a list of objects (a service definition or discovery: one object). XML is the spec's
root element holding one element per item; a nested list is an element holding one child per
value (`attributes` -> `attribute`, `values` -> `value`, ...). Null is an empty element, true and
false are `true` / `false`, numbers as Python writes them (`repr`, so nothing is rounded).
XML is written with the standard library's ElementTree, which escapes all text: a `<script>` in
a description reaches the client as text in both formats.
"""

from __future__ import annotations

import json
from xml.etree.ElementTree import Element, SubElement, tostring

from fastapi.responses import Response

from schemas import open311 as o3

# a list under one of these names holds children of the other name
CHILD_TAG = {
    o3.ATTRIBUTES: o3.ATTRIBUTE, o3.VALUES: o3.VALUE, "endpoints": "endpoint", "formats": "format",
}
MEDIA_TYPES = {"json": o3.JSON_TYPE, "xml": o3.XML_TYPE}


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _fill(element: Element, value: object) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        for name, inner in value.items():
            _fill(SubElement(element, name), inner)
    elif isinstance(value, list):
        tag = CHILD_TAG.get(element.tag, "item")
        for inner in value:
            _fill(SubElement(element, tag), inner)
    else:
        element.text = _text(value)


def xml_bytes(root: str, item: str | None, body: list[dict] | dict) -> bytes:
    """`<root><item>...</item>...</root>`, or `<root>fields</root>` for one object (`item` None)."""
    top = Element(root)
    if item is None:
        _fill(top, body)
    else:
        for entry in body:
            _fill(SubElement(top, item), entry)
    return tostring(top, encoding="utf-8", xml_declaration=True)


def answer(fmt: str, root: str, item: str | None, body: list[dict] | dict, status: int = 200,
           headers: dict[str, str] | None = None) -> Response:
    """The answer in `fmt`: JSON as is, XML under `root` (and `item` per list entry)."""
    if fmt == "xml":
        content = xml_bytes(root, item, body)
    else:
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status_code=status, media_type=f"{MEDIA_TYPES[fmt]}; charset=utf-8", headers=headers)


def error_answer(fmt: str, status: int, description: str, headers: dict[str, str] | None = None) -> Response:
    """The spec's envelope: `[{"code": 400, "description": "..."}]` / `<errors><error>...`."""
    return answer(fmt if fmt in MEDIA_TYPES else "json", "errors", "error",
                  [{"code": status, "description": description}], status, headers)
