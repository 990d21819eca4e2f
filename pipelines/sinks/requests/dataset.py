"""MergeRequestsIntoDataset: upsert enriched requests into one city's request dataset.

The dataset is hive-partitioned by request date under the city's folder of a publishing
transaction (`plumbing.publishing`). Batches are split by month and staged as Arrow files; only
(month, file) pairs travel through the shuffle, so memory stays one batch deep however large the
input, and an export spread over ten years is merged in ~120 steps, not ~3,600. Each month is
merged once with the published partitions of the dates it touches (latest version per id wins,
repeated reports linked within a date: `models.duplicates.deduplicate`); each published file is
checked against the manifest before it is merged into. `ReconcileRequestIds` then keeps one row
per request id across all dates of the city (an id re-sent with another date moves). Ingesting
the same input twice, or re-running after a crash, leaves exactly one row per request.
"""

from __future__ import annotations

import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import apache_beam as beam
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.metrics import Metrics

from models.duplicates import deduplicate, latest_versions
from plumbing.atomic import PART_FILE, staging_dir, write_atomic
from plumbing.publishing import check_file
from schemas import ledger
from schemas import requests as rq

PARTITION_SCHEMA = pa.schema([f for f in rq.ENRICHED_REQUEST if f.name != rq.REQUEST_PARTITION])
_PARTITION_POLARS_SCHEMA = pl.Schema(pl.from_arrow(PARTITION_SCHEMA.empty_table()).schema)
WRITERS = 2  # threads writing the date partitions of one month
ROWS_PER_MERGE = 100_000  # incoming rows merged at once (a month of a big city: a few days at a time)
FILES_PER_READ = 256  # partitions read together by `published_requests` (one frame per group)
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
    table = pq.read_table(path, schema=PARTITION_SCHEMA, columns=columns)
    return pl.from_arrow(table).with_columns(pl.lit(partition_day(path)).alias(rq.REQUEST_PARTITION))


def read_partitions(paths: list[Path], columns: list[str] | None = None,
                    where: pl.Expr | None = None) -> pl.DataFrame:
    """Several partitions as one frame (read in parallel), date column restored; `where` filters
    rows while they are read, so only the matching ones are ever held."""
    wanted = [c for c in (columns or PARTITION_SCHEMA.names) if c != rq.REQUEST_PARTITION]
    scan = pl.scan_parquet(
        [str(p) for p in paths], schema=_PARTITION_POLARS_SCHEMA,
        include_file_paths="_path", hive_partitioning=False,
    )
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
    write_atomic(table, target, dataset, sync=False)  # the commit syncs the whole run once


def merge_partitions(dataset: Path, incoming: pl.DataFrame,
                     published: dict[str, dict] | None = None) -> tuple[pl.DataFrame, int]:
    """Union with the published partitions of the incoming dates, deduplicate, write them back;
    (merged rows, rows before). `published` (path relative to `dataset` -> manifest entry)
    checks each published file first."""
    days = sorted(incoming[rq.REQUEST_PARTITION].unique().to_list())
    existing = [p for p in (partition_path(dataset, d.isoformat()) for d in days) if p.exists()]
    if published is not None:
        for path in existing:
            rel = path.relative_to(dataset).as_posix()
            check_file(path, published.get(rel), f"{dataset.name}/{rel}")
    frames = ([read_partitions(existing)] if existing else []) + [incoming]
    before = sum(frame.height for frame in frames)
    # diagonal: `duplicate_of` only exists on published rows; deduplicate recomputes it for all
    merged = deduplicate(pl.concat(frames, how="diagonal_relaxed"), within=rq.REQUEST_PARTITION)
    by_day = merged.partition_by(rq.REQUEST_PARTITION, as_dict=True)
    # Parquet encoding releases the interpreter: two writers keep both cores busy on many dates
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(lambda day: _publish_day(dataset, day, by_day.get((day,), merged.clear())), days))
    return merged, before


def reconcile_request_ids(dataset: Path, ids: pl.Series | None = None) -> tuple[int, int]:
    """One row per request id across all dates: an id found on several dates keeps its latest
    version and leaves the other dates. `ids` limits the search to ids that may have moved: then
    only their rows are read, so the live publisher's memory follows its hand-over, not the
    dataset. Returns (rows removed, rows in the dataset)."""
    paths = published_partitions(dataset)
    if not paths:
        return 0, 0
    only = None if ids is None else pl.col(rq.SERVICE_REQUEST_ID).is_in(ids.unique().implode())
    keys = read_partitions(paths, VERSION_COLUMNS, where=only)
    total = keys.height if only is None else pl.scan_parquet([str(p) for p in paths]).select(pl.len()).collect().item()
    repeated = keys.filter(pl.len().over(rq.SERVICE_REQUEST_ID) > 1)
    if repeated.is_empty():
        return 0, total
    winners = latest_versions(repeated).select(rq.SERVICE_REQUEST_ID, rq.REQUEST_PARTITION)
    losers = repeated.join(winners, on=[rq.SERVICE_REQUEST_ID, rq.REQUEST_PARTITION], how="anti")
    for (day,), gone in losers.partition_by(rq.REQUEST_PARTITION, as_dict=True).items():
        path = partition_path(dataset, day.isoformat())
        kept = read_partition(path).filter(~pl.col(rq.SERVICE_REQUEST_ID).is_in(gone[rq.SERVICE_REQUEST_ID].implode()))
        _publish_day(dataset, day, deduplicate(kept, within=rq.REQUEST_PARTITION))
    return losers.height, total - losers.height


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
            yield month, str(fragment)


class _PublishMonth(beam.DoFn):
    def __init__(self, dataset: str, published: dict[str, dict] | None) -> None:
        self.dataset, self.published = dataset, published
        self.superseded = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.VERSIONS_SUPERSEDED)

    def process(self, keyed):
        month, fragments = keyed
        fragments = sorted(fragments)
        staged = pl.scan_ipc(fragments)
        for days in _day_groups(staged.group_by(rq.REQUEST_PARTITION).len().sort(rq.REQUEST_PARTITION).collect()):
            incoming = staged.filter(pl.col(rq.REQUEST_PARTITION).is_in(days)).collect()
            merged, before = merge_partitions(Path(self.dataset), incoming, self.published)
            self.superseded.inc(before - merged.height)
        for fragment in fragments:
            Path(fragment).unlink(missing_ok=True)
        yield month


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

    def process(self, dataset: str, _merged_months: int):
        removed, rows = reconcile_request_ids(Path(dataset))
        self.superseded.inc(removed)
        self.rows.inc(rows)
        yield rows


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
        months = (
            frames
            | "StageByMonth" >> beam.ParDo(_StageByMonth(self.staging))
            | "GroupFragmentsByMonth" >> beam.GroupByKey()
            | "MergeAndPublish" >> beam.ParDo(_PublishMonth(self.dataset, self.published))
        )
        merged = months | "CountMergedMonths" >> beam.combiners.Count.Globally()
        rows = (
            frames.pipeline
            | "CityRequestDataset" >> beam.Create([self.dataset])
            | "ReconcileRequestIds" >> beam.ParDo(_ReconcileRequestIds(), beam.pvalue.AsSingleton(merged))
        )
        return {MONTHS: months, ROWS: rows}
