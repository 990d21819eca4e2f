"""RAW_OBSERVATION -> OBSERVATION: reasons, local times across DST, offsets, units, QC notes, Beam."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import apache_beam as beam
import polars as pl
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that
from samples import sample_file

from pipelines.sources.sensors.uci import UCI_UNITS, read_uci
from pipelines.transforms.sensors.normalise import NormaliseObservations, normalise_observations
from schemas import dead_letters as dl
from schemas.sensors import (
    OBSERVATION,
    RAW_OBSERVATION,
    SENSOR_SCHEMA_VERSION,
    QcFlag,
    SensorReason,
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)
MADRID = "Europe/Madrid"


def raw(rows: list[dict]) -> pl.DataFrame:
    """RAW_OBSERVATION rows; unset fields are an hourly NO2 value in µg/m³ of station S1."""
    base = {"station_id": "S1", "parameter": "NO2", "value": "10", "unit": "µg/m³",
            "observed_at": "2024-01-15 10:00", "period_hours": 1.0, "source_valid": None, "source": "test",
            "source_file": "feed.csv", "unreadable_record": None}
    full = [base | {"source_position": i} | row for i, row in enumerate(rows)]
    return pl.from_arrow(pl.DataFrame(full).to_arrow().select(RAW_OBSERVATION.names).cast(RAW_OBSERVATION))


def normalise(rows: list[dict], timezone: str = MADRID, default_units: dict[str, str] | None = None,
              known: set[str] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = raw(rows)
    obs, dead = normalise_observations(frame, timezone, default_units, known, NOW)
    assert obs.height + dead.height == frame.height
    return obs, dead


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def reasons(dead: pl.DataFrame) -> list[str]:
    return dead.sort("source_position")[dl.REASON].to_list()


def test_a_clean_row_becomes_an_observation_of_the_schema() -> None:
    obs, dead = normalise([{}])
    assert dead.height == 0
    assert obs.schema == pl.Schema(OBSERVATION)
    row = obs.row(0, named=True)
    assert row | {"qc_flags": None} == {
        "station_id": "S1", "parameter": "no2", "value": 10.0, "unit": "µg/m³",
        "period_start": utc(2024, 1, 15, 9), "period_end": utc(2024, 1, 15, 10), "qc_flags": None,
        "source": "test", "source_file": "feed.csv", "source_position": 0, "schema_version": SENSOR_SCHEMA_VERSION,
    }
    assert row["qc_flags"] == []


def test_every_reason_in_order() -> None:
    obs, dead = normalise([
        {"unreadable_record": "1,2,broken", "station_id": None, "parameter": None},
        {"station_id": "S9"},
        {"station_id": " "},
        {"station_id": "S9", "parameter": "benzene"},  # the station comes first
        {"parameter": "magnitud_7"},
        {"parameter": "benzene", "observed_at": "yesterday"},  # the parameter comes first
        {"observed_at": "2024-01-15"},  # a date without a time
        {"observed_at": "15/01/2024 10:00"},
        {"observed_at": None},
        {"value": "n/a", "observed_at": "nonsense"},  # the time comes first
        {"value": "abc"}, {"value": "NaN"}, {"value": "inf"}, {"value": "-Infinity"}, {"value": ""}, {"value": None},
        {"value": "abc", "unit": "ppb", "parameter": "PM2.5"},  # the value comes first
        {"unit": "ppb", "parameter": "PM2.5"}, {"unit": "furlongs"}, {"unit": "K"},
    ], known={"S1"})
    assert obs.height == 0
    R = SensorReason
    assert reasons(dead) == [
        R.UNREADABLE_ROW, R.UNKNOWN_STATION, R.UNKNOWN_STATION, R.UNKNOWN_STATION, R.UNKNOWN_PARAMETER,
        R.UNKNOWN_PARAMETER, R.UNPARSEABLE_TIME, R.UNPARSEABLE_TIME, R.UNPARSEABLE_TIME, R.UNPARSEABLE_TIME,
        *[R.NON_NUMERIC] * 7, R.UNIT_MISMATCH, R.UNIT_MISMATCH, R.UNIT_MISMATCH,
    ]
    first = dead.sort("source_position").row(0, named=True)
    assert first[dl.STAGE] == "normalise_observations" and first[dl.FAILED_AT] == NOW
    assert json.loads(first[dl.RAW_PAYLOAD])["unreadable_record"] == "1,2,broken"
    detail = dead.filter(pl.col(dl.REASON) == R.UNIT_MISMATCH)[dl.DETAIL].to_list()
    assert detail[0] == "the unit ppb cannot be converted to µg/m³ for pm25"


def test_without_a_station_list_any_station_id_is_known_but_none_is_not() -> None:
    obs, dead = normalise([{"station_id": "anything"}, {"station_id": None}, {"station_id": " S2 "}])
    assert obs["station_id"].to_list() == ["anything", "S2"]
    assert reasons(dead) == [SensorReason.UNKNOWN_STATION]


def test_the_station_list_is_matched_exactly() -> None:
    _, dead = normalise([{"station_id": "s1"}], known={"S1"})
    assert reasons(dead) == [SensorReason.UNKNOWN_STATION]


def test_the_skipped_hour_is_shifted_forward_and_flagged() -> None:
    obs, _ = normalise([{"observed_at": "2024-03-31 02:30"}, {"observed_at": "2024-03-31 01:30"},
                        {"observed_at": "2024-03-31 03:30"}])
    assert obs["period_start"].to_list() == [utc(2024, 3, 31, 1, 30), utc(2024, 3, 31, 0, 30), utc(2024, 3, 31, 1, 30)]
    assert obs["qc_flags"].to_list() == [[QcFlag.DST_NONEXISTENT], [], []]


def test_the_repeated_hour_written_twice_is_two_instants_in_file_order() -> None:
    obs, dead = normalise([
        {"observed_at": "2024-10-27 01:00"},
        {"observed_at": "2024-10-27 02:00"},
        {"observed_at": "2024-10-27T02:00:00", "parameter": "O3"},  # another series: its own first
        {"observed_at": "2024-10-27T02:00:00"},  # same local time, other spelling: the later one
        {"observed_at": "2024-10-27 03:00"},
    ])
    assert dead.height == 0
    by_row = obs.sort("source_position")
    assert by_row["period_start"].to_list() == [utc(2024, 10, 26, 23), utc(2024, 10, 27, 0), utc(2024, 10, 27, 0),
                                                utc(2024, 10, 27, 1), utc(2024, 10, 27, 2)]
    assert by_row["qc_flags"].to_list() == [[], [QcFlag.DST_AMBIGUOUS], [QcFlag.DST_AMBIGUOUS],
                                            [QcFlag.DST_AMBIGUOUS], []]


def test_a_single_ambiguous_time_is_the_summer_time_one() -> None:
    obs, _ = normalise([{"observed_at": "2024-10-27 02:30"}])
    assert obs["period_start"].to_list() == [utc(2024, 10, 27, 0, 30)]


def test_file_order_not_frame_order_decides_the_repeated_hour() -> None:
    frame = raw([{"observed_at": "2024-10-27 02:00", "value": "1"}, {"observed_at": "2024-10-27 02:00", "value": "2"}])
    obs, _ = normalise_observations(frame.reverse(), MADRID, None, None, NOW)
    firsts = dict(zip(obs["value"].to_list(), obs["period_start"].to_list(), strict=True))
    assert firsts == {1.0: utc(2024, 10, 27, 0), 2.0: utc(2024, 10, 27, 1)}


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-01-15T10:00:00Z", utc(2024, 1, 15, 10)),
    ("2024-01-15T10:00Z", utc(2024, 1, 15, 10)),
    ("2024-01-15T10:00:00+02:00", utc(2024, 1, 15, 8)),
    ("2024-01-15 10:00:00-0500", utc(2024, 1, 15, 15)),
    ("2024-01-15T10:00:00.250+05:30", utc(2024, 1, 15, 4, 30, 0, 250_000)),
    ("2024-10-27T02:00:00+01:00", utc(2024, 10, 27, 1)),  # an offset settles an ambiguous time
    ("2024-07-01T10:00:00.5", utc(2024, 7, 1, 8, 0, 0, 500_000)),  # local, summer time
    ("2024-07-01 10:00:30", utc(2024, 7, 1, 8, 0, 30)),
    (" 2024-07-01 10:00 ", utc(2024, 7, 1, 8)),
])
def test_time_spellings(text: str, expected: datetime) -> None:
    obs, _ = normalise([{"observed_at": text}])
    assert obs["period_start"].to_list() == [expected]
    assert obs["qc_flags"].to_list() == [[]]


def test_period_end_uses_the_rows_period_else_the_default() -> None:
    frame = raw([{"period_hours": 24.0}, {"period_hours": None}, {"period_hours": 0.25}, {"period_hours": -1.0}])
    obs, _ = normalise_observations(frame, "UTC", None, None, NOW, period_hours_default=2.0)
    lengths = (obs["period_end"] - obs["period_start"]).dt.total_minutes().to_list()
    assert lengths == [24 * 60, 120, 15, 120]


def test_units_are_converted_end_to_end() -> None:
    obs, dead = normalise([
        {"parameter": "Nitrogen dioxide", "unit": "ppb", "value": "10"},
        {"parameter": "CO", "unit": "ppm", "value": "1"},
        {"parameter": "CO", "unit": None, "value": "300"},  # UCI: µg/m³ by the adapter's table
        {"parameter": "CO", "unit": "mg/m3", "value": "0.5"},
        {"parameter": "Temperature", "unit": "K", "value": "293.15"},
        {"parameter": "Air pressure", "unit": "Pa", "value": "101325"},
        {"parameter": "Wind speed", "unit": "km/h", "value": "18"},
        {"parameter": "PM2.5", "unit": "mg/m³", "value": "0.012"},
        {"parameter": "TEMP", "unit": None, "value": "-0.7"},  # no default: the canonical unit
    ], default_units={"CO": "µg/m³"})
    assert dead.height == 0
    assert obs["parameter"].to_list() == ["no2", "co", "co", "co", "temperature", "pressure", "wind_speed", "pm25",
                                          "temperature"]
    assert obs["value"].to_list() == pytest.approx([19.125, 1.1644, 0.3, 0.5, 20.0, 1013.25, 5.0, 12.0, -0.7],
                                                   abs=1e-3)
    assert obs["unit"].to_list() == ["µg/m³", "mg/m³", "mg/m³", "mg/m³", "°C", "hPa", "m/s", "µg/m³", "°C"]


def test_source_invalid_is_a_flag_not_a_dead_letter() -> None:
    valid_texts = ["V", "true", "1", None, "valid"]
    invalid_texts = ["N", "false", "0", "invalid", " n "]
    obs, dead = normalise([{"source_valid": text} for text in valid_texts + invalid_texts])
    assert dead.height == 0
    assert obs["qc_flags"].to_list() == [[]] * 5 + [[QcFlag.SOURCE_INVALID]] * 5


def test_flags_combine() -> None:
    obs, _ = normalise([{"observed_at": "2024-03-31 02:00", "source_valid": "N"}])
    assert obs["qc_flags"].to_list() == [[QcFlag.SOURCE_INVALID, QcFlag.DST_NONEXISTENT]]


def test_an_empty_batch_gives_empty_frames() -> None:
    obs, dead = normalise_observations(raw([{}]).clear(), MADRID, None, None, NOW)
    assert obs.height == dead.height == 0 and obs.schema == pl.Schema(OBSERVATION)


def test_the_uci_sample_normalises_in_shanghai_time() -> None:
    path = sample_file("sensors", "PRSA_Data_Aotizhongxin_20130301-20170228.csv")
    frame = pl.concat(list(read_uci(path, 100_000)))
    obs, dead = normalise_observations(frame, "Asia/Shanghai", UCI_UNITS, None, NOW)
    assert obs.height + dead.height == frame.height
    assert dead.height == 0
    assert set(obs["parameter"].unique()) == {"pm25", "pm10", "so2", "no2", "co", "o3", "temperature", "pressure",
                                              "dew_point", "rain", "wind_speed"}
    first = obs.filter(pl.col("source_position") == 0)  # 2013-03-01 00:00 Beijing, CO 300 µg/m³
    assert first.filter(pl.col("parameter") == "co")["value"].to_list() == [pytest.approx(0.3)]
    assert first["period_start"].unique().to_list() == [utc(2013, 2, 28, 16)]
    raw_co = frame.filter(pl.col("parameter") == "CO")["value"].cast(pl.Float64)
    assert obs.filter(pl.col("parameter") == "co")["value"].mean() == pytest.approx(raw_co.mean() / 1000)


def test_the_beam_composite_splits_observations_and_dead_letters() -> None:
    batches = [raw([{}, {"station_id": "S9"}]), raw([{"observed_at": "2024-10-27 02:00"}, {"value": "x"}])]

    def observations_match(frames: list[pl.DataFrame]) -> None:
        out = pl.concat(frames)
        assert out.height == 2 and out.schema == pl.Schema(OBSERVATION)

    def dead_match(frames: list[pl.DataFrame]) -> None:
        assert sorted(pl.concat(frames)[dl.REASON].to_list()) == [SensorReason.NON_NUMERIC, SensorReason.UNKNOWN_STATION]

    with TestPipeline(runner=FnApiRunner()) as pipeline:
        out = pipeline | beam.Create(batches) | NormaliseObservations(MADRID, None, {"S1"}, NOW)
        assert_that(out.observations, observations_match, label="Observations")
        assert_that(out.dead_letters, dead_match, label="DeadLetters")
