"""Live sensors end to end: observations landed in segments, committed by the stream of sensors,
give the hourly figures a direct polars computation gives; late data refused, repeated
observations replacing, alerts once per day, exactly once on re-runs and after a failed commit."""

from __future__ import annotations

import argparse
from contextlib import closing
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from conftest import build_tiny_pack

from flows import cli_live, cli_live_sensors
from pipelines.stream_sensors import SensorSettings, catch_up, encoded, land_observations
from plumbing.live_store import sensors as st
from plumbing.live_store import writer_sensors
from plumbing.live_store.reader import LiveStoreReader
from plumbing.workspace import Workspace
from schemas import live_sensors as ls

CITY = "tiny"
SOURCE = "city-air"
START = datetime(2026, 3, 1, tzinfo=UTC)
HOURS = 30
SERIES = {("s1", "pm25"): 8.0, ("s1", "no2"): 60.0, ("s2", "pm25"): 30.0, ("s2", "temperature"): 4.0}


def observations(seed: int = 3) -> list[dict]:
    """Four series at 15-minute periods over 30 hours: s1's no2 above 200 in hour 20, s2's pm25
    well above 15 all day, a few negative pm25 values and three rows the stream refuses."""
    rng = np.random.default_rng(seed)
    rows = []
    for quarter in range(HOURS * 4):
        at = START + timedelta(minutes=15 * quarter)
        for (station, parameter), level in SERIES.items():
            value = float(level + rng.normal(0, 2))
            if parameter == "no2" and quarter // 4 == 20:
                value += 250
            if parameter == "pm25" and quarter % 37 == 5:
                value = -3.0
            rows.append({"station_id": station, "parameter": parameter, "value": round(value, 3),
                         "observed_at": at.isoformat().replace("+00:00", "Z"), "period_hours": 0.25})
    bad = [{"station_id": "s1", "parameter": "xyz", "value": 1, "observed_at": "2026-03-01T00:00:00Z"},
           {"station_id": "s1", "parameter": "pm25", "value": "n/a", "observed_at": "2026-03-01T00:00:00Z"},
           {"station_id": "s1", "parameter": "pm25", "value": 3, "observed_at": "yesterday"}]
    return rows + bad


def land(settings: SensorSettings, rows: list[dict], size: int, source: str = SOURCE) -> list[int]:
    return [seq for start in range(0, len(rows), size)
            for seq in land_observations(settings, source, [encoded(rows[start:start + size])], "test")]


def expected_hourly(rows: list[dict]) -> pl.DataFrame:
    """The hours computed directly: negative pm25 left out, non-numeric and unknown rows dropped."""
    frame = pl.DataFrame(rows[:-3]).with_columns(
        pl.col("observed_at").str.to_datetime(time_zone="UTC").dt.truncate("1h").alias("period_start"))
    kept = frame.filter((pl.col("value") >= 0) | (pl.col("parameter") == "temperature"))
    return (kept.group_by("station_id", "parameter", "period_start")
            .agg(pl.col("value").mean().alias("mean"), pl.col("value").min().alias("min"),
                 pl.col("value").max().alias("max"), pl.len().cast(pl.Int64).alias("count"))
            .sort("station_id", "parameter", "period_start"))


def stored_hourly(workspace: Workspace, station: str | None = None) -> pl.DataFrame:
    with closing(LiveStoreReader.open(workspace.live_store(CITY))) as reader:
        rows = [h | {"station_id": s, "parameter": p}
                for s in st.station_ids(reader.db) if station in (None, s)
                for p in st.parameters_of(reader.db, s) for h in st.hourly(reader.db, s, p, START - timedelta(days=9))]
    frame = pl.DataFrame(rows).with_columns(pl.col("period_start").str.to_datetime(time_zone="UTC"))
    return frame.select("station_id", "parameter", "period_start", "mean", "min", "max", "count").sort(
        "station_id", "parameter", "period_start")


def dead(workspace: Workspace) -> dict[str, int]:
    with closing(LiveStoreReader.open(workspace.live_store(CITY))) as reader:
        return st.dead_letter_counts(reader.db)


def alerts(workspace: Workspace) -> list[dict]:
    with closing(LiveStoreReader.open(workspace.live_store(CITY))) as reader:
        return st.alerts(reader.db, None, 1000)


@pytest.fixture(scope="module")
def air(tmp_path_factory):
    home = tmp_path_factory.mktemp("live-sensors")
    build_tiny_pack(home)
    workspace = Workspace(home)
    settings = SensorSettings(workspace, CITY)
    rows = observations()
    segments = land(settings, rows, 97)
    report = catch_up(settings)
    return {"workspace": workspace, "settings": settings, "rows": rows, "segments": segments, "report": report}


def test_hourly_figures_equal_a_direct_computation(air) -> None:
    assert len(air["segments"]) == 5 and air["report"].counters["records_in"] == len(air["rows"])
    assert air["report"].offsets == {SOURCE: 5}
    live = stored_hourly(air["workspace"]).filter(pl.col("station_id").is_in(["s1", "s2"]))
    expected = expected_hourly(air["rows"])
    assert live.height == expected.height == len(SERIES) * HOURS
    assert live.select("station_id", "parameter", "period_start", "count").equals(
        expected.select("station_id", "parameter", "period_start", "count"))
    for column in ("mean", "min", "max"):
        assert (live[column] - expected[column]).abs().max() < 1e-9
    assert dead(air["workspace"]) == {"non_numeric_value": 1, "unknown_parameter": 1, "unparseable_observed_at": 1}


def test_latest_reading_per_station_and_parameter_with_its_band(air) -> None:
    with closing(LiveStoreReader.open(air["workspace"].live_store(CITY))) as reader:
        by_id = {s["station_id"]: s for s in st.stations(reader.db)}
    last = START + timedelta(minutes=15 * (HOURS * 4 - 1))
    assert set(by_id["s2"]["latest"]) == {"pm25", "temperature"}
    pm25 = by_id["s2"]["latest"]["pm25"]
    assert pm25["period_start"] == last.isoformat() and pm25["band"] in ("moderate", "poor", "fair")
    assert by_id["s2"]["latest"]["temperature"]["band"] is None


def test_alerts_once_per_station_parameter_standard_and_day(air) -> None:
    found = {(a["station_id"], a["parameter"], a["standard"], a["day"], a["averaging"]) for a in alerts(air["workspace"])}
    # tiny's time zone is Europe/Moscow (UTC+3): the 30 hours span two local days
    assert ("s1", "no2", "EU 2008/50/EC", "2026-03-01", "hour") in found
    assert {a[:4] for a in found if a[1] == "pm25"} == {("s2", "pm25", "WHO 2021", d) for d in ("2026-03-01", "2026-03-02")}
    assert len(found) == 3


def test_data_older_than_the_allowed_lateness_is_refused(air) -> None:
    settings, workspace = air["settings"], air["workspace"]
    newest = START + timedelta(hours=40)
    land(settings, [{"station_id": "late", "parameter": "no2", "value": 10, "observed_at": newest.isoformat()}], 10)
    before = dead(workspace).get("too_late", 0)
    land(settings, [{"station_id": "late", "parameter": "no2", "value": v, "observed_at": (newest - timedelta(hours=h)).isoformat()}
                    for v, h in ((99, 7), (20, 5))], 10)
    catch_up(settings)
    assert dead(workspace)["too_late"] == before + 1
    hours = stored_hourly(workspace, "late")
    assert hours["period_start"].to_list() == [newest - timedelta(hours=5), newest] and hours["mean"].to_list() == [20, 10]


def test_a_repeated_observation_replaces_the_earlier_one(air) -> None:
    settings, workspace = air["settings"], air["workspace"]
    at = [(START + timedelta(hours=50, minutes=m)).isoformat() for m in (0, 20, 40)]
    land(settings, [{"station_id": "rep", "parameter": "pm10", "value": v, "observed_at": t} for v, t in zip((10, 20, 30), at)], 10)
    catch_up(settings)
    land(settings, [{"station_id": "rep", "parameter": "pm10", "value": 90, "observed_at": at[1]},
                    {"station_id": "rep", "parameter": "pm10", "value": 50, "observed_at": at[2]},
                    {"station_id": "rep", "parameter": "pm10", "value": 5, "observed_at": at[2]}], 10)
    catch_up(settings)
    (hour,) = stored_hourly(workspace, "rep").iter_rows(named=True)
    assert (hour["count"], hour["mean"], hour["min"], hour["max"]) == (3, 35.0, 5.0, 90.0)
    with closing(LiveStoreReader.open(workspace.live_store(CITY))) as reader:
        replaced = reader.db.execute(f"SELECT replaced FROM {ls.SEGMENTS_TABLE.name} ORDER BY landed_at DESC").fetchone()
    assert replaced == (3,)  # two stored ones, one within the segment


def test_running_again_over_the_same_segments_changes_nothing(air) -> None:
    workspace = air["workspace"]
    before, dead_before, alerts_before = stored_hourly(workspace), dead(workspace), alerts(workspace)
    report = catch_up(air["settings"], from_seq=0)
    assert report.counters["records_in"] == 0 and report.counters["records_out"] == 0
    assert stored_hourly(workspace).equals(before) and dead(workspace) == dead_before and alerts(workspace) == alerts_before


def test_a_commit_that_fails_leaves_nothing_and_the_next_run_commits_it_once(air, monkeypatch) -> None:
    settings, workspace = air["settings"], air["workspace"]
    at = START + timedelta(hours=60)
    for part in range(3):
        land(settings, [{"station_id": "fail", "parameter": "so2", "value": 10 * (part + 1),
                         "observed_at": (at + timedelta(minutes=part)).isoformat()}], 10, "other-air")
    real, calls = writer_sensors._write_change, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second segment's transaction, after its figures were written
            raise OSError("disk went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(writer_sensors, "_write_change", failing)
    with pytest.raises(Exception, match="disk went away"):
        catch_up(settings)
    assert stored_hourly(workspace, "fail")["count"].to_list() == [1]
    monkeypatch.setattr(writer_sensors, "_write_change", real)
    catch_up(settings)
    (hour,) = stored_hourly(workspace, "fail").iter_rows(named=True)
    assert (hour["count"], hour["mean"]) == (3, 20.0)


def test_the_commands_land_a_file_and_stream_it_to_the_end(tmp_path, capsys) -> None:
    build_tiny_pack(tmp_path)
    (tmp_path / "obs.jsonl").write_text(
        '{"station_id": "c1", "parameter": "no2", "value": 40, "observed_at": "2026-03-01T10:00:00Z"}\n'
        '{"station_id": "c1", "parameter": "no2", "value": 50, "observed_at": "2026-03-01T10:30:00Z"}\nnot json\n',
        encoding="utf-8")
    parser = argparse.ArgumentParser()
    commands, groups = parser.add_subparsers(dest="command"), {}
    cli_live.register(commands, groups)
    cli_live_sensors.register(commands, groups)
    workspace = Workspace(tmp_path)
    for argv in (["land", "sensors", str(tmp_path / "obs.jsonl"), "--city", CITY, "--source", "files"],
                 ["stream", "sensors", "--city", CITY, "--to-end"]):
        args, extra = parser.parse_known_args(argv)
        assert args.handler(args, extra, workspace) == 0
    assert "observations in 3: accepted 2, dead letters 1" in capsys.readouterr().out
    (hour,) = stored_hourly(workspace).iter_rows(named=True)
    assert (hour["count"], hour["mean"]) == (2, 45.0) and dead(workspace) == {"unreadable_row": 1}
