"""MergeRequestsIntoDataset and merge_partitions: the request dataset is an upsert by id, one row per id."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import apache_beam as beam
import polars as pl
import pyarrow.parquet as pq
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from conftest import enriched_frame
from polars.testing import assert_frame_equal

import pipelines.sinks.requests.dataset as dataset_module
from pipelines.sinks.requests.dataset import (
    MONTHS,
    ROWS,
    MergeRequestsIntoDataset,
    merge_partitions,
    partition_path,
    published_partitions,
    published_requests,
    read_partition,
    reconcile_request_ids,
)
from plumbing.atomic import staging_dir
from schemas import requests as rq

INGESTED = datetime(2026, 11, 1, tzinfo=UTC)


def request(rid: str, day: str = "2026-10-01", status: str = rq.Status.OPEN, updated_hours: int = 1,
            position: int = 0, **extra) -> dict:
    """One enriched request made at 08:00 UTC of `day`, this version updated `updated_hours` later."""
    requested = datetime.fromisoformat(f"{day}T08:00:00+00:00")
    return {
        rq.SERVICE_REQUEST_ID: rid, rq.STATUS: status, rq.DESCRIPTION: f"request {rid}",
        rq.REQUESTED_DATETIME: requested, rq.UPDATED_DATETIME: requested + timedelta(hours=updated_hours),
        rq.SOURCE: "test", rq.SOURCE_FILE: "inline.csv", rq.SOURCE_POSITION: position,
        rq.QUALITY_FLAGS: [], rq.INGESTED_AT: INGESTED, rq.SCHEMA_VERSION_COLUMN: rq.SCHEMA_VERSION,
        rq.REQUEST_DATE: date.fromisoformat(day), rq.REPORT_CLUSTER_ID: rid, **extra,
    }


def merge(dataset: Path, frames: list[pl.DataFrame], run_id: str, dates: list[str]) -> dict[str, int]:
    """Run MergeRequestsIntoDataset over `frames` on FnApiRunner; check the published dates; counters."""
    pipeline = TestPipeline(runner=FnApiRunner())
    merged = pipeline | "Frames" >> beam.Create(frames) | MergeRequestsIntoDataset(dataset, run_id)
    assert_that(merged[ROWS] | beam.combiners.Count.Globally(), equal_to([1]))  # one count, after everything
    months = sorted({f"{day:%Y-%m}" for frame in frames for day in frame[rq.REQUEST_DATE]})
    assert_that(merged[MONTHS], equal_to(months), label="MonthsMerged")
    result = pipeline.run()
    result.wait_until_finish()
    assert [p.parent.name.split("=", 1)[1] for p in published_partitions(dataset)] == dates
    counters = result.metrics().query(MetricsFilter().with_namespace("urbanpulse"))["counters"]
    counts: dict[str, int] = {}
    for counter in counters:  # a counter of one name may come from several steps
        counts[counter.key.metric.name] = counts.get(counter.key.metric.name, 0) + counter.committed
    assert counts["request_rows_published"] == published(dataset).height
    return counts


def published(dataset: Path) -> pl.DataFrame:
    """The whole dataset, columns in schema order, by id."""
    return pl.concat(list(published_requests(dataset))).select(rq.ENRICHED_REQUEST.names).sort(rq.SERVICE_REQUEST_ID)


def no_staged_fragments(dataset: Path) -> bool:
    return not list(staging_dir(dataset).rglob("*.arrow"))


@pytest.mark.parametrize("runs", [1, 2], ids=["twice-in-one-run", "once-in-each-of-two-runs"])
def test_same_rows_ingested_twice_leave_one_row_per_id(tmp_path: Path, runs: int) -> None:
    dataset = tmp_path / "datasets" / "requests"
    rows = enriched_frame([request("A", position=0), request("B", position=1), request("C", position=2)])
    if runs == 1:
        merge(dataset, [rows, rows], "one", ["2026-10-01"])
    else:
        merge(dataset, [rows], "first", ["2026-10-01"])
        merge(dataset, [rows], "second", ["2026-10-01"])
    assert_frame_equal(published(dataset), rows.sort(rq.SERVICE_REQUEST_ID))
    assert no_staged_fragments(dataset)


@pytest.mark.parametrize("newer_first", [False, True], ids=["older-then-newer", "newer-then-older"])
def test_a_newer_version_supersedes_an_older_one(tmp_path: Path, newer_first: bool) -> None:
    """Whichever run brings it, the version updated last wins; the other one is counted superseded."""
    dataset = tmp_path / "datasets" / "requests"
    older = enriched_frame([request("A", updated_hours=1, position=0), request("B", position=1)])
    newer = enriched_frame([request("A", status=rq.Status.CLOSED, updated_hours=30, position=7,
                                    **{rq.CLOSED_DATETIME: datetime(2026, 10, 2, 13, tzinfo=UTC)})])
    first, second = (newer, older) if newer_first else (older, newer)
    merge(dataset, [first], "first", ["2026-10-01"])
    counters = merge(dataset, [second], "second", ["2026-10-01"])
    expected = pl.concat([newer, older.filter(pl.col(rq.SERVICE_REQUEST_ID) == "B")])
    assert_frame_equal(published(dataset), expected)
    assert counters["versions_superseded"] == 1
    assert counters["request_rows_published"] == 2
    assert counters["records_out"] == second.height


def test_rows_are_partitioned_by_request_date(tmp_path: Path) -> None:
    dataset = tmp_path / "datasets" / "requests"
    spanning = enriched_frame([request("A", "2026-10-01"), request("B", "2026-10-02", position=1)])
    later = enriched_frame([request("C", "2026-10-03", position=2), request("D", "2026-10-01", position=3)])
    merge(dataset, [spanning, later], "run", ["2026-10-01", "2026-10-02", "2026-10-03"])
    assert published_partitions(dataset) == [
        partition_path(dataset, day) for day in ("2026-10-01", "2026-10-02", "2026-10-03")
    ]
    everything = pl.concat([spanning, later])
    for path in published_partitions(dataset):
        partition = read_partition(path).select(rq.ENRICHED_REQUEST.names).sort(rq.SERVICE_REQUEST_ID)
        day = date.fromisoformat(path.parent.name.split("=", 1)[1])
        assert_frame_equal(partition, everything.filter(pl.col(rq.REQUEST_DATE) == day).sort(rq.SERVICE_REQUEST_ID))
    assert no_staged_fragments(dataset)


def test_merge_partitions_upserts_into_the_published_partition(tmp_path: Path) -> None:
    dataset = tmp_path / "datasets" / "requests"
    first = enriched_frame([request("A", position=0), request("B", position=1)])
    merged = merge_partitions(dataset, first)
    assert merged.before == 2 and merged.rows.height == 2
    update = enriched_frame([request("A", status=rq.Status.CLOSED, updated_hours=5, position=4),
                             request("C", position=5)])
    merged = merge_partitions(dataset, update)
    assert merged.before == 4  # two published + two incoming, before deduplication
    expected = pl.concat([update.head(1), first.tail(1), update.tail(1)])
    assert_frame_equal(merged.rows.select(rq.ENRICHED_REQUEST.names).sort(rq.SERVICE_REQUEST_ID), expected)
    assert_frame_equal(published(dataset), expected)
    assert published_partitions(dataset) == [partition_path(dataset, "2026-10-01")]
    assert not list(staging_dir(dataset).glob("*.tmp"))  # written through a temp file, renamed


def test_an_id_sent_again_with_another_date_moves_to_it(tmp_path: Path) -> None:
    """One row per request id across all dates: the latest version's date wins, in any order."""
    dataset = tmp_path / "datasets" / "requests"
    merge(dataset, [enriched_frame([request("A", "2026-10-01"), request("B", "2026-10-01", position=1)])],
          "first", ["2026-10-01"])
    moved = enriched_frame([request("A", "2026-11-20", updated_hours=2, position=2)])
    counters = merge(dataset, [moved], "second", ["2026-10-01", "2026-11-20"])
    rows = published(dataset)
    assert rows[rq.SERVICE_REQUEST_ID].to_list() == ["A", "B"]
    assert rows.filter(pl.col(rq.SERVICE_REQUEST_ID) == "A")[rq.REQUEST_DATE].to_list() == [date(2026, 11, 20)]
    assert counters["versions_superseded"] == 1 and counters["request_rows_published"] == 2
    # an older version arriving later with yet another date does not move it back
    stale = enriched_frame([request("A", "2026-09-01", updated_hours=-2000, position=3)])
    merge(dataset, [stale], "third", ["2026-10-01", "2026-11-20"])
    assert published(dataset).filter(pl.col(rq.SERVICE_REQUEST_ID) == "A")[rq.REQUEST_DATE].to_list() == [
        date(2026, 11, 20)]


def test_reconciling_named_ids_moves_only_those_and_counts_the_whole_dataset(tmp_path: Path) -> None:
    """The live publisher names the ids of its hand-over: they move to their latest date, an id it
    does not name stays where it is (the batch path reconciles everything), and the row count is
    the dataset's, not the hand-over's."""
    dataset = tmp_path / "datasets" / "requests"
    merge_partitions(dataset, enriched_frame([request("A", "2026-10-01"), request("B", "2026-10-01", position=1),
                                              request("C", "2026-10-01", position=2)]))
    merge_partitions(dataset, enriched_frame([request("A", "2026-10-05", updated_hours=3, position=3),
                                              request("B", "2026-10-05", updated_hours=3, position=4)]))
    reconciled = reconcile_request_ids(dataset, pl.Series(rq.SERVICE_REQUEST_ID, ["A", "A"]))
    assert (reconciled.removed, reconciled.rows, reconciled.days) == (1, 4, [date(2026, 10, 1)])
    on = published(dataset).select(rq.SERVICE_REQUEST_ID, rq.REQUEST_DATE).rows()
    assert sorted(on) == [("A", date(2026, 10, 5)), ("B", date(2026, 10, 1)), ("B", date(2026, 10, 5)),
                          ("C", date(2026, 10, 1))]
    assert reconcile_request_ids(dataset) == (1, 3, [date(2026, 10, 1)])


def test_a_date_left_without_rows_disappears(tmp_path: Path) -> None:
    dataset = tmp_path / "datasets" / "requests"
    merge(dataset, [enriched_frame([request("A", "2026-10-01")])], "first", ["2026-10-01"])
    merge(dataset, [enriched_frame([request("A", "2026-10-02", updated_hours=5)])], "second", ["2026-10-02"])
    assert not (dataset / f"{rq.REQUEST_PARTITION}=2026-10-01").exists()


def test_a_busy_month_is_merged_a_few_days_at_a_time(monkeypatch) -> None:
    from pipelines.sinks.requests import dataset

    monkeypatch.setattr(dataset, "ROWS_PER_MERGE", 100)
    days = [date(2026, 10, d) for d in range(1, 6)]
    counts = pl.DataFrame({rq.REQUEST_PARTITION: days, "len": [60, 30, 150, 10, 10]})
    assert dataset._day_groups(counts) == [days[:2], days[2:3], days[3:]]


def reported(rid: str, when: str, metres_north: float = 0.0, **extra) -> dict:
    """A pothole report placed in the city at `when` (UTC), `metres_north` of a fixed point."""
    requested = datetime.fromisoformat(f"{when}+00:00")
    return request(rid, when[:10], **{
        rq.REQUESTED_DATETIME: requested, rq.UPDATED_DATETIME: requested, rq.CATEGORY: "road_damage",
        rq.H3_CELL: "89abc", rq.LAT: 55.75 + metres_north / 111_000, rq.LONG: 37.6, **extra})


MIDNIGHT_RUNS = {
    "one-run-across-a-month-boundary": [["A", "B", "C", "D"]],
    "later-date-first": [["B", "C", "D"], ["A"]],
    "earlier-date-first": [["A"], ["B", "C", "D"]],
}


@pytest.mark.parametrize("runs", MIDNIGHT_RUNS.values(), ids=MIDNIGHT_RUNS.keys())
def test_a_repeat_across_midnight_is_linked_whichever_date_arrives_first(tmp_path: Path, runs: list[list[str]]) -> None:
    """B (00:50 on 1 November) repeats A (23:30 on 31 October, another month as well as another
    date), D repeats B; C is a pothole 400 m away. Months merge in any order and a late file may
    bring the earlier date after the later one: the links come out the same."""
    reports = {
        "A": reported("A", "2026-10-31T23:30:00"),
        "B": reported("B", "2026-11-01T00:50:00", 25),
        "C": reported("C", "2026-11-01T01:00:00", 400),
        "D": reported("D", "2026-11-01T06:00:00", 10),
    }
    dataset = tmp_path / "datasets" / "requests"
    for n, ids in enumerate(runs):
        dates = sorted({d for run in runs[:n + 1] for d in (reports[i][rq.REQUEST_DATE].isoformat() for i in run)})
        merge(dataset, [enriched_frame([reports[i] for i in ids])], f"run{n}", dates)
    rows = published(dataset)
    assert dict(rows.select(rq.SERVICE_REQUEST_ID, rq.DUPLICATE_OF).iter_rows()) == {
        "A": None, "B": "A", "C": None, "D": "A"}
    assert dict(rows.select(rq.SERVICE_REQUEST_ID, rq.REPORT_CLUSTER_ID).iter_rows()) == {
        "A": "A", "B": "A", "C": "C", "D": "A"}


def test_a_later_date_is_relinked_when_its_earlier_neighbour_loses_a_report(tmp_path: Path) -> None:
    """A moves to another date (a re-sent version with a corrected time): B, which repeated it
    across midnight, becomes a first report again, and the dataset says so."""
    dataset = tmp_path / "datasets" / "requests"
    merge(dataset, [enriched_frame([reported("A", "2026-10-14T23:30:00"), reported("B", "2026-10-15T01:00:00", 20)])],
          "first", ["2026-10-14", "2026-10-15"])
    assert published(dataset)[rq.DUPLICATE_OF].to_list() == [None, "A"]
    moved = reported("A", "2026-10-20T09:00:00", **{rq.UPDATED_DATETIME: datetime(2026, 10, 21, tzinfo=UTC)})
    merge(dataset, [enriched_frame([moved])], "second", ["2026-10-15", "2026-10-20"])
    assert published(dataset)[rq.DUPLICATE_OF].to_list() == [None, None]


def test_a_partition_from_before_report_clusters_reads_with_them(tmp_path: Path) -> None:
    """Partitions written before `report_cluster_id` existed read with it: the first report's id."""
    dataset = tmp_path / "datasets" / "requests"
    merge(dataset, [enriched_frame([reported("A", "2026-10-14T08:00:00"), reported("B", "2026-10-14T09:00:00", 20)])],
          "first", ["2026-10-14"])
    path = partition_path(dataset, "2026-10-14")
    pq.write_table(pq.read_table(path).drop_columns([rq.REPORT_CLUSTER_ID]), path)
    assert read_partition(path).sort(rq.SERVICE_REQUEST_ID)[rq.REPORT_CLUSTER_ID].to_list() == ["A", "A"]
    assert published(dataset)[rq.REPORT_CLUSTER_ID].to_list() == ["A", "A"]


def test_reconciling_a_large_dataset_counts_ids_in_buckets_and_misses_none(tmp_path: Path, monkeypatch) -> None:
    """A backfill too big to count every id at once is counted bucket by bucket (one id per bucket
    here): every id on two dates is still found and moved to its latest version's date."""
    monkeypatch.setattr(dataset_module, "IDS_AT_ONCE", 1)
    dataset = tmp_path / "datasets" / "requests"
    merge_partitions(dataset, enriched_frame([request(rid, "2026-10-01", position=n) for n, rid in enumerate("ABCDE")]))
    merge_partitions(dataset, enriched_frame([request(rid, "2026-10-07", updated_hours=4, position=9 + n)
                                              for n, rid in enumerate("BDE")]))
    reconciled = reconcile_request_ids(dataset)
    assert (reconciled.removed, reconciled.rows, reconciled.days) == (3, 5, [date(2026, 10, 1)])
    on = dict(published(dataset).select(rq.SERVICE_REQUEST_ID, rq.REQUEST_DATE).iter_rows())
    assert on == {"A": date(2026, 10, 1), "B": date(2026, 10, 7), "C": date(2026, 10, 1),
                  "D": date(2026, 10, 7), "E": date(2026, 10, 7)}
