"""One window's figures, kept so that events can be added, taken back and merged in any order.

`WindowStats` is the accumulator of the Beam `WindowStatsFn` (streaming runners,
`pipelines.transforms.requests.windowing`) and what the live store keeps per window x district x category, so both compute the same numbers. Hours to
close are kept as a sorted multiset, so the median is exact; a take-back that arrives before
the value it cancels (possible when a runner merges partial accumulators) waits in `pending`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from schemas import live as lv
from schemas import requests as rq

KEY_COLUMNS = (lv.WINDOW, lv.WINDOW_START, rq.DISTRICT_ID, rq.CATEGORY)
_ADDED, _REMOVED = "_added", "_removed"


def _cancel(values: np.ndarray, removals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Multiset difference: (values left, removals that found no value to cancel)."""
    if removals.size == 0:
        return values, removals
    kept = list(values)
    missing = []
    for removal in removals:
        index = int(np.searchsorted(kept, removal))
        if index < len(kept) and kept[index] == removal:
            kept.pop(index)
        else:
            missing.append(removal)
    return np.asarray(kept, dtype=np.float64), np.sort(np.asarray(missing, dtype=np.float64))


@dataclass
class WindowStats:
    new: int = 0
    closed: int = 0
    within_sla: int = 0
    hours: np.ndarray = field(default_factory=lambda: np.empty(0))
    pending: np.ndarray = field(default_factory=lambda: np.empty(0))

    def add(self, new: int, closed: int, within_sla: int, added, removed) -> WindowStats:
        self.new += int(new)
        self.closed += int(closed)
        self.within_sla += int(within_sla)
        if len(added):
            self.hours = np.sort(np.concatenate([self.hours, np.asarray(added, dtype=np.float64)]))
        if len(removed) or self.pending.size:
            self.hours, self.pending = _cancel(
                self.hours, np.sort(np.concatenate([self.pending, np.asarray(removed, dtype=np.float64)]))
            )
        return self

    def median_hours(self) -> float | None:
        """Exact median of the sorted hours (the mean of the middle two for an even count)."""
        n = self.hours.size
        return float(self.hours[(n - 1) // 2] + self.hours[n // 2]) / 2 if n else None

    def merge(self, other: WindowStats) -> WindowStats:
        return self.add(other.new, other.closed, other.within_sla, other.hours, other.pending)

    def figures(self) -> dict:
        with_outcome = int(self.hours.size)
        return {
            lv.NEW: self.new,
            lv.CLOSED: self.closed,
            lv.CLOSED_WITH_OUTCOME: with_outcome,
            lv.CLOSED_WITHIN_SLA: self.within_sla,
            lv.MEDIAN_HOURS_TO_CLOSE: self.median_hours(),
            lv.SHARE_WITHIN_SLA: self.within_sla / with_outcome if with_outcome else None,
        }


def window_deltas(events: pl.DataFrame) -> pl.DataFrame:
    """Signed events summed per window x district x category, hours to add and to take back."""
    sign = pl.col(lv.SIGN).cast(pl.Int64)
    is_new = pl.col(lv.EVENT_KIND) == lv.NEW
    is_closed = pl.col(lv.EVENT_KIND) == lv.CLOSED
    hours = pl.col(rq.HOURS_TO_CLOSE)
    return events.group_by(KEY_COLUMNS, maintain_order=True).agg(
        (sign * is_new).sum().alias(lv.NEW),
        (sign * is_closed).sum().alias(lv.CLOSED),
        (sign * pl.col(rq.CLOSED_WITHIN_SLA).fill_null(False)).sum().alias(lv.CLOSED_WITHIN_SLA),
        hours.filter(is_closed & (sign > 0) & hours.is_not_null()).alias(_ADDED),
        hours.filter(is_closed & (sign < 0) & hours.is_not_null()).alias(_REMOVED),
    )


def hours_changes(deltas: pl.DataFrame) -> list[tuple]:
    """(window, start, district, category, hours, +1 | -1) for every hour added or taken back."""
    added = deltas.select(*KEY_COLUMNS, pl.col(_ADDED).alias(rq.HOURS_TO_CLOSE), pl.lit(1).alias(lv.SIGN))
    removed = deltas.select(*KEY_COLUMNS, pl.col(_REMOVED).alias(rq.HOURS_TO_CLOSE), pl.lit(-1).alias(lv.SIGN))
    return pl.concat([added, removed]).explode(rq.HOURS_TO_CLOSE).drop_nulls(rq.HOURS_TO_CLOSE).rows()


def apply_deltas(stats: dict[tuple, WindowStats], deltas: pl.DataFrame) -> list[tuple]:
    """Add `window_deltas` rows into `stats` (created as needed); returns the keys touched.

    Keys are (window, start, district, category) with `start` as the frame holds it. Most keys
    only change counts; only those with hours to add or take back pay for the lists.
    """
    with_hours = (pl.col(_ADDED).list.len() > 0) | (pl.col(_REMOVED).list.len() > 0)
    touched = []
    for *key, new, closed, within in deltas.filter(~with_hours).drop(_ADDED, _REMOVED).iter_rows():
        key = tuple(key)
        found = stats.get(key)
        if found is None:
            found = stats[key] = WindowStats()
        found.new += new
        found.closed += closed
        found.within_sla += within
        touched.append(key)
    for *key, new, closed, within, added, removed in deltas.filter(with_hours).iter_rows():
        key = tuple(key)
        stats.setdefault(key, WindowStats()).add(new, closed, within, added, removed)
        touched.append(key)
    return touched
