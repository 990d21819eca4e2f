"""Recorded MQTT messages (`--format mqtt-json`), and how one message becomes raw observations.

A message is UTF-8 JSON: one observation `{"station_id", "parameter", "value", "unit",
"observed_at", "period_hours"?, "source_valid"?}`, a list of them, or SensorThings Observations
(with their expanded Datastream, as in `sensorthings`). `decode_message` is what the MQTT lander
(`pipelines.land_sensors`) and the live stream apply to every payload; `read_mqtt_json` applies
it to a file of recorded payloads, one message per line (what `mosquitto_sub -t 'sensors/#'`
prints, or the lander's own archive), so a replayed feed is read exactly as the live one was.

A message that is not that (not UTF-8, not JSON, too large or deep, an element that is no
observation) becomes an unreadable row keeping its text: nothing is dropped. Blank lines are
not messages. `source_position` counts the file's rows in message order (a list of 100
observations is 100 positions).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from pipelines.sources.json_elements import DECODER, TOO_DEEP, array_elements
from pipelines.sources.limits import KEPT_TEXT_CHARS, MAX_RECORD_CHARS, breaks_bounds, kept_text
from pipelines.sources.sensors import (
    bounded_lines,
    check_batch_rows,
    open_lines,
    to_raw_observation,
)
from pipelines.sources.sensors.sensorthings import (
    Row,
    is_data_array,
    is_observation,
    observation_rows,
    unreadable_row,
)
from schemas import requests as rq
from schemas import sensors as sn

SOURCE_NAME = "mqtt"
_SURROGATE = re.compile("[\ud800-\udfff]")
_FIELDS = (sn.STATION_ID, sn.PARAMETER, sn.VALUE, sn.UNIT, sn.OBSERVED_AT, sn.SOURCE_VALID)
_TYPES = dict(pl.from_arrow(sn.RAW_OBSERVATION.empty_table()).schema)  # type: ignore[union-attr]


def read_mqtt_json(path: Path, batch_rows: int, source: str = SOURCE_NAME) -> Iterator[pl.DataFrame]:
    """RAW_OBSERVATION batches of a file of recorded MQTT messages, one message per line."""
    check_batch_rows(batch_rows)
    rows: list[Row] = []
    position = 0
    with open_lines(path) as handle:
        for text, too_long in bounded_lines(handle):
            if not text.strip():
                continue
            for row in [unreadable_row(text)] if too_long else decode_message(text.encode("utf-8")):
                rows.append(row | {rq.SOURCE: source, rq.SOURCE_FILE: str(path), rq.SOURCE_POSITION: position})
                position += 1
            if len(rows) >= batch_rows:
                yield _batch(rows)
                rows = []
    if rows:
        yield _batch(rows)


def _batch(rows: list[Row]) -> pl.DataFrame:
    return to_raw_observation(pl.DataFrame(rows, schema=_TYPES))


def decode_message(payload: bytes) -> list[Row]:
    """The RAW_OBSERVATION rows of one message (without source columns); never empty."""
    if len(payload) > MAX_RECORD_CHARS:
        return [unreadable_row(kept_text(payload[:KEPT_TEXT_CHARS].decode("utf-8", "replace"), len(payload)))]
    try:
        text = payload.decode("utf-8").strip()
        if text.startswith("["):  # element by element, each keeping its own text
            elements = _list_items(text)
        else:
            elements = [(DECODER.decode(text), 0, len(text))]
    except (UnicodeDecodeError, ValueError, RecursionError):
        return [unreadable_row(payload.decode("utf-8", "replace"))]
    rows = [row for value, start, end in elements for row in _rows_of(value, text[start:end])]
    return rows or [unreadable_row(text)]


def _list_items(text: str) -> list[tuple[object, int, int]]:
    items, elements = [], array_elements(text, 0)
    while True:
        try:
            items.append(next(elements))
        except StopIteration as done:
            if text[done.value:].strip():
                raise ValueError("extra data after the list") from None
            return items


def _rows_of(item: object, text: str) -> list[Row]:
    if is_observation(item) or is_data_array(item) or item is TOO_DEEP:
        return observation_rows(item, text)
    if not isinstance(item, dict) or sn.STATION_ID not in item or breaks_bounds(item):
        return [unreadable_row(text)]
    row: Row = {name: _as_text(item.get(name)) for name in _FIELDS}
    try:
        hours = float(item[sn.PERIOD_HOURS]) if item.get(sn.PERIOD_HOURS) is not None else None
    except (TypeError, ValueError):
        hours = None
    return [row | {sn.PERIOD_HOURS: hours, rq.UNREADABLE_RECORD: None}]


def _as_text(value: object) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is not None and not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _SURROGATE.sub("\ufffd", value) if value and not value.isascii() else value
