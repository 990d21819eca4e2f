"""MergeRequestsIntoDataset: upsert enriched requests into one city's request dataset.

The dataset is hive-partitioned by request date under the city's folder of a publishing
transaction (`plumbing.publishing`). Batches are split by month and staged as Arrow files; only
(month, file) pairs travel through the shuffle, so memory stays one batch deep however large the
input, and an export spread over ten years is merged in ~120 steps, not ~3,600. Each month is
merged once with the published partitions of the dates it touches (latest version per id wins,
repeated reports linked, also to the last hours of the date before: `models.duplicates`); each
published file is checked against the manifest before it is merged into. `ReconcileRequestIds`
then keeps one row per request id across all dates of the city (an id re-sent with another date
moves) and relinks the day after each date whose last hours changed when that day was not merged
after it (months merge in any order), so links across midnight come out as if the whole history
were linked at once. Ingesting the same input twice, or re-running after a crash, leaves exactly
one row per request.
"""

from __future__ import annotations

import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import apache_beam as beam
import polars as pl
import pyarrow as pa
from apache_beam.metrics import Metrics

from models.duplicates import REPORT_WINDOW, latest_versions, relink
from plumbing.atomic import PART_FILE, staging_dir, write_atomic
from plumbing.publishing import check_file
from schemas import ledger
from schemas import requests as rq

PARTITION_SCHEMA = pa.schema([f for f in rq.ENRICHED_REQUEST if f.name != rq.REQUEST_PARTITION])
_PARTITION_POLARS_SCHEMA = pl.Schema(pl.from_arrow(PARTITION_SCHEMA.empty_table()).schema)
# nearly one value per request: written without a Parquet dictionary
UNIQUE_PER_REQUEST = (rq.SERVICE_REQUEST_ID, rq.DESCRIPTION, rq.ADDRESS, rq.REQUESTED_DATETIME, rq.UPDATED_DATETIME,
                      rq.EXPECTED_DATETIME, rq.CLOSED_DATETIME, rq.SLA_DUE_DATETIME, rq.LAT, rq.LONG,
                      rq.SOURCE_POSITION, rq.CATEGORY_CONFIDENCE, rq.HOURS_TO_CLOSE, rq.H3_CELL, rq.DUPLICATE_OF,
                      rq.REPORT_CLUSTER_ID)
WRITERS = 2  # threads writing the date partitions of one month
ROWS_PER_MERGE = 100_000  # incoming rows merged at once (a month of a big city: a few days at a time)
FILES_PER_READ = 256
IDS_AT_ONCE = 2_000_000  # ids the reconcile pass counts at once  # partitions read together by `published_requests` (one frame per group)
LINKS = [rq.SERVICE_REQUEST_ID, rq.DUPLICATE_OF, rq.REPORT_CLUSTER_ID]
# what a repeat on the next date depends on (`models.duplicates`)
LINK_COLUMNS = [rq.REQUEST_PARTITION, rq.SERVICE_REQUEST_ID, rq.REQUESTED_DATETIME, rq.CATEGORY, rq.DEPARTMENT,
                rq.LAT, rq.LONG, rq.H3_CELL, rq.ADDRESS, rq.DESCRIPTION, rq.DUPLICATE_OF]
VERSION_COLUMNS = [rq.SERVICE_REQUEST_ID, rq.UPDATED_DATETIME, rq.CLOSED_DATETIME, rq.REQUESTED_DATETIME,
                   rq.INGESTED_AT, rq.SOURCE_FILE, rq.SOURCE_POSITION]


def partition_path(dataset: Path, day: str) -> Path:
    return dataset / f"{rq.REQUEST_PARTITION}={day}" / PART_FILE


def partition_day(path: Path) -> date:
    return date.fromisoformat(path.parent.name.split("=", 1)[1])


def published_partitions(dataset: Path) -> list[Path]:
    return sorted(dataset.glob(f"{rq.REQUEST_PARTITION}=*/{PART_FILE}"))


def read_partition(path: Path, columns: list[str] | None = None) -> pl.DataFrame:
    """A published partition with its hive date column restored."""
    return read_partitions([path], columns)


def read_partitions(paths: list[Path], columns: list[str] | None = None,
                    where: pl.Expr | None = None) -> pl.DataFrame:
    """Several partitions as one frame (read in parallel), date column restored; `where` filters
    rows while they are read, so only the matching ones are ever held. Columns a partition
    written by an earlier schema version lacks read as null, `report_cluster_id` as its value."""
    wanted = [c for c in (columns or PARTITION_SCHEMA.names) if c != rq.REQUEST_PARTITION]
    scan = pl.scan_parquet(
        [str(p) for p in paths], schema=_PARTITION_POLARS_SCHEMA, missing_columns="insert",
        include_file_paths="_path", hive_partitioning=False,
    )
    if rq.REPORT_CLUSTER_ID in wanted:
        scan = scan.with_columns(pl.coalesce(rq.REPORT_CLUSTER_ID, rq.DUPLICATE_OF, rq.SERVICE_REQUEST_ID)
                                 .alias(rq.REPORT_CLUSTER_ID))
    frames = (scan if where is None else scan.filter(where)).select(*wanted, "_path").collect()
    days = {str(p): partition_day(p) for p in paths}
    return frames.with_columns(
        pl.col("_path").replace_strict(days, return_dtype=pl.Date).alias(rq.REQUEST_PARTITION)
    ).drop("_path")


def published_requests(dataset: Path, columns: list[str] | None = None):
    """Every published partition of the dataset, a few hundred partitions per frame."""
    paths = published_partitions(dataset)
    for start in range(0, len(paths), FILES_PER_READ):
        yield read_partitions(paths[start:start + FILES_PER_READ], columns)


def _publish_day(dataset: Path, day: date, rows: pl.DataFrame) -> None:
    target = partition_path(dataset, day.isoformat())
    if rows.is_empty():
        target.unlink(missing_ok=True)
        shutil.rmtree(target.parent, ignore_errors=True)
        return
    table = rows.drop(rq.REQUEST_PARTITION).to_arrow().cast(PARTITION_SCHEMA)
    write_atomic(table, target, dataset, sync=False, plain=UNIQUE_PER_REQUEST)  # the commit syncs the run once


class Merged(NamedTuple):
    rows: pl.DataFrame  # the merged rows of the incoming dates
    before: int  # rows read and received before deduplication
    tails_changed: list[date]  # dates whose last `REPORT_WINDOW` changed: the next date may link differently


def earlier_reports(dataset: Path, rows: pl.DataFrame) -> pl.DataFrame | None:
    """The published reports that `rows` may repeat on the dates before theirs: for each date
    of `rows` whose previous dates are not in `rows`, those dates' rows within `REPORT_WINDOW`
    before its earliest request (a filtered read: a few hours of a date, not the date)."""
    firsts = rows.group_by(rq.REQUEST_PARTITION).agg(pl.col(rq.REQUESTED_DATETIME).min()).sort(rq.REQUEST_PARTITION)
    days = set(firsts[rq.REQUEST_PARTITION].to_list())
    reach = REPORT_WINDOW.days + 1  # how many dates before a date its first requests may repeat
    wanted: dict[date, datetime] = {}
    for day, first in firsts.iter_rows():
        if first is None:
            continue
        for back in range(1, reach + 1):
            before = day - timedelta(days=back)
            if before in days:
                break
            if partition_path(dataset, before.isoformat()).exists():
                wanted[before] = min(wanted.get(before, first), first) - REPORT_WINDOW
    frames = [read_partitions([partition_path(dataset, day.isoformat())],
                              where=pl.col(rq.REQUESTED_DATETIME) >= since) for day, since in sorted(wanted.items())]
    frames = [frame for frame in frames if frame.height]
    return pl.concat(frames) if frames else None


def _tails_changed(before: pl.DataFrame | None, after: pl.DataFrame, days: list[date]) -> list[date]:
    """Dates whose reports in the last `REPORT_WINDOW` (before or after the merge) differ in
    anything a repeat of them on the next date depends on."""
    if before is None:
        return days

    def tails(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select(*LINK_COLUMNS).with_columns(
            (pl.col(rq.REQUESTED_DATETIME).max().over(rq.REQUEST_PARTITION) - REPORT_WINDOW).alias("_since"))
    both = pl.concat([tails(before).with_columns(pl.lit(0).alias("_side")),
                      tails(after).with_columns(pl.lit(1).alias("_side"))])
    late = both.filter(pl.col(rq.REQUESTED_DATETIME) >= pl.col("_since").max().over(rq.REQUEST_PARTITION))
    changed = late.group_by(LINK_COLUMNS, maintain_order=False).agg(pl.col("_side").n_unique().alias("_sides"))
    moved = set(changed.filter(pl.col("_sides") < 2)[rq.REQUEST_PARTITION].to_list())
    return [day for day in days if day in moved]


def merge_partitions(dataset: Path, incoming: pl.DataFrame, published: dict[str, dict] | None = None) -> Merged:
    """Union with the published partitions of the incoming dates, deduplicate (repeats may link to
    the published tail of the date before), write them back. `published` (path relative to
    `dataset` -> manifest entry) checks each published file first."""
    days = sorted(incoming[rq.REQUEST_PARTITION].unique().to_list())
    existing = [p for p in (partition_path(dataset, d.isoformat()) for d in days) if p.exists()]
    if published is not None:
        for path in existing:
            rel = path.relative_to(dataset).as_posix()
            check_file(path, published.get(rel), f"{dataset.name}/{rel}")
    old = read_partitions(existing) if existing else None
    before = (old.height if old is not None else 0) + incoming.height
    # diagonal: `duplicate_of` only exists on published rows; deduplicate recomputes it for all
    versions = latest_versions(pl.concat([*([old] if old is not None else []), incoming], how="diagonal_relaxed"))
    merged = relink(versions, earlier_reports(dataset, versions))
    by_day = merged.partition_by(rq.REQUEST_PARTITION, as_dict=True)
    # Parquet encoding releases the interpreter: two writers keep both cores busy on many dates
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(lambda day: _publish_day(dataset, day, by_day.get((day,), merged.clear())), days))
    return Merged(merged, before, _tails_changed(old, merged, days))


def relink_next_days(dataset: Path, changed: list[date]) -> list[date]:
    """After the dates `changed` were rewritten, the day after each may hold repeats of reports
    that changed: relink it against the new tail, rewrite it only if a link moved, and go on to
    the day after it when it did. Returns the dates rewritten."""
    pending = sorted({day + timedelta(days=1) for day in changed})
    rewritten: list[date] = []
    while pending:
        day = pending.pop(0)
        path = partition_path(dataset, day.isoformat())
        if not path.exists():
            continue
        rows = read_partition(path)
        relinked = relink(rows, earlier_reports(dataset, rows))
        if relinked.select(LINKS).sort(rq.SERVICE_REQUEST_ID).equals(rows.select(LINKS).sort(rq.SERVICE_REQUEST_ID)):
            continue
        _publish_day(dataset, day, relinked)
        rewritten.append(day)
        if day + timedelta(days=1) not in pending:
            pending = sorted([*pending, day + timedelta(days=1)])
    return rewritten


def not_followed(tails_changed: list[date], merged_in_order: list[date]) -> list[date]:
    """Of dates merged one after another in `merged_in_order`, those whose next date was not
    merged after them (so it read their tail before they changed, or was not merged at all)."""
    later = {day: i for i, day in enumerate(merged_in_order)}
    return [day for day in tails_changed
            if later.get(day + timedelta(days=1), -1) < later.get(day, len(merged_in_order))]


def _ids_on_several_dates(paths: list[Path], total: int) -> pl.Series:
    """Ids found in more than one date file (a date holds an id once): only the id column is
    read, in hash buckets of about `IDS_AT_ONCE` ids, so a backfill of ten years holds a few
    million ids at a time, not the version columns of every row."""
    buckets = max(1, -(-total // IDS_AT_ONCE))
    ids = pl.scan_parquet([str(p) for p in paths]).select(rq.SERVICE_REQUEST_ID)
    found = []
    for bucket in range(buckets):
        part = ids if buckets == 1 else ids.filter(pl.col(rq.SERVICE_REQUEST_ID).hash(seed=0) % buckets == bucket)
        found.append(part.group_by(rq.SERVICE_REQUEST_ID).len().filter(pl.col("len") > 1)
                     .collect()[rq.SERVICE_REQUEST_ID])
    return pl.concat(found)


class Reconciled(NamedTuple):
    removed: int  # rows of an id that left a date for the id's latest version on another
    rows: int  # rows in the dataset
    days: list[date]  # dates rewritten


def reconcile_request_ids(dataset: Path, ids: pl.Series | None = None) -> Reconciled:
    """One row per request id across all dates: an id found on several dates keeps its latest
    version and leaves the other dates. `ids` limits the search to ids that may have moved (the
    live publisher's hand-over); without it, the ids found on several dates are looked for. Only
    those ids' rows are read, so memory follows them, not the dataset."""
    paths = published_partitions(dataset)
    if not paths:
        return Reconciled(0, 0, [])
    total = pl.scan_parquet([str(p) for p in paths]).select(pl.len()).collect().item()
    if ids is None:
        ids = _ids_on_several_dates(paths, total)
    keys = read_partitions(paths, VERSION_COLUMNS, where=pl.col(rq.SERVICE_REQUEST_ID).is_in(ids.unique().implode()))
    repeated = keys.filter(pl.len().over(rq.SERVICE_REQUEST_ID) > 1)
    if repeated.is_empty():
        return Reconciled(0, total, [])
    winners = latest_versions(repeated).select(rq.SERVICE_REQUEST_ID, rq.REQUEST_PARTITION)
    losers = repeated.join(winners, on=[rq.SERVICE_REQUEST_ID, rq.REQUEST_PARTITION], how="anti")
    days = sorted(day for (day,) in losers.partition_by(rq.REQUEST_PARTITION, as_dict=True))
    for day in days:
        gone = losers.filter(pl.col(rq.REQUEST_PARTITION) == day)[rq.SERVICE_REQUEST_ID]
        kept = read_partition(partition_path(dataset, day.isoformat())).filter(
            ~pl.col(rq.SERVICE_REQUEST_ID).is_in(gone.implode()))
        _publish_day(dataset, day, relink(kept, earlier_reports(dataset, kept)))
    return Reconciled(losers.height, total - losers.height, days)


class _StageByMonth(beam.DoFn):
    def __init__(self, staging: str) -> None:
        self.staging = staging
        self.out = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_OUT)

    def process(self, frame: pl.DataFrame):
        self.out.inc(frame.height)
        months = frame.with_columns(pl.col(rq.REQUEST_PARTITION).dt.strftime("%Y-%m").alias("_month"))
        for (month,), part in months.partition_by("_month", as_dict=True).items():
            fragment = Path(self.staging) / month / f"{uuid.uuid4().hex}.arrow"
            fragment.parent.mkdir(parents=True, exist_ok=True)
            part.drop("_month").write_ipc(fragment)
            yield month, (str(fragment), sorted(part[rq.REQUEST_PARTITION].unique().to_list()))


class _PublishMonth(beam.DoFn):
    def __init__(self, dataset: str, published: dict[str, dict] | None) -> None:
        self.dataset, self.published = dataset, published
        self.superseded = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.VERSIONS_SUPERSEDED)

    def process(self, keyed):
        """`keyed`: (month, its staged fragments as (path, the dates it holds)). Each run of
        dates reads only the fragments holding one of them: an export in time order puts a
        date in one or two fragments, so the month is read about once, not once per run."""
        month, fragments = keyed
        fragments = sorted(fragments)
        merged_days: list[date] = []
        tails_changed: list[date] = []
        for days in _day_groups(_rows_per_day(fragments)):
            wanted = set(days)
            holding = [path for path, held in fragments if wanted.intersection(held)]
            incoming = pl.scan_ipc(holding).filter(pl.col(rq.REQUEST_PARTITION).is_in(days)).collect()
            merged = merge_partitions(Path(self.dataset), incoming, self.published)
            self.superseded.inc(merged.before - merged.rows.height)
            merged_days += days
            tails_changed += merged.tails_changed
        for path, _ in fragments:
            Path(path).unlink(missing_ok=True)
        yield month, not_followed(tails_changed, merged_days)


def _rows_per_day(fragments: list[tuple[str, list[date]]]) -> pl.DataFrame:
    """(date, rows) of the staged fragments, in date order, from their date column alone."""
    return (pl.scan_ipc([path for path, _ in fragments]).select(rq.REQUEST_PARTITION)
            .group_by(rq.REQUEST_PARTITION).len().sort(rq.REQUEST_PARTITION).collect())


def _day_groups(counts: pl.DataFrame) -> list[list[date]]:
    """The month's dates in runs of about `ROWS_PER_MERGE` incoming rows: a sparse month is
    merged in one step, a busy one a few days (or one day) at a time, so memory stays bounded."""
    groups: list[list[date]] = [[]]
    rows = 0
    for day, count in counts.iter_rows():
        if groups[-1] and rows + count > ROWS_PER_MERGE:
            groups.append([])
            rows = 0
        groups[-1].append(day)
        rows += count
    return [group for group in groups if group]


class _ReconcileRequestIds(beam.DoFn):
    def __init__(self) -> None:
        self.superseded = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.VERSIONS_SUPERSEDED)
        self.rows = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.REQUEST_ROWS_PUBLISHED)

    def process(self, dataset: str, merged_months: list[tuple[str, list[date]]]):
        reconciled = reconcile_request_ids(Path(dataset))
        self.superseded.inc(reconciled.removed)
        self.rows.inc(reconciled.rows)
        # months merge in any order: a month's first date may have read the tail of the month
        # before it before that month merged
        relink_next_days(Path(dataset), sorted({*reconciled.days, *(d for _, days in merged_months for d in days)}))
        yield reconciled.rows


MONTHS, ROWS = "months", "rows"


class MergeRequestsIntoDataset(beam.PTransform):
    """Enriched request batches in; out `{MONTHS: each month merged, ROWS: one element, the rows
    now in the city's dataset, after every month is merged and every id is on one date}`.

    Counts `records_out` (valid records delivered), `versions_superseded` (rows that an other
    version of the same id replaced, in this run or from an earlier one) and
    `request_rows_published` (rows in the city's request dataset after the run).
    """

    def __init__(self, dataset: Path, run_id: str, published: dict[str, dict] | None = None) -> None:
        super().__init__()
        self.dataset = str(dataset)
        self.staging = str(staging_dir(Path(dataset)) / f"requests-{run_id}")
        self.published = published  # None: no manifest to check against (a dataset outside a snapshot)

    def expand(self, frames):
        merged = (
            frames
            | "StageByMonth" >> beam.ParDo(_StageByMonth(self.staging))
            | "GroupFragmentsByMonth" >> beam.GroupByKey()
            | "MergeAndPublish" >> beam.ParDo(_PublishMonth(self.dataset, self.published))
        )
        months = merged | "MonthsMerged" >> beam.Map(lambda month_and_days: month_and_days[0])
        rows = (
            frames.pipeline
            | "CityRequestDataset" >> beam.Create([self.dataset])
            | "ReconcileRequestIds" >> beam.ParDo(_ReconcileRequestIds(), beam.pvalue.AsList(merged))
        )
        return {MONTHS: months, ROWS: rows}
