"""The dashboard's request figures, computed over one `RequestView` (every request of the city once).

Counting follows the published `request_daily` aggregate (`pipelines.transforms.requests.aggregate`):
a request is new on its local request date and closed on its local close date (never before its
request date); the backlog at a period's end is every request made by then and not closed by
then; the SLA share is closed within SLA over closed with a known outcome, both among requests
closed in the period; the median hours to close is over those same closed requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import h3
import polars as pl

from plumbing.request_view import CLOSED_DATE
from schemas import requests as rq

NEW, CLOSED, BACKLOG = "new", "closed", "backlog"
SHARE_WITHIN_SLA, MEDIAN_HOURS = "share_closed_within_sla", "median_hours_to_close"
FIGURES = (NEW, CLOSED, BACKLOG, SHARE_WITHIN_SLA, MEDIAN_HOURS)
DAY = "date"
_WITHIN, _OUTCOMES = "_within", "_outcomes"


@dataclass(frozen=True)
class RequestFilters:
    """The filters every request endpoint takes (already checked: `requests_feed.parse_filters`)."""

    date_from: date | None = None
    date_to: date | None = None
    district: str | None = None
    category: str | None = None
    department: str | None = None

    def key(self) -> tuple:
        return (self.date_from, self.date_to, self.district, self.category, self.department)


def without_dates(rows: pl.DataFrame, filters: RequestFilters) -> pl.DataFrame:
    """Rows of the filters' district, category and department (dates decide each figure's period)."""
    conditions = [pl.col(column) == value for column, value in (
        (rq.DISTRICT_ID, filters.district), (rq.CATEGORY, filters.category), (rq.DEPARTMENT, filters.department),
    ) if value is not None]
    return rows.filter(*conditions) if conditions else rows


def made_between(rows: pl.DataFrame, filters: RequestFilters) -> pl.DataFrame:
    """Rows of the filters, dates applying to the local request date."""
    rows = without_dates(rows, filters)
    conditions = []
    if filters.date_from is not None:
        conditions.append(pl.col(rq.REQUEST_DATE) >= filters.date_from)
    if filters.date_to is not None:
        conditions.append(pl.col(rq.REQUEST_DATE) <= filters.date_to)
    return rows.filter(*conditions) if conditions else rows


def period(rows: pl.DataFrame, filters: RequestFilters, today: date) -> tuple[date, date]:
    """The filters' dates; without them, from the first request's date up to today."""
    end = filters.date_to or max(today, rows[rq.REQUEST_DATE].max() or today)
    start = filters.date_from or rows[rq.REQUEST_DATE].min() or end
    return start, end


def figure_expressions(start: date, end: date) -> list[pl.Expr]:
    made = pl.col(rq.REQUEST_DATE).is_between(start, end)
    closed_in = pl.col(CLOSED_DATE).is_between(start, end).fill_null(False)
    open_at_end = (pl.col(rq.REQUEST_DATE) <= end) & (pl.col(CLOSED_DATE).is_null() | (pl.col(CLOSED_DATE) > end))
    return [
        made.sum().cast(pl.Int64).alias(NEW),
        closed_in.sum().cast(pl.Int64).alias(CLOSED),
        open_at_end.sum().cast(pl.Int64).alias(BACKLOG),
        pl.col(rq.CLOSED_WITHIN_SLA).filter(closed_in).sum().cast(pl.Int64).alias(_WITHIN),
        pl.col(rq.CLOSED_WITHIN_SLA).filter(closed_in).count().cast(pl.Int64).alias(_OUTCOMES),
        pl.col(rq.HOURS_TO_CLOSE).filter(closed_in).median().alias(MEDIAN_HOURS),
    ]


def _with_share(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col(_OUTCOMES) > 0).then(pl.col(_WITHIN) / pl.col(_OUTCOMES)).alias(SHARE_WITHIN_SLA),
    ).drop(_WITHIN, _OUTCOMES)


def period_figures(rows: pl.DataFrame, start: date, end: date) -> dict:
    """new, closed, backlog (at the end), SLA share and median hours of one period."""
    return _with_share(rows.select(figure_expressions(start, end))).select(FIGURES).row(0, named=True)


def grouped_figures(rows: pl.DataFrame, key: str, start: date, end: date) -> pl.DataFrame:
    """The period's figures per value of `key` (only values that have requests)."""
    relevant = rows.filter(pl.col(rq.REQUEST_DATE) <= end)
    grouped = relevant.group_by(key).agg(figure_expressions(start, end))
    return _with_share(grouped).select(key, *FIGURES).sort(key, nulls_last=True)


def daily_figures(rows: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """One row per local date of the period: new, closed, SLA share and median hours of the day."""
    days = pl.DataFrame({DAY: pl.date_range(start, end, "1d", eager=True)})
    made = (rows.filter(pl.col(rq.REQUEST_DATE).is_between(start, end))
            .group_by(pl.col(rq.REQUEST_DATE).alias(DAY)).agg(pl.len().cast(pl.Int64).alias(NEW)))
    closed = rows.filter(pl.col(CLOSED_DATE).is_between(start, end)).group_by(pl.col(CLOSED_DATE).alias(DAY)).agg(
        pl.len().cast(pl.Int64).alias(CLOSED),
        pl.col(rq.CLOSED_WITHIN_SLA).sum().cast(pl.Int64).alias(_WITHIN),
        pl.col(rq.CLOSED_WITHIN_SLA).count().cast(pl.Int64).alias(_OUTCOMES),
        pl.col(rq.HOURS_TO_CLOSE).median().alias(MEDIAN_HOURS),
    )
    joined = days.join(made, on=DAY, how="left").join(closed, on=DAY, how="left").with_columns(
        pl.col(NEW).fill_null(0), pl.col(CLOSED).fill_null(0), pl.col(_OUTCOMES).fill_null(0),
    )
    return _with_share(joined).select(DAY, NEW, CLOSED, SHARE_WITHIN_SLA, MEDIAN_HOURS).sort(DAY)


def summary_periods(today: date) -> dict[str, tuple[date, date]]:
    """The KPI tiles' periods around the reference day."""
    return {
        "today": (today, today),
        "previous_day": (today - timedelta(days=1), today - timedelta(days=1)),
        "last_7_days": (today - timedelta(days=6), today),
        "previous_7_days": (today - timedelta(days=13), today - timedelta(days=7)),
    }


def density(rows: pl.DataFrame, resolution: int) -> pl.DataFrame:
    """Requests per H3 cell at `resolution`: from the published cell where it is as fine, else the point.

    Cells are mapped once per distinct cell (or point), not once per request.
    """
    placed = rows.filter(pl.col(rq.H3_CELL).is_not_null() | (pl.col(rq.LAT).is_not_null()
                                                             & pl.col(rq.LONG).is_not_null()))
    by_cell = placed.filter(pl.col(rq.H3_CELL).is_not_null()).group_by(rq.H3_CELL).agg(pl.len().alias("count"))
    counts: dict[str, int] = {}
    points = placed.filter(pl.col(rq.H3_CELL).is_null())
    for cell, count in by_cell.iter_rows():
        own = h3.get_resolution(cell)
        if own >= resolution:
            parent = h3.cell_to_parent(cell, resolution) if own > resolution else cell
            counts[parent] = counts.get(parent, 0) + count
    finer = by_cell.filter(pl.col(rq.H3_CELL).map_elements(h3.get_resolution, return_dtype=pl.Int64) < resolution)
    if finer.height:
        points = pl.concat([points, placed.filter(pl.col(rq.H3_CELL).is_in(finer[rq.H3_CELL].implode()))])
    for lat, lng, count in points.group_by(rq.LAT, rq.LONG).agg(pl.len()).iter_rows():
        cell = h3.latlng_to_cell(lat, lng, resolution)
        counts[cell] = counts.get(cell, 0) + count
    return pl.DataFrame({"h3": list(counts), "count": list(counts.values())},
                        schema={"h3": pl.String, "count": pl.Int64}).sort("count", "h3", descending=[True, False])
