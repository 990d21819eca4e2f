"""Vectorised picks from small string pools: the one trick behind fast synthetic text.

Every helper returns a polars Series with one value per row, built by index gathers and
`when/then` over whole columns, never by a Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl


def pick(
    rng: np.random.Generator, pools: tuple[Sequence[str], Sequence[str]], language: np.ndarray
) -> pl.Series:
    """A random phrase from the pool of each row's language."""
    flat = pl.Series(list(pools[0]) + list(pools[1]), dtype=pl.String)
    sizes = np.array([len(pools[0]), len(pools[1])])
    index = (rng.random(len(language)) * sizes[language]).astype(np.int64)
    return flat.gather(np.where(language == 1, len(pools[0]) + index, index))


def choose(selector: np.ndarray, options: dict[int, pl.Series]) -> pl.Series:
    """Per row, the option keyed by `selector` (bools count as 0/1); "" where none applies."""
    selector = selector.astype(np.int64)
    expr = pl.lit("")
    for key, series in options.items():
        expr = pl.when(pl.lit(pl.Series(selector == key))).then(pl.lit(series)).otherwise(expr)
    return pl.select(expr).to_series()


def spread(values: pl.Series, mask: np.ndarray) -> pl.Series:
    """Place `values` (one per True of `mask`, in order) on the rows of `mask`; "" elsewhere."""
    index = np.maximum(np.cumsum(mask) - 1, 0)
    if values.len() == 0:
        return repeat("", len(mask))
    return choose(mask, {1: values.gather(index)})


def digits(rng: np.random.Generator, n: int, low: int, high: int, width: int) -> pl.Series:
    """Random integers in [low, high) as zero-padded text (phone number groups)."""
    return pl.Series(rng.integers(low, high, n)).cast(pl.String).str.zfill(width)


def repeat(value: str, n: int) -> pl.Series:
    """`value` on every one of `n` rows."""
    return pl.Series([value]).gather(np.zeros(n, dtype=np.int64))
