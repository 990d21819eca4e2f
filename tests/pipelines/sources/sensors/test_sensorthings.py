"""SensorThings API JSON: both layouts, intervals, missing Datastreams, bad elements, bad documents."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.sensors.sensorthings import read_sensorthings, sensorthings_stations
from schemas import sensors as sn

THING = {"name": "Mitte", "@iot.id": 7,
         "Locations": [{"location": {"type": "Point", "coordinates": [13.40, 52.52]}}]}
PM25 = {"name": "PM2.5 at Mitte", "unitOfMeasurement": {"symbol": "µg/m³", "name": "microgram"},
        "ObservedProperty": {"name": "PM2.5"}, "Thing": THING}
NO2 = {"name": "NO2 Mitte", "unitOfMeasurement": {"symbol": "ug/m3"},
       "Thing": {"name": "Tiergarten", "Locations": [
           {"location": {"type": "Feature", "geometry": {"type": "Point", "coordinates": [13.3, 52.5]}}}]}}


def _write(tmp_path: Path, document: object, raw: str | None = None) -> Path:
    path = tmp_path / "observations.json"
    path.write_text(raw if raw is not None else json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def _read(path: Path, batch_rows: int = 1000) -> pl.DataFrame:
    frames = list(read_sensorthings(path, batch_rows))
    assert all(f.schema == frames[0].schema for f in frames)
    return pl.concat(frames)


def test_expanded_observations_in_a_response(tmp_path: Path) -> None:
    raw = ('{"@iot.count": 2, "value": [{"@iot.id": 1, "phenomenonTime": "2024-05-01T10:00:00Z", '
           '"resultTime": "2024-05-01T10:00:05Z", "result": 12.50, "resultQuality": "valid", '
           f'"Datastream": {json.dumps(PM25)}}}, {{"@iot.id": 2, "phenomenonTime": "2024-05-01T11:00:00Z", '
           f'"result": 0, "resultQuality": false, "Datastream": {json.dumps(NO2)}}}], '
           '"@iot.nextLink": "https://example.org/v1.1/Observations?$skip=2"}')
    frame = _read(_write(tmp_path, None, raw), batch_rows=1)
    assert frame.columns == sn.RAW_OBSERVATION.names
    assert frame.select(sn.STATION_ID, sn.PARAMETER, sn.VALUE, sn.UNIT, sn.OBSERVED_AT, sn.PERIOD_HOURS,
                        sn.SOURCE_VALID).rows() == [
        ("7", "PM2.5", "12.50", "µg/m³", "2024-05-01T10:00:00Z", None, "true"),  # number as written
        ("Tiergarten", "NO2 Mitte", "0", "ug/m3", "2024-05-01T11:00:00Z", None, "false"),
    ]
    assert frame["source_position"].to_list() == [0, 1]
    assert frame["unreadable_record"].null_count() == 2


def test_bare_array_and_interval_times(tmp_path: Path) -> None:
    document = [
        {"phenomenonTime": "2024-05-01T10:00:00Z/2024-05-01T11:00:00Z", "result": 3.4, "Datastream": PM25},
        {"phenomenonTime": "2024-05-01T00:00:00+02:00/P1D", "result": "4.1", "Datastream": PM25},
        {"phenomenonTime": "2024-05-01T10:00:00Z/PT15M", "result": None, "Datastream": PM25,
         "resultQuality": {"DQ_Status": "x"}},
        {"phenomenonTime": "2024-05-01T10:00:00Z/garbage", "result": True, "Datastream": PM25},
    ]
    frame = _read(_write(tmp_path, document))
    assert frame[sn.OBSERVED_AT].to_list() == [
        "2024-05-01T10:00:00Z", "2024-05-01T00:00:00+02:00", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"]
    assert frame[sn.PERIOD_HOURS].to_list() == [1.0, 24.0, 0.25, None]
    assert frame[sn.VALUE].to_list() == ["3.4", "4.1", None, "true"]
    assert frame[sn.SOURCE_VALID].to_list() == [None] * 4


def test_data_array_extension(tmp_path: Path) -> None:
    document = {"value": [
        {"Datastream": PM25, "components": ["id", "phenomenonTime", "result"], "dataArray@iot.count": 3,
         "dataArray": [[1, "2024-05-01T10:00:00Z", 3.4], [2, "2024-05-01T11:00:00Z", 5], [3, "short"]]},
        {"Datastream@iot.navigationLink": "https://example.org/v1.1/Datastreams(2)",
         "components": ["phenomenonTime", "result"], "dataArray": [["2024-05-01T10:00:00Z", 1]]},
    ]}
    frame = _read(_write(tmp_path, document), batch_rows=2)
    assert frame.select(sn.STATION_ID, sn.PARAMETER, sn.VALUE, sn.OBSERVED_AT).rows()[:2] == [
        ("7", "PM2.5", "3.4", "2024-05-01T10:00:00Z"), ("7", "PM2.5", "5", "2024-05-01T11:00:00Z")]
    unreadable = frame["unreadable_record"].to_list()
    assert unreadable[:2] == [None, None]
    assert unreadable[2] == '["3","short"]'  # a row that does not match the components
    assert "Datastreams(2)" in unreadable[3]  # a block without its Datastream: one row, its text kept
    assert frame.height == 4 and frame["source_position"].to_list() == [0, 1, 2, 3]


def test_missing_datastream_and_malformed_elements_are_unreadable_rows(tmp_path: Path) -> None:
    deep = "[" * 200 + "]" * 200
    raw = ('{"value": [{"phenomenonTime": "2024-05-01T10:00:00Z", "result": 1, "Datastream": '
           f'{json.dumps(PM25)}}}, {{"phenomenonTime": "2024-05-01T10:00:00Z", "result": 2}}, 17, '
           '{"name": "not an observation"}, {"phenomenonTime": "2024-05-01T10:00:00Z", "result": '
           f'{deep}}}, {"[" * 5000 + "]" * 5000}]}}')
    frame = _read(_write(tmp_path, None, raw))
    assert frame.height == 6
    assert frame[sn.VALUE].to_list() == ["1"] + [None] * 5
    unreadable = frame["unreadable_record"].to_list()
    assert unreadable[0] is None
    assert unreadable[1].startswith('{"phenomenonTime"') and unreadable[2] == "17"
    assert unreadable[3] == '{"name": "not an observation"}'
    assert unreadable[4].endswith("]}") and unreadable[5].startswith("[[[")  # too deep: kept, not decoded


@pytest.mark.parametrize(("document", "message"), [
    ('{"type": "FeatureCollection", "features": []}', "keys ['features', 'type']"),
    ('{"value": [{"name": "Mitte", "Locations": []}]}', "hold no Observation"),
    ('[1, 2, 3]', "the first is a JSON str"),
    ('"hello"', "holds a JSON str"),
    ('{"value": [', "not valid JSON"),
])
def test_a_document_that_is_not_sensorthings_raises(tmp_path: Path, document: str, message: str) -> None:
    with pytest.raises(SourceFormatError, match="SensorThings|JSON") as caught:
        list(read_sensorthings(_write(tmp_path, None, document), 100))
    assert message in str(caught.value)


def test_empty_page_and_a_single_observation(tmp_path: Path) -> None:
    assert list(read_sensorthings(_write(tmp_path, {"value": [], "@iot.count": 0}), 10)) == []
    single = {"@iot.id": 9, "phenomenonTime": "2024-05-01T10:00:00Z", "result": 8, "Datastream": NO2}
    assert _read(_write(tmp_path, single))[sn.VALUE].to_list() == ["8"]


def test_stations_from_thing_locations(tmp_path: Path) -> None:
    document = {"value": [
        {"phenomenonTime": "2024-05-01T10:00:00Z", "result": 1, "Datastream": PM25},
        {"phenomenonTime": "2024-05-01T11:00:00Z", "result": 2, "Datastream": PM25},
        {"Datastream": NO2, "components": ["phenomenonTime", "result"], "dataArray": [["2024-05-01T10:00:00Z", 1]]},
    ]}
    stations = sensorthings_stations(_write(tmp_path, document))
    assert stations.columns == sn.STATION.names
    assert stations.rows() == [("7", "Mitte", 52.52, 13.4), ("Tiergarten", "Tiergarten", 52.5, 13.3)]
