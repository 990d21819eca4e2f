"""The batch pipeline end to end on messy input: accounting, idempotence, readable datasets."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.dataset as pads
import pytest
from messy_requests import HEADER, MESSY_ROWS, write_messy_csv

from models.cities.pack import CityPack
from pipelines import batch_runs, ingest_requests
from plumbing.workspace import Workspace
from schemas import aggregates as ag
from schemas import datasets as ds
from schemas import dead_letters as dl
from schemas import requests as rq


@pytest.fixture()
def workspace(tmp_path: Path, tiny_pack: CityPack) -> Workspace:
    return Workspace(tmp_path)


def ingest(workspace: Workspace, *paths: Path) -> batch_runs.IngestReport:
    argv = [f"--input={p}" for p in paths] + ["--city=tiny", "--format=csv", f"--home={workspace.root}"]
    return ingest_requests.run(argv)


def published(workspace: Workspace) -> pl.DataFrame:
    return pl.scan_parquet(workspace.requests_dataset / "**" / "*.parquet", hive_partitioning=True).collect()


def test_every_record_is_accounted_for(workspace: Workspace, tmp_path: Path):
    report = ingest(workspace, write_messy_csv(tmp_path / "messy.csv"))
    assert report.records_in == len(MESSY_ROWS)
    assert report.dead_letters == 3
    assert report.records_out == 7
    assert report.accounting_ok
    assert report.counters["versions_superseded"] == 1

    requests = published(workspace).sort(rq.SERVICE_REQUEST_ID)
    assert requests[rq.SERVICE_REQUEST_ID].to_list() == ["r1", "r2", "r3", "r4", "r5", "r9"]
    by_id = {row[rq.SERVICE_REQUEST_ID]: row for row in requests.iter_rows(named=True)}
    assert by_id["r1"][rq.STATUS] == "closed" and by_id["r1"][rq.DISTRICT_ID] == "N1"
    assert by_id["r2"][rq.DESCRIPTION] == "Loud music at night second line of the text"
    assert by_id["r2"][rq.DISTRICT_ID] == "S1" and by_id["r2"][rq.PARENT_NAME] == "South"
    assert by_id["r3"][rq.GEOCODE_ISSUE] == rq.GeocodeIssue.NULL_ISLAND
    assert by_id["r3"][rq.HOURS_TO_CLOSE] is None
    assert by_id["r4"][rq.GEOCODE_ISSUE] == rq.GeocodeIssue.MISSING
    assert by_id["r5"][rq.GEOCODE_ISSUE] == rq.GeocodeIssue.OUT_OF_RANGE
    assert by_id["r9"][rq.HOURS_TO_CLOSE] == 5.0 and by_id["r9"][rq.CLOSED_WITHIN_SLA] is True
    assert str(by_id["r2"][rq.REQUEST_DATE]) == "2026-10-02"  # 00:30 in Moscow

    dead = pl.scan_parquet(workspace.dead_letters_dataset / "**" / "*.parquet", hive_partitioning=True).collect()
    assert sorted(dead[dl.REASON].to_list()) == sorted(
        [dl.Reason.MISSING_ID, dl.Reason.MISSING_REQUESTED, dl.Reason.BAD_TIMESTAMP]
    )
    assert sorted(dead[rq.SOURCE_POSITION].to_list()) == [6, 7, 8]


def test_reingest_and_overlapping_files_keep_one_copy(workspace: Workspace, tmp_path: Path):
    messy = write_messy_csv(tmp_path / "messy.csv")
    ingest(workspace, messy)
    first = published(workspace).drop(rq.INGESTED_AT).sort(rq.SERVICE_REQUEST_ID)
    daily_first = pl.read_parquet(workspace.request_daily_dataset)
    second_report = ingest(workspace, messy)
    second = published(workspace).drop(rq.INGESTED_AT).sort(rq.SERVICE_REQUEST_ID)
    assert second_report.accounting_ok
    assert second.equals(first)
    assert pl.read_parquet(workspace.request_daily_dataset).equals(daily_first)
    dead = pl.scan_parquet(workspace.dead_letters_dataset / "**" / "*.parquet").collect()
    assert dead.height == 3

    update = tmp_path / "update.csv"
    with open(update, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerow(["r2", "closed", "Loud music", "noise", "2026-10-01T21:30:00Z", "2026-10-02T09:00:00Z",
                         "2026-10-02T09:00:00Z", "", "55.05", "37.05"])
    ingest(workspace, update)
    after = published(workspace)
    assert after.height == first.height
    assert after.filter(pl.col(rq.SERVICE_REQUEST_ID) == "r2")[rq.STATUS].to_list() == ["closed"]


def test_datasets_are_readable_by_polars_duckdb_and_pyarrow(workspace: Workspace, tmp_path: Path):
    ingest(workspace, write_messy_csv(tmp_path / "messy.csv"))
    root = workspace.requests_dataset
    polars_rows = pl.scan_parquet(root / "**" / "*.parquet", hive_partitioning=True).collect()
    duck = duckdb.sql(
        f"SELECT count(*), count(DISTINCT date), min(city) FROM read_parquet('{root}/**/*.parquet', hive_partitioning=true)"
    ).fetchall()[0]
    arrow_count = pads.dataset(root, format="parquet", partitioning="hive").count_rows()
    assert polars_rows.height == duck[0] == arrow_count == 6
    assert set(polars_rows[ds.CITY_PARTITION].to_list()) == {duck[2]} == {"tiny"}  # cities are partitions
    assert f"`{rq.GEOCODE_ISSUE}`" in (workspace.datasets / "DATA_DICTIONARY.md").read_text()
    assert duck[1] == 3
    daily = pl.read_parquet(workspace.request_daily_dataset / "city=tiny" / "part-0.parquet")
    assert daily[ag.NEW].sum() == 6
    n1 = daily.filter(pl.col(rq.DISTRICT_ID) == "N1").sort(ag.DAY)
    assert n1[ag.BACKLOG].to_list()[-1] == 0


def test_accounting_failure_is_loud(workspace: Workspace, tmp_path: Path, monkeypatch):
    from pipelines.transforms.requests import validate
    original = validate.validate_frame

    def lose_one(raw, now, *rest):
        valid, dead = original(raw, now, *rest)
        return valid.head(valid.height - 1), dead

    monkeypatch.setattr(validate, "validate_frame", lose_one)
    with pytest.raises(batch_runs.AccountingError, match="records_in=10"):
        ingest(workspace, write_messy_csv(tmp_path / "messy.csv"))


def test_leftovers_of_a_crashed_run_are_swept(workspace: Workspace, tmp_path: Path):
    """A dead run's working tree (it never committed) goes as soon as the next writer of the city
    holds its lock, whatever its age; another city's tree stays (its run may be going)."""
    stale = workspace.snapshots / ".work" / "tiny" / "crashed-run" / "requests" / "city=tiny" / ".staging"
    stale.mkdir(parents=True)
    (stale / "fragment.arrow").write_bytes(b"half a batch")
    other = workspace.snapshots / ".work" / "nyc" / "running" / "requests"
    other.mkdir(parents=True)
    report = ingest(workspace, write_messy_csv(tmp_path / "messy.csv"))
    assert report.accounting_ok
    assert not (workspace.snapshots / ".work" / "tiny").exists()
    assert other.exists()
    assert published(workspace).height == 6


def test_dates_outside_years_1_to_9999_are_dead_letters_not_an_aborted_run(workspace: Workspace, tmp_path: Path):
    """Regression (parsing probe): one record at 9999-12-31T23:30:00-05:00 (year 10000 in UTC)
    aborted the whole run. Now it is a dead letter with its reason; out-of-range optional times
    are nulls with a flag."""
    path = tmp_path / "extreme.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([rq.SERVICE_REQUEST_ID, rq.REQUESTED_DATETIME, rq.CLOSED_DATETIME, rq.LAT, rq.LONG])
        writer.writerow(["ok", "2026-10-01T08:00:00Z", "9999-12-31T23:59:59Z", "55.15", "37.05"])
        writer.writerow(["late", "9999-12-31T23:30:00-05:00", "", "55.15", "37.05"])
        writer.writerow(["early", "0001-01-01T00:00:00+14:00", "", "55.15", "37.05"])
        writer.writerow(["local", "9999-12-31T22:00:00Z", "", "55.15", "37.05"])  # 10000-01-01 in Moscow
    report = ingest(workspace, path)
    assert report.accounting_ok and (report.records_in, report.records_out, report.dead_letters) == (4, 1, 3)
    dead = pl.scan_parquet(workspace.dead_letters_dataset / "**" / "*.parquet", hive_partitioning=True).collect()
    assert dead[dl.REASON].to_list() == [dl.Reason.REQUESTED_OUT_OF_RANGE] * 3
    ok = published(workspace).row(0, named=True)
    assert ok[rq.CLOSED_DATETIME] is None and "out_of_range_closed_datetime" in ok[rq.QUALITY_FLAGS]
