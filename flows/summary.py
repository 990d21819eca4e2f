"""A short reading of the published datasets, for the demo and the CLI (read-only, polars)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import dead_letters as dl
from schemas import requests as rq


def dataset_summary(workspace: Workspace, city: str, top: int = 5) -> dict:
    """One city's published requests and dead letters, summed up."""
    datasets = workspace.published_datasets(city, ds.REQUEST_DATASETS)
    requests = pl.scan_parquet(f"{datasets[ds.REQUESTS]}/**/*.parquet", hive_partitioning=True)
    totals = requests.select(
        pl.len().alias("requests"),
        pl.col(rq.DISTRICT_ID).is_not_null().sum().alias("placed_in_district"),
        pl.col(rq.CLOSED_WITHIN_SLA).mean().alias("share_closed_within_sla"),
        pl.col(rq.NEEDS_REVIEW).mean().alias("share_needs_review"),
        pl.col(rq.DUPLICATE_OF).is_not_null().sum().alias("repeated_reports"),
        pl.col(rq.DUPLICATE_OF).is_null().sum().alias("problems"),  # report clusters: one first report each
        pl.col(rq.REQUEST_DATE).min().alias("first_day"),
        pl.col(rq.REQUEST_DATE).max().alias("last_day"),
    ).collect().row(0, named=True)
    dead_files = list(Path(datasets[ds.DEAD_LETTERS]).glob("**/*.parquet"))
    dead_by_reason = (
        pl.scan_parquet(dead_files).group_by(dl.REASON).len().sort("len", descending=True).collect().rows()
        if dead_files
        else []
    )
    return {
        "totals": totals,
        "top_districts": _top(requests, rq.DISTRICT_NAME, top),
        "top_categories": _top(requests, rq.CATEGORY, top),
        "dead_letters_by_reason": dead_by_reason,
        "datasets": datasets,
    }


def _top(requests: pl.LazyFrame, column: str, top: int) -> list[tuple[str, int]]:
    counts = requests.drop_nulls(column).group_by(column).len().sort(["len", column], descending=[True, False])
    return counts.head(top).collect().rows()
