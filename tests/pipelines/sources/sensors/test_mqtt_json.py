"""Recorded MQTT messages (`--format mqtt-json`): one message per line, read as the live lander
reads them, and ingested with repeated and late messages counted once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pipelines import ingest_sensors
from pipelines.sources.sensors.mqtt_json import decode_message, read_mqtt_json
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import dead_letters as dl
from schemas import sensors as sn
from synthetic.demo_city import build_demo_city
from synthetic.sensors import generate_observations, generate_stations, mqtt_messages


def observation(hour: int, value: float = 12.5) -> dict:
    return {"station_id": "S1", "parameter": "pm25", "value": value, "unit": "µg/m³",
            "observed_at": f"2025-03-01T{hour:02d}:00:00+01:00"}


def test_lines_are_messages_positions_count_rows(tmp_path: Path) -> None:
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join([json.dumps([observation(0), observation(1)]), "", json.dumps(observation(2)),
                               "{not json", "\ufeff"]) + "\n", encoding="utf-8")
    rows = pl.concat(list(read_mqtt_json(path, batch_rows=2)))
    assert rows[sn.SOURCE_POSITION].to_list() == [0, 1, 2, 3, 4]  # a blank line is no message
    assert rows["unreadable_record"].to_list()[3:] == ["{not json", "\ufeff"]
    decoded = [row for h in range(3) for row in decode_message(json.dumps(observation(h)).encode())]
    fields = [sn.STATION_ID, sn.PARAMETER, sn.VALUE, sn.UNIT, sn.OBSERVED_AT]
    assert rows.head(3).select(fields).rows() == [tuple(row[f] for f in fields) for row in decoded]
    assert set(rows["source_file"]) == {str(path)}


def test_replayed_feed_with_repeats_and_late_messages_counts_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    pack = build_demo_city(Workspace(home).city("demo"))
    stations = generate_stations(pack, 3, seed=3)
    generated = generate_observations(pack, stations, datetime(2025, 1, 6, tzinfo=UTC), 24 * 3, seed=3,
                                      parameters=("pm25", "no2"))
    messages = mqtt_messages(generated.observations, per_message=20, seed=3, timezone=pack.timezone)
    path = tmp_path / "recorded.jsonl"
    path.write_bytes(b"\n".join([*messages, b"\xff\xfe not utf-8"]) + b"\n")
    report = ingest_sensors.run(ingest_sensors.sensor_argv([str(path)], "demo", str(home), "mqtt-json"))
    delivered = sum(len(json.loads(m)) for m in messages)
    assert report.records_in == delivered + 1 > generated.observations.height  # repeats are delivered twice
    assert report.records_in == report.records_out + report.counters["dead_letters"]
    dead = pl.read_parquet(Workspace(home).city_dataset(ds.DEAD_LETTERS, "demo") / "**" / "*.parquet",
                           hive_partitioning=False)
    assert dead[dl.REASON].to_list() == [sn.SensorReason.UNREADABLE_ROW]
    hourly = pl.read_parquet(Workspace(home).city_dataset(ds.SENSOR_HOURLY, "demo") / "**" / "*.parquet",
                             hive_partitioning=False)
    assert hourly.filter(pl.col(sn.COUNT) > 1).height == 0  # a repeated message never double counts
    kept = generated.observations.select(sn.STATION_ID, sn.PARAMETER, sn.PERIOD_START).unique()
    assert hourly.height == kept.height  # every generated hour once
