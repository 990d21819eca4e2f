"""Routing: the department that owns a category, and its SLA days, from the city's taxonomy."""

from __future__ import annotations

import polars as pl

from schemas import requests as rq
from schemas.taxonomy import (
    DEFAULT_SLA_DAYS,
    TAXONOMY_CATEGORY,
    TAXONOMY_DEPARTMENT,
    TAXONOMY_SLA_DAYS,
    UNKNOWN_DEPARTMENT,
)


def route(frame: pl.DataFrame, taxonomy: pl.DataFrame) -> pl.DataFrame:
    """Department and SLA days from the taxonomy; unlisted categories keep the source's agency."""
    routes = taxonomy.select(
        pl.col(TAXONOMY_CATEGORY).alias(rq.CATEGORY),
        pl.col(TAXONOMY_DEPARTMENT).alias(rq.DEPARTMENT),
        pl.col(TAXONOMY_SLA_DAYS).alias(rq.SLA_DAYS),
    )
    routed = frame.join(routes, on=rq.CATEGORY, how="left", maintain_order="left")
    return routed.with_columns(
        pl.coalesce(rq.DEPARTMENT, rq.AGENCY_RESPONSIBLE, pl.lit(UNKNOWN_DEPARTMENT)).alias(rq.DEPARTMENT),
        pl.col(rq.SLA_DAYS).fill_null(DEFAULT_SLA_DAYS),
    )
