"""House numbers never seen: a point between the nearest known numbers of the same street side.

Russian and most other streets number one side odd and the other even, both growing along the
street, so a missing number sits between its known neighbours on its own side, in proportion,
on the stretch of street line that joins them. Beyond the last known number the step between the
last two known ones carries on, for at most `MAX_EXTRAPOLATED_NUMBERS` numbers.

Never across a gap: when the two neighbours are farther apart than `max_gap_m` (a park, a railway,
a street in two pieces, or two places that share a name) nothing is interpolated; the number is
placed at the middle of that stretch with `street` precision and the stretch's half-length as its
extent. An extrapolation that would run farther than `max_gap_m` is not made either. A side with
no known neighbours borrows the other side only when that side brackets the number within the
gap limit (the point is then across the street, tens of metres off). Everything is `join_asof`s
over whole frames.
"""

from __future__ import annotations

import polars as pl

from models.geocoding.address_parser import HOUSE_NUMBER
from models.geocoding.gazetteer_index import EXTENT_M, PARITY, STREET_ID, distance_m
from schemas import citypack as cp

MAX_EXTRAPOLATED_NUMBERS = 20
DEFAULT_MAX_GAP_M = 400.0
PLACED_AS = "placed_as"
INTERPOLATED, OTHER_SIDE, GAP = "interpolated", "other_side", "gap"
_NONE_BELOW, _NONE_ABOVE = -10, 10**9
_AT = "asof_at"
_SIDES = ("lo", "hi", "lo2", "hi2")


def interpolate_numbers(
    asked: pl.DataFrame, numbers: pl.DataFrame, max_gap_m: float = DEFAULT_MAX_GAP_M
) -> pl.DataFrame:
    """`asked` (street_id, house_number, ...) + lat, long, extent_m, placed_as where a point was found."""
    asked = asked.with_columns((pl.col(HOUSE_NUMBER) % 2).alias(PARITY))
    same_side = _between(asked, numbers, [STREET_ID, PARITY], max_gap_m).filter(pl.col(PLACED_AS).is_not_null())
    rest = asked.join(same_side.select(asked.columns), on=asked.columns, how="anti", nulls_equal=True)
    other = _between(rest, numbers, [STREET_ID], max_gap_m)
    other = other.filter(pl.col(PLACED_AS) == INTERPOLATED).with_columns(pl.lit(OTHER_SIDE).alias(PLACED_AS))
    return pl.concat([same_side, other]).drop(PARITY)


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


def _between(asked: pl.DataFrame, numbers: pl.DataFrame, by: list[str], max_gap_m: float) -> pl.DataFrame:
    n = pl.col(HOUSE_NUMBER)
    frame = _neighbour(asked, numbers, by, n - 1, False, "lo")
    frame = _neighbour(frame, numbers, by, n + 1, True, "hi")
    frame = _neighbour(frame, numbers, by, pl.col("lo_n") - 1, False, "lo2")
    frame = _neighbour(frame, numbers, by, pl.col("hi_n") + 1, True, "hi2")

    def col(side: str, part: str) -> pl.Expr:
        return pl.col(f"{side}_{part}")

    def apart(a: str, b: str) -> pl.Expr:
        return distance_m(col(a, "lat"), col(a, "lon"), col(b, "lat"), col(b, "lon"))

    known = {side: col(side, "n").is_not_null() for side in _SIDES}
    both = known["lo"] & known["hi"]
    gap = apart("lo", "hi")
    beyond_lo = n - col("lo", "n")
    beyond_hi = col("hi", "n") - n
    reach_up = apart("lo2", "lo") / (col("lo", "n") - col("lo2", "n")) * beyond_lo
    reach_down = apart("hi", "hi2") / (col("hi2", "n") - col("hi", "n")) * beyond_hi
    up_ok = ~known["hi"] & known["lo2"] & (beyond_lo <= MAX_EXTRAPOLATED_NUMBERS) & (reach_up <= max_gap_m) \
        & (apart("lo2", "lo") <= max_gap_m)
    down_ok = ~known["lo"] & known["hi2"] & (beyond_hi <= MAX_EXTRAPOLATED_NUMBERS) & (reach_down <= max_gap_m) \
        & (apart("hi", "hi2") <= max_gap_m)
    placed_as = (
        pl.when(both & (gap <= max_gap_m)).then(pl.lit(INTERPOLATED))
        .when(both).then(pl.lit(GAP))
        .when(up_ok | down_ok).then(pl.lit(INTERPOLATED))
    )
    span = (col("hi", "n") - col("lo", "n")).cast(pl.Float64)
    share = beyond_lo / span
    out = []
    for axis, name in (("lat", cp.GAZ_LAT), ("lon", cp.GAZ_LONG)):
        lo, hi, lo2, hi2 = (col(side, axis) for side in _SIDES)
        step_up = (lo - lo2) / (col("lo", "n") - col("lo2", "n"))
        step_down = (hi2 - hi) / (col("hi2", "n") - col("hi", "n"))
        point = (
            pl.when(both & (gap <= max_gap_m)).then(lo + share * (hi - lo))
            .when(both).then((lo + hi) / 2)
            .when(up_ok).then(lo + step_up * beyond_lo)
            .when(down_ok).then(hi - step_down * beyond_hi)
        )
        out.append(point.alias(name))
    extent = pl.when(placed_as == GAP).then(gap / 2)
    helpers = [f"{side}_{part}" for side in _SIDES for part in ("n", "lat", "lon")]
    return frame.with_columns(*out, extent.alias(EXTENT_M), placed_as.alias(PLACED_AS)).drop(helpers)
