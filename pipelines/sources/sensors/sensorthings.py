"""OGC SensorThings API v1.1 JSON: `GET .../Observations?$expand=Datastream(...)` answers.

Read from a response `{"value": [...], "@iot.nextLink": ...}`, a bare array or one Observation:

* Observations `{"phenomenonTime", "resultTime", "result", "resultQuality"?, "Datastream":
  {"name", "unitOfMeasurement": {"symbol"}, "ObservedProperty": {"name"}, "Thing": {...}}}`;
* the `dataArray` extension: blocks `{"Datastream": {...}, "components": ["id",
  "phenomenonTime", "result"], "dataArray": [[...], ...]}`, one Observation per inner array.

One Observation, one RAW_OBSERVATION row: `station_id` = Thing `@iot.id` (else name),
`parameter` = ObservedProperty name (else Datastream name), `unit` = unitOfMeasurement symbol,
`value` = result as written, `observed_at` = start of `phenomenonTime` as written. An interval
(`start/end`, `start/PT1H`) gives `period_hours`; an instant leaves it null and normalisation
assumes the parameter's usual period. `source_valid` is `true`/`false` for a boolean or validity
word (`valid`, `invalid`, `bad` ...) in `resultQuality`, else null (a DQ_Element report).

Elements are decoded one at a time within the bounds of `limits`; one that is not an Observation,
too deep, too large, or lacks its expanded Datastream (no station, no parameter: fetch with
`$expand`) becomes one unreadable row keeping its text. A document that is not JSON, or whose
first elements hold no Observation, raises `SourceFormatError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import polars as pl
import pyarrow as pa

from pipelines.sources.encoding import text_encoding
from pipelines.sources.errors import SourceFormatError
from pipelines.sources.json_elements import (
    DECODER,
    TOO_DEEP,
    Element,
    array_elements,
    decode_value,
    expect_end,
    skip,
)
from pipelines.sources.limits import (
    KEPT_TEXT_CHARS,
    MAX_FIELD_CHARS,
    MAX_NESTING_DEPTH,
    MAX_RECORD_CHARS,
    breaks_bounds,
    kept_text,
)
from schemas import requests as rq
from schemas import sensors as sn

SOURCE_NAME = "sensorthings"
HEAD = 5  # how many leading elements must hold one Observation for the document to count
Row = dict[str, object]
_SURROGATE = re.compile("[\ud800-\udfff]")
_DURATION = re.compile(r"^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?"
                       r"(?:(\d+(?:\.\d+)?)S)?)?$")
_VALID = frozenset({"valid", "good", "ok", "true", "v", "pass", "passed", "verified"})
_INVALID = frozenset({"invalid", "not valid", "bad", "false", "n", "fail", "failed", "rejected"})


def read_sensorthings(path: Path, batch_rows: int, source: str = SOURCE_NAME) -> Iterator[pl.DataFrame]:
    """Frames of at most `batch_rows` RAW_OBSERVATION rows, in document order."""
    text = _read_text(path)
    rows: list[Row] = []
    position = 0
    for value, start, end in _checked(document_elements(text, path), path):
        for row in observation_rows(value, text[start:end]):
            rows.append(row | {rq.SOURCE: source, rq.SOURCE_FILE: str(path), rq.SOURCE_POSITION: position})
            position += 1
            if len(rows) >= batch_rows:
                yield raw_frame(rows)
                rows = []
    if rows:
        yield raw_frame(rows)


def raw_frame(rows: list[Row]) -> pl.DataFrame:
    """RAW_OBSERVATION rows as a frame of exactly that schema's columns and types."""
    return pl.from_arrow(pa.Table.from_pylist(rows, schema=sn.RAW_OBSERVATION))  # type: ignore[return-value]


def observation_rows(value: object, text: str) -> list[Row]:
    """The rows of one decoded element (`text` is its JSON): an Observation gives one, a
    dataArray block one per inner array, anything else one unreadable row."""
    if value is TOO_DEEP or len(text) > MAX_RECORD_CHARS or not isinstance(value, dict):
        return [unreadable_row(text)]
    brackets = text.count("[") + text.count("{")
    if (brackets > MAX_NESTING_DEPTH or len(text) > MAX_FIELD_CHARS) and breaks_bounds(value):
        return [unreadable_row(text)]
    if is_data_array(value):
        return _data_array_rows(value, text)
    row = _observation_row(value, None) if is_observation(value) else None
    return [row if row is not None else unreadable_row(text)]


def unreadable_row(text: str) -> Row:
    """A row that keeps (the start of) a text nothing could be read from."""
    kept = kept_text(text[:KEPT_TEXT_CHARS], len(text))
    return {name: None for name in sn.RAW_OBSERVATION.names} | {rq.UNREADABLE_RECORD: _clean(kept)}


def is_observation(value: object) -> bool:
    return isinstance(value, dict) and ("phenomenonTime" in value or "result" in value)


def is_data_array(value: object) -> bool:
    return isinstance(value, dict) and all(isinstance(value.get(k), list) for k in ("dataArray", "components"))


def _is_record(value: object) -> bool:
    return is_observation(value) or is_data_array(value)


def sensorthings_stations(path: Path) -> pl.DataFrame:
    """The Things of a SensorThings document as STATION rows (first seen wins), with the
    coordinates of their first Location (a GeoJSON Point, or a Feature holding one)."""
    text = _read_text(path)
    stations: dict[str, Row] = {}
    for value, _, _ in document_elements(text, path):
        datastream = value.get("Datastream") if isinstance(value, dict) else None
        thing = datastream.get("Thing") if isinstance(datastream, dict) else None
        if thing is None and isinstance(value, dict) and "Locations" in value:
            thing = value  # a `GET Things?$expand=Locations` answer
        if isinstance(thing, dict) and (station := _station_id(thing)) and station not in stations:
            lat, long = _coordinates(thing.get("Locations"))
            stations[station] = {sn.STATION_ID: station, sn.STATION_NAME: _text(thing.get("name")),
                                 rq.LAT: lat, rq.LONG: long}
    return pl.from_arrow(pa.Table.from_pylist(list(stations.values()), schema=sn.STATION))  # type: ignore[return-value]


def _checked(elements: Iterator[Element], path: Path) -> Iterator[Element]:
    """`elements`, once one of the first `HEAD` is an Observation or a dataArray block."""
    head: list[Element] = []
    for element in elements:
        head.append(element)
        if _is_record(element[0]) or len(head) == HEAD:
            break
    if head and not _is_record(head[-1][0]):
        first = head[0][0]
        found = f"an object with keys {sorted(first)[:10]}" if isinstance(first, dict) else (
            "a value nested too deep" if first is TOO_DEEP else f"a JSON {type(first).__name__}")
        raise SourceFormatError(
            f"{path} is not a SensorThings Observations document: its first {len(head)} element(s) "
            f"hold no Observation (the first is {found}); fetch `.../Observations?$expand=Datastream"
            "($expand=Thing,ObservedProperty)` or use the reader of its own format"
        )
    yield from head
    yield from elements


def _data_array_rows(block: dict, text: str) -> list[Row]:
    datastream = block.get("Datastream")
    if not isinstance(datastream, dict):
        return [unreadable_row(text)]
    components = [str(c) for c in block["components"]]
    rows = []
    for values in block["dataArray"]:
        if isinstance(values, list) and len(values) == len(components):
            rows.append(_observation_row(dict(zip(components, values, strict=True)), datastream))
        else:
            rows.append(unreadable_row(_text(values) or ""))  # numbers come back quoted
    return rows  # type: ignore[return-value]


def _observation_row(observation: dict, datastream: dict | None) -> Row | None:
    """The row of one Observation, or None without a Datastream to attribute it to."""
    datastream = observation.get("Datastream", datastream)
    if not isinstance(datastream, dict):
        return None
    prop, unit = datastream.get("ObservedProperty"), datastream.get("unitOfMeasurement")
    thing = datastream.get("Thing")
    when = observation.get("phenomenonTime") or observation.get("resultTime")
    start, hours = period(when) if isinstance(when, str) else (_text(when), None)
    return {
        sn.STATION_ID: _station_id(thing) if isinstance(thing, dict) else None,
        sn.PARAMETER: (_text(prop.get("name")) if isinstance(prop, dict) else None)
        or _text(datastream.get("name")),
        sn.VALUE: _text(observation.get("result")),
        sn.UNIT: _text(unit.get("symbol") or unit.get("name")) if isinstance(unit, dict) else None,
        sn.OBSERVED_AT: start, sn.PERIOD_HOURS: hours,
        sn.SOURCE_VALID: _validity(observation.get("resultQuality")), rq.UNREADABLE_RECORD: None,
    }


def period(when: str) -> tuple[str, float | None]:
    """(start as written, length in hours) of an ISO 8601 time; an instant has no length."""
    start, _, end = _clean(when).partition("/")
    try:
        if (match := _DURATION.match(end)) is not None:
            d, h, m, s = (float(g or 0) for g in match.groups())
            hours: float | None = d * 24 + h + m / 60 + s / 3600
        else:
            hours = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600
    except (ValueError, TypeError):  # an instant, unreadable, or one end with an offset only
        hours = None
    return start, hours if hours and hours > 0 else None


def _validity(quality: object) -> str | None:
    if isinstance(quality, bool):
        return "true" if quality else "false"
    word = quality.strip().lower() if isinstance(quality, str) else None
    return "true" if word in _VALID else "false" if word in _INVALID else None


def _station_id(thing: dict) -> str | None:
    return _text(thing.get("@iot.id")) or _text(thing.get("name"))


def _coordinates(locations: object) -> tuple[float | None, float | None]:
    for location in locations if isinstance(locations, list) else []:
        point = location.get("location") if isinstance(location, dict) else None
        point = point.get("geometry", point) if isinstance(point, dict) else None
        if isinstance(point, dict) and point.get("type") == "Point":
            try:
                return float(point["coordinates"][1]), float(point["coordinates"][0])  # [long, lat]
            except (KeyError, IndexError, TypeError, ValueError):
                break
    return None, None


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return _clean(value) if value else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return _clean(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return str(value)


def _clean(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text) if not text.isascii() else text


def document_elements(text: str, path: Path) -> Iterator[Element]:
    """The elements of a response's `value` array, of a bare array, or a lone object."""
    try:
        index = skip(text, 0)
        if text.startswith("[", index):
            expect_end(text, (yield from array_elements(text, index)))
        elif text.startswith("{", index):
            yield from _response(text, index, path)
        else:
            found = type(DECODER.decode(text)).__name__
            raise SourceFormatError(f"{path} holds a JSON {found}, not SensorThings Observations")
    except json.JSONDecodeError as exc:
        raise SourceFormatError(f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                                f"{exc.msg}); a SensorThings answer is an object with a 'value' array") from exc


def _response(text: str, start: int, path: Path) -> Iterator[Element]:
    members: dict[str, object] = {}
    index, wrapped = skip(text, start + 1), False
    while not text.startswith("}", index):
        if not text.startswith('"', index):
            raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, index)
        key, index = json.decoder.scanstring(text, index + 1)
        index = skip(text, _expect(text, skip(text, index), ":") + 1)
        if key == "value" and text.startswith("[", index) and not wrapped:
            wrapped, index = True, (yield from array_elements(text, index))
        else:
            members[key], index = decode_value(text, index)
        index = skip(text, index)
        if text.startswith(",", index):
            index = skip(text, index + 1)
        elif not text.startswith("}", index):
            raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
    expect_end(text, index + 1)
    if not wrapped and _is_record(members):
        yield members, start, index + 1
    elif not wrapped:
        raise SourceFormatError(f"{path} holds a JSON object with keys {sorted(members)[:10]}, not a "
                                "SensorThings response (an object with a 'value' array of Observations)")


def _expect(text: str, index: int, token: str) -> int:
    if not text.startswith(token, index):
        raise json.JSONDecodeError(f"Expecting {token!r} delimiter", text, index)
    return index


def _read_text(path: Path) -> str:
    encoding = text_encoding(path)
    codec = "utf-8-sig" if encoding.is_utf8 else encoding.codec
    try:
        return path.read_bytes().decode(codec, errors="replace")
    except OSError as exc:
        raise SourceFormatError(f"cannot read SensorThings JSON file {path}: {exc}") from exc
