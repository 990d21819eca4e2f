"""A short reading of the published datasets, for the demo and the CLI (read-only, polars)."""

from __future__ import annotations

import polars as pl

from pipelines.workspace import Workspace
from schemas import requests as rq


def dataset_summary(workspace: Workspace, top: int = 5) -> dict:
    requests = pl.scan_parquet(workspace.requests_dataset / "**" / "*.parquet", hive_partitioning=True)
    totals = requests.select(
        pl.len().alias("requests"),
        pl.col(rq.DISTRICT_ID).is_not_null().sum().alias("placed_in_district"),
        pl.col(rq.CLOSED_WITHIN_SLA).mean().alias("share_closed_within_sla"),
        pl.col(rq.NEEDS_REVIEW).mean().alias("share_needs_review"),
        pl.col(rq.DUPLICATE_OF).is_not_null().sum().alias("repeated_reports"),
        pl.col(rq.REQUEST_DATE).min().alias("first_day"),
        pl.col(rq.REQUEST_DATE).max().alias("last_day"),
    ).collect().row(0, named=True)
    top_districts = (
        requests.group_by(rq.DISTRICT_NAME).len().sort("len", descending=True).head(top).collect()
    )
    top_categories = (
        requests.group_by(rq.CATEGORY).len().sort("len", descending=True).head(top).collect()
    )
    dead = pl.scan_parquet(workspace.dead_letters_dataset / "**" / "*.parquet", hive_partitioning=True)
    dead_by_reason = dead.group_by("reason").len().sort("len", descending=True).collect()
    return {
        "totals": totals,
        "top_districts": top_districts.rows(),
        "top_categories": top_categories.rows(),
        "dead_letters_by_reason": dead_by_reason.rows(),
        "datasets": {
            "requests": str(workspace.requests_dataset),
            "request_daily": str(workspace.request_daily_dataset),
            "dead_letters": str(workspace.dead_letters_dataset),
        },
    }
