"""House numbers never seen: a point between the nearest known numbers of the same street.

Russian and most other streets number one side odd and the other even, both growing along the
street, so a missing number sits between its known neighbours on its side, in proportion.
Beyond the last known number the step between the last two known ones carries on, for at most
`MAX_EXTRAPOLATED_NUMBERS` numbers. A street with no known house on that side is tried with
both sides together. Everything is two `join_asof`s per side over whole frames.
"""

from __future__ import annotations

import polars as pl

from models.geocoding.address_parser import HOUSE_NUMBER
from models.geocoding.gazetteer_index import PARITY, STREET_ID
from schemas import citypack as cp

MAX_EXTRAPOLATED_NUMBERS = 20
_NONE_BELOW, _NONE_ABOVE = -10, 10**9
_AT = "asof_at"
_SURE = "bracketed_or_extrapolated"  # two known numbers on this side fix the point


def interpolate_numbers(asked: pl.DataFrame, numbers: pl.DataFrame) -> pl.DataFrame:
    """`asked` (with street_id and house_number) plus lat/long where neighbours were found."""
    asked = asked.with_columns((pl.col(HOUSE_NUMBER) % 2).alias(PARITY))
    same_side = _between(asked, numbers, [STREET_ID, PARITY])
    placed = same_side.filter(pl.col(_SURE)).drop(_SURE)
    rest = asked.join(placed, on=asked.columns, how="anti")
    any_side = _between(rest, numbers, [STREET_ID]).filter(pl.col(cp.GAZ_LAT).is_not_null()).drop(_SURE)
    return pl.concat([placed, any_side]).drop(PARITY)


def _neighbour(
    asked: pl.DataFrame, numbers: pl.DataFrame, by: list[str], at: pl.Expr, forward: bool, name: str
) -> pl.DataFrame:
    right = numbers.select(
        *by, pl.col(HOUSE_NUMBER).alias(f"{name}_n"),
        pl.col(cp.GAZ_LAT).alias(f"{name}_lat"), pl.col(cp.GAZ_LONG).alias(f"{name}_lon"),
    ).sort(f"{name}_n")
    left = asked.with_columns(at.fill_null(_NONE_ABOVE if forward else _NONE_BELOW).alias(_AT))
    joined = left.sort(_AT).join_asof(
        right, left_on=_AT, right_on=f"{name}_n", by=by, strategy="forward" if forward else "backward",
        check_sortedness=False,
    )
    return joined.drop(_AT)


def _between(asked: pl.DataFrame, numbers: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    n = pl.col(HOUSE_NUMBER)
    frame = _neighbour(asked, numbers, by, n, False, "lo")
    frame = _neighbour(frame, numbers, by, n, True, "hi")
    frame = _neighbour(frame, numbers, by, pl.col("lo_n") - 1, False, "lo2")
    frame = _neighbour(frame, numbers, by, pl.col("hi_n") + 1, True, "hi2")
    both = pl.col("lo_n").is_not_null() & pl.col("hi_n").is_not_null()
    span = (pl.col("hi_n") - pl.col("lo_n")).cast(pl.Float64)
    share = pl.when(span > 0).then((n - pl.col("lo_n")) / span).otherwise(0.0)
    beyond_lo = (n - pl.col("lo_n")).clip(upper_bound=MAX_EXTRAPOLATED_NUMBERS)
    beyond_hi = (pl.col("hi_n") - n).clip(upper_bound=MAX_EXTRAPOLATED_NUMBERS)
    out = []
    for axis in ("lat", "lon"):
        lo, hi, lo2, hi2 = (pl.col(f"{side}_{axis}") for side in ("lo", "hi", "lo2", "hi2"))
        step_down = (lo - lo2) / (pl.col("lo_n") - pl.col("lo2_n"))
        step_up = (hi2 - hi) / (pl.col("hi2_n") - pl.col("hi_n"))
        point = (
            pl.when(both).then(lo + share * (hi - lo))
            .when(pl.col("lo_n").is_not_null()).then(lo + (step_down * beyond_lo).fill_null(0.0))
            .otherwise(hi - (step_up * beyond_hi).fill_null(0.0))
        )
        out.append(point.alias(cp.GAZ_LAT if axis == "lat" else cp.GAZ_LONG))
    helpers = [f"{side}_{part}" for side in ("lo", "hi", "lo2", "hi2") for part in ("n", "lat", "lon")]
    known = [pl.col(f"{side}_n").is_not_null() for side in ("lo", "hi", "lo2", "hi2")]
    sure = (known[0] & known[1]) | (known[0] & known[2]) | (known[1] & known[3])
    return frame.with_columns(*out, sure.alias(_SURE)).drop(helpers)
