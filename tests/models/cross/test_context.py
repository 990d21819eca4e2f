"""Environmental requests against sensor anomalies: categories, distances, windows, reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from models.cross.context import (
    ContextSettings,
    category_parameters,
    haversine_m,
    request_sensor_context,
    standard_thresholds,
)
from schemas import cross as cx

T0 = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)
STATION_LAT, STATION_LONG = 55.75, 37.60
METRE_LAT = 1 / 111_195  # degrees of latitude per metre (approximately)


def stations() -> pl.DataFrame:
    return pl.DataFrame({"station_id": ["S1", "S2"], "lat": [STATION_LAT, 55.90], "long": [STATION_LONG, 37.90]})


def hourly(values: dict[tuple[str, str], list[float]], start: datetime = T0 - timedelta(hours=12)) -> pl.DataFrame:
    rows = [{"station_id": s, "parameter": p, "period_start": start + timedelta(hours=i), "mean": v, "valid": True}
            for (s, p), series in values.items() for i, v in enumerate(series)]
    return pl.DataFrame(rows).with_columns(pl.col("period_start").dt.cast_time_unit("us"))


def request(rid: str, category: str, north_m: float = 100.0, at: datetime = T0, lat: float | None = 0.0) -> dict:
    return {"service_request_id": rid, "category": category, "requested_datetime": at,
            "lat": None if lat is None else STATION_LAT + north_m * METRE_LAT, "long": STATION_LONG,
            "district_id": "D1"}


def requests(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={"service_request_id": pl.String, "category": pl.String,
                                           "requested_datetime": pl.Datetime("us", "UTC"), "lat": pl.Float64,
                                           "long": pl.Float64, "district_id": pl.String})


def by_id(frame: pl.DataFrame) -> dict[str, dict]:
    return {row["service_request_id"]: row for row in frame.iter_rows(named=True)}


def test_categories_of_the_demo_taxonomy_and_common_311_names() -> None:
    names = ["noise", "Noise - Residential", "Air Quality", "Odor", "Dust", "smell", "road_damage", None]
    found = category_parameters(pl.DataFrame({"category": names}), ContextSettings().categories).to_list()
    assert found[0] == found[1] == ["noise_laeq"]
    assert "pm25" in found[2] and "pm25" in found[3] and "pm25" in found[5]
    assert found[4] == ["pm10", "pm25"] and found[6] is None and found[7] is None


def test_haversine_matches_a_known_distance() -> None:
    frame = pl.DataFrame({"a": [0.0], "b": [0.0], "c": [1.0], "d": [0.0]})
    metres = frame.select(haversine_m(pl.col("a"), pl.col("b"), pl.col("c"), pl.col("d"))).item()
    assert metres == pytest.approx(111_195, rel=1e-3)


def test_standard_thresholds_come_from_the_standards_table() -> None:
    limits = standard_thresholds()
    assert limits["pm25"] == 15 and limits["pm10"] == 45 and limits["no2"] == 200
    assert limits["noise_laeq"] == 55


def test_corroborated_far_clean_no_data_and_unlocated() -> None:
    pm25 = [8.0] * 10 + [40.0, 42.0] + [8.0] * 6  # episode 2 h before T0 at S1
    data = hourly({("S1", "pm25"): pm25, ("S1", "noise_laeq"): [50.0] * 18})
    frame = request_sensor_context(requests(
        request("near", "air_quality"), request("far", "Air Quality", north_m=5_000),
        request("quiet", "noise"), request("later", "air_quality", at=T0 + timedelta(days=2)),
        request("nowhere", "odor", lat=None), request("pothole", "road_damage")), stations(), data)
    rows = by_id(frame)
    assert set(rows) == {"near", "far", "quiet", "later", "nowhere"}
    assert rows["near"]["corroborated"] and rows["near"]["reason"] is None
    assert rows["near"]["parameter"] == "pm25" and rows["near"]["anomaly_value"] == 42.0
    assert rows["near"]["threshold"] == 15.0 and rows["near"]["anomaly_station_id"] == "S1"
    assert rows["near"]["anomaly_hour"] == T0 - timedelta(hours=1)
    assert rows["near"]["nearest_station_id"] == "S1" and rows["near"]["distance_m"] == pytest.approx(100, abs=1)
    assert rows["near"]["stations_in_range"] == 1
    assert rows["far"]["reason"] == cx.ContextReason.NO_STATION_IN_RANGE and rows["far"]["stations_in_range"] == 0
    assert rows["far"]["distance_m"] == pytest.approx(5_000, rel=0.01)
    assert rows["quiet"]["reason"] == cx.ContextReason.NO_ANOMALY and not rows["quiet"]["corroborated"]
    assert rows["later"]["reason"] == cx.ContextReason.NO_SENSOR_DATA
    assert rows["nowhere"]["reason"] == cx.ContextReason.NO_LOCATION
    assert frame.columns == list(cx.CONTEXT_COLUMNS)


def test_window_and_distance_are_configurable() -> None:
    pm25 = [40.0] + [8.0] * 17  # the only anomaly 12 h before T0
    data = hourly({("S1", "pm25"): pm25})
    reqs = requests(request("r", "dust", north_m=2_500))
    assert request_sensor_context(reqs, stations(), data)["reason"].item() == cx.ContextReason.NO_STATION_IN_RANGE
    wide = ContextSettings(distance_m=3_000, hours_before=12, chunk=1)
    assert request_sensor_context(reqs, stations(), data, wide)["corroborated"].item()
    narrow = ContextSettings(distance_m=3_000)
    assert request_sensor_context(reqs, stations(), data, narrow)["reason"].item() == cx.ContextReason.NO_ANOMALY


def test_invalid_hours_are_no_data_and_chunks_give_the_same_rows() -> None:
    data = hourly({("S1", "pm25"): [40.0] * 18}).with_columns(pl.lit(False).alias("valid"))
    rows = requests(*[request(f"r{i}", "smell", north_m=10 * i) for i in range(7)])
    frame = request_sensor_context(rows, stations(), data)
    assert set(frame["reason"]) == {cx.ContextReason.NO_SENSOR_DATA}
    valid = data.with_columns(pl.lit(True).alias("valid"))
    whole = request_sensor_context(rows, stations(), valid)
    assert whole.equals(request_sensor_context(rows, stations(), valid, ContextSettings(chunk=3)))
    assert whole["corroborated"].all()


def test_station_relative_rule_uses_the_trailing_p95() -> None:
    start = T0 - timedelta(days=10)
    series = [10.0 + (i % 5) for i in range(240)]  # 10..14 for ten days
    series[-1] = 13.0  # the hour before T0: inside the usual range
    data = hourly({("S1", "pm25"): series}, start=start)
    reqs = requests(request("r", "air_quality"))
    p95 = ContextSettings(rule=cx.AnomalyRule.STATION_P95)
    assert request_sensor_context(reqs, stations(), data, p95)["reason"].item() == cx.ContextReason.NO_ANOMALY
    series[-1] = 14.5  # above everything the station saw: an anomaly for it, below the WHO value
    data = hourly({("S1", "pm25"): series}, start=start)
    row = request_sensor_context(reqs, stations(), data, p95).row(0, named=True)
    assert row["corroborated"] and row["threshold"] == pytest.approx(14.0)
    assert row["anomaly_rule"] == cx.AnomalyRule.STATION_P95
    assert not request_sensor_context(reqs, stations(), data)["corroborated"].item()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="anomaly rule"):
        ContextSettings(rule="zscore")
