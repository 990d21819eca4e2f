"""Which labelled rows a request classifier learns from, which pick its settings, which judge it.

A city trains on its own history and then classifies tomorrow's requests, so with a time column
the judge is the future: the latest 20% of rows are the holdout, and the validation slice that
picks the candidate, the temperature and the review threshold is the latest 10% of the training
period (no holdout row and no future row ever reaches training or selection). Without a time
column both are stratified random shares of each class.
"""

from __future__ import annotations

import numpy as np
import polars as pl

HOLDOUT_SHARE = 0.2
VALIDATION_SHARE = 0.1
# Text time columns as exports write them: ISO 8601 first, then US 12-hour (NYC 311) and others.
TIME_FORMATS = (None, "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M")
READABLE_SHARE = 0.9


def sortable_times(times: pl.Series) -> pl.Series:
    """`times` as something that sorts in time order: text is parsed, or a clear error raised."""
    if times.dtype != pl.String:
        return times
    present = times.drop_nulls().len()
    for fmt in TIME_FORMATS:
        try:
            parsed = times.str.strip_chars().str.to_datetime(format=fmt, strict=False, time_unit="us")
        except pl.exceptions.ComputeError:  # no format could be inferred
            continue
        if present and parsed.drop_nulls().len() >= READABLE_SHARE * present:
            return parsed
    raise ValueError(f"time column {times.name!r} is text that is not a readable time "
                     f"(e.g. {times.drop_nulls().head(1).to_list()}); give an ISO 8601 column")


def latest_mask(times: pl.Series, share: float) -> np.ndarray:
    """True for the latest `share` of rows by `times` (ties broken by row order)."""
    n = len(times)
    order = np.argsort(sortable_times(times).to_numpy(), kind="stable")
    mask = np.zeros(n, dtype=bool)
    mask[order[n - round(n * share) :]] = True
    return mask


def stratified_mask(labels: pl.Series, share: float, seed: int) -> np.ndarray:
    """Random `share` of each class (a class with one row stays out of the mask)."""
    if not 0.0 < share < 1.0:
        raise ValueError(f"share={share} must be between 0 and 1")
    rng = np.random.default_rng(seed)
    codes = np.unique(labels.cast(pl.String).fill_null("").to_numpy(), return_inverse=True)[1]
    order = np.lexsort((rng.random(codes.size), codes))
    sorted_codes = codes[order]
    group_start = np.searchsorted(sorted_codes, sorted_codes, side="left")
    group_size = np.searchsorted(sorted_codes, sorted_codes, side="right") - group_start
    rank = np.arange(codes.size) - group_start
    take = np.floor(group_size * share + 0.5).astype(np.int64)
    take = np.where(group_size > 1, np.minimum(take, group_size - 1), 0)
    mask = np.zeros(codes.size, dtype=bool)
    mask[order] = rank < take
    return mask


def split_mask(labels: pl.Series, times: pl.Series | None, share: float, seed: int) -> np.ndarray:
    """The latest `share` by time when there is a time column, else a stratified random share."""
    if times is not None:
        return latest_mask(times, share)
    return stratified_mask(labels, share, seed)


def split_description(time_column: str | None, share: float, seed: int) -> str:
    if time_column:
        return f"temporal: the latest {share:.0%} of rows by {time_column!r}"
    return f"stratified random {share:.0%} of each class, seed {seed}"
