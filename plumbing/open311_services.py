"""The Open311 services of a city: one per category of its taxonomy, with optional attributes.

`GET services` lists the pack's taxonomy (`taxonomy.csv`): the category is the service_code, its
English label the service_name, its department the group. A pack may add service definitions in
`open311_attributes.json` (`{"road_damage": [{"code": "size", "datatype": "singlevaluelist",
"required": true, "description": "...", "values": [{"key": "s", "name": "Small"}]}]}`); a
service with attributes has `metadata` true. Both files are read once per version (mtime, size).
`check_attributes` holds a POST's `attribute[code]` values against the definition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import polars as pl

from plumbing.pack_files import file_version
from schemas import citypack as cp
from schemas import open311 as o3
from schemas import taxonomy as tx


class Open311Problem(ValueError):
    """A request the Open311 server refuses: the HTTP status and what to fix."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass(frozen=True)
class Attribute:
    code: str
    datatype: str
    required: bool
    description: str
    order: int
    datatype_description: str = ""
    variable: bool = True
    values: tuple[tuple[str, str], ...] = ()  # (key, name)


@dataclass(frozen=True)
class Service:
    service_code: str
    service_name: str
    description: str
    group: str
    keywords: str
    attributes: tuple[Attribute, ...] = field(default_factory=tuple)

    @property
    def metadata(self) -> bool:
        return bool(self.attributes)


def city_services(pack_root: Path) -> dict[str, Service]:
    """service_code -> Service, in taxonomy order (empty when the city has no pack)."""
    taxonomy, attributes = Path(pack_root) / cp.PACK_TAXONOMY_FILE, Path(pack_root) / o3.PACK_ATTRIBUTES_FILE
    return _services(taxonomy, file_version(taxonomy), attributes, file_version(attributes))


@lru_cache(maxsize=8)
def _services(taxonomy: Path, taxonomy_version, attributes: Path, attributes_version) -> dict[str, Service]:
    if taxonomy_version is None:
        return {}
    frame = pl.read_csv(taxonomy, infer_schema=False)
    definitions = _definitions(attributes) if attributes_version else {}
    services = {}
    for row in frame.unique(tx.TAXONOMY_CATEGORY, keep="first", maintain_order=True).iter_rows(named=True):
        code = row[tx.TAXONOMY_CATEGORY]
        label = row.get(tx.TAXONOMY_LABEL_EN) or code
        services[code] = Service(
            code, label, label, row.get(tx.TAXONOMY_DEPARTMENT) or tx.UNKNOWN_DEPARTMENT,
            ", ".join(k for k in (row.get(tx.TAXONOMY_LABEL_RU), code) if k), definitions.get(code, ()),
        )
    return services


def _definitions(path: Path) -> dict[str, tuple[Attribute, ...]]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return {code: tuple(_attribute(a, number) for number, a in enumerate(items, 1))
                for code, items in document.items()}
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise ValueError(f"{path}: not a valid Open311 attribute file ({error}); expected "
                         '{"service_code": [{"code": ..., "datatype": ..., "values": [...]}]}') from error


def _attribute(item: dict, number: int) -> Attribute:
    datatype = item.get(o3.DATATYPE, "string")
    if datatype not in o3.DATATYPES:
        raise ValueError(f"attribute {item.get(o3.CODE)!r}: datatype {datatype!r} is none of {o3.DATATYPES}")
    values = tuple((str(v[o3.KEY]), str(v.get(o3.NAME, v[o3.KEY]))) for v in item.get(o3.VALUES, ()))
    if datatype in o3.LIST_DATATYPES and not values:
        raise ValueError(f"attribute {item[o3.CODE]!r}: a {datatype} needs values")
    return Attribute(str(item[o3.CODE]), datatype, bool(item.get(o3.REQUIRED, False)),
                     str(item.get("description", item[o3.CODE])), int(item.get(o3.ORDER, number)),
                     str(item.get(o3.DATATYPE_DESCRIPTION, "")), bool(item.get(o3.VARIABLE, True)), values)


def check_attributes(service: Service, given: dict[str, list[str]]) -> dict[str, str | list[str]]:
    """The POST's attribute values, checked against the service definition (400 otherwise)."""
    known = {a.code: a for a in service.attributes}
    unknown = sorted(set(given) - known.keys())
    if unknown:
        offered = ", ".join(known) or "none"
        raise Open311Problem(400, f"attribute[{unknown[0]}]: service {service.service_code!r} has no such "
                                  f"attribute (its attributes: {offered})")
    checked: dict[str, str | list[str]] = {}
    for attribute in sorted(service.attributes, key=lambda a: a.order):
        values = [v for v in given.get(attribute.code, []) if v != ""]
        if not values:
            if attribute.required:
                raise Open311Problem(400, f"attribute[{attribute.code}] is required for service "
                                          f"{service.service_code!r}")
            continue
        keys = [k for k, _ in attribute.values]
        if attribute.datatype in o3.LIST_DATATYPES:
            wrong = [v for v in values if v not in keys]
            if wrong or (attribute.datatype == "singlevaluelist" and len(values) > 1):
                shown = wrong[0] if wrong else ",".join(values)
                raise Open311Problem(400, f"attribute[{attribute.code}]: {shown!r} is not a value of it; use "
                                          f"{'one' if attribute.datatype == 'singlevaluelist' else 'some'} "
                                          f"of {', '.join(keys)}")
            checked[attribute.code] = values if attribute.datatype == "multivaluelist" else values[0]
            continue
        value = values[0]
        if attribute.datatype == "number":
            try:
                float(value)
            except ValueError:
                raise Open311Problem(400, f"attribute[{attribute.code}]: {value!r} is not a number") from None
        elif attribute.datatype == "datetime":
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise Open311Problem(400, f"attribute[{attribute.code}]: {value!r} is not a W3C datetime "
                                          "(e.g. 2026-01-31T08:00:00Z)") from None
        checked[attribute.code] = value
    return checked
