"""Quality control of sensor observations: one `qc_flags` list per observation, all vectorised.

`flag(obs, rules)` takes a polars frame of observations (station_id, parameter, value,
period_start in UTC, optionally source_valid and an existing qc_flags) and returns it, in the
same row order, with `qc_flags` holding the `QcFlag` codes that apply:

- negative: below zero for a parameter that cannot be negative (`QcRules.negative_allowed`);
- out_of_range: outside the physical range [lo, hi] (a value already flagged negative is not
  flagged out_of_range as well);
- spike: differs by more than `QcRules.spike` from BOTH its previous and next observation of
  the same station and parameter, each at most `MAX_NEIGHBOUR_GAP` away (an edge value or one
  next to a gap is never a spike); a spike up and a spike down both count;
- flatline: the same value in a run of consecutive observations (no gap above
  `MAX_NEIGHBOUR_GAP`) spanning `QcRules.flatline_hours` hours or more (for hourly data: N or
  more consecutive equal hours); every value of the run is flagged. Values listed in
  `QcRules.flatline_exempt` (rain 0 mm, calm wind 0 m/s) may repeat for ever; `flatline_hours`
  None turns the test off for a parameter;
- source_invalid: the feed's own validity flag says not valid (false / N / 0 / invalid);
- duplicate: another observation of the same station, parameter and period_start comes later in
  the frame; UrbanPulse keeps the LAST one by position (a feed's later row is its correction)
  un-flagged and flags all earlier ones. Duplicates are left out of the spike and flatline
  neighbourhoods, so one correction cannot hide or create a spike.

Spike and flatline use the raw values of the other (non-duplicate) observations as neighbours.
Parameters without a rule (not in the table) get no range, spike or flatline flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from schemas.sensors import (
    PARAMETER,
    PARAMETERS,
    PERIOD_START,
    QC_FLAGS,
    SOURCE_VALID,
    STATION_ID,
    VALUE,
    QcFlag,
)

MAX_NEIGHBOUR_GAP = timedelta(hours=1)  # neighbours further apart break spike/flatline series
INVALID_SOURCE_TEXT = ("false", "n", "no", "0", "invalid", "i", "f")
_KEYS = [STATION_ID, PARAMETER, PERIOD_START]
_SID = "__sid"
# bit of each flag in the per-row mask, in the order codes appear in `qc_flags`
_BITS = (QcFlag.OUT_OF_RANGE, QcFlag.NEGATIVE, QcFlag.SPIKE, QcFlag.FLATLINE,
         QcFlag.SOURCE_INVALID, QcFlag.DUPLICATE)
# every combination of flags as a list, looked up by mask instead of built row by row
_LISTS = pl.Series([[code for i, code in enumerate(_BITS) if mask >> i & 1]
                    for mask in range(1 << len(_BITS))], dtype=pl.List(pl.String))


@dataclass(frozen=True)
class QcRules:
    """QC settings of one parameter, in its canonical unit (schemas.sensors.PARAMETERS)."""

    lo: float  # physical range, inclusive
    hi: float
    negative_allowed: bool = False
    spike: float | None = None  # absolute jump from both neighbours; None: no spike test
    flatline_hours: int | None = None  # run length that is a stuck sensor; None: no test
    flatline_exempt: tuple[float, ...] = ()  # values that may legitimately repeat


# UrbanPulse's defaults. Ranges: the physical limits used by the benchmark peer (pm, no2, so2,
# o3, temperature, humidity) and plausible extremes for the rest (co 50 mg/m³, pressure at
# station level up to ~5000 m, rain 300 mm/h, wind 75 m/s (above the strongest gusts measured
# in cities), noise 20-140 dB(A)). Spikes: hour-to-hour jumps that are not seen in reference
# monitors except by a fault (pm25 200 µg/m³ as in common low-cost sensor QC practice; pm10
# and the gases scaled to their usual ranges; 10 °C in one hour for temperature). Flatlines:
# reference analysers report to 0.1 units, so 12 identical hours is a stuck instrument;
# humidity may stay at 100 % in fog (24 h); noise never holds to 0.1 dB (6 h).
DEFAULT_RULES: dict[str, QcRules] = {
    "pm25": QcRules(0, 1000, spike=200, flatline_hours=12),
    "pm10": QcRules(0, 2000, spike=300, flatline_hours=12),
    "no2": QcRules(0, 2000, spike=200, flatline_hours=12),
    "so2": QcRules(0, 2000, spike=200, flatline_hours=12),
    "o3": QcRules(0, 1000, spike=150, flatline_hours=12),
    "co": QcRules(0, 50, spike=10, flatline_hours=12),
    "temperature": QcRules(-60, 60, negative_allowed=True, spike=10, flatline_hours=12),
    "dew_point": QcRules(-80, 40, negative_allowed=True, spike=10, flatline_hours=12),
    "humidity": QcRules(0, 100, spike=40, flatline_hours=24),
    "pressure": QcRules(500, 1100, spike=10, flatline_hours=12),
    "rain": QcRules(0, 300, flatline_hours=24, flatline_exempt=(0.0,)),
    "wind_speed": QcRules(0, 75, spike=20, flatline_hours=12, flatline_exempt=(0.0,)),
    "noise_laeq": QcRules(20, 140, spike=30, flatline_hours=6),
    "count": QcRules(0, 1e9),
}
assert set(DEFAULT_RULES) == set(PARAMETERS), "every canonical parameter needs a QC rule"


def rules_frame(rules: dict[str, QcRules]) -> pl.DataFrame:
    """The rule table as a frame joined onto observations by parameter."""
    return pl.DataFrame(
        {
            PARAMETER: list(rules),
            "__lo": [float(r.lo) for r in rules.values()],
            "__hi": [float(r.hi) for r in rules.values()],
            "__neg_ok": [r.negative_allowed for r in rules.values()],
            "__spike": [None if r.spike is None else float(r.spike) for r in rules.values()],
            "__flat_h": [r.flatline_hours for r in rules.values()],
            "__exempt": [[float(v) for v in r.flatline_exempt] for r in rules.values()],
        },
        schema_overrides={"__spike": pl.Float64, "__flat_h": pl.Int64,
                          "__exempt": pl.List(pl.Float64)},
    )


def _source_invalid(obs: pl.DataFrame) -> pl.Expr:
    if SOURCE_VALID not in obs.columns:
        return pl.lit(False)
    col = pl.col(SOURCE_VALID)
    if obs.schema[SOURCE_VALID] == pl.Boolean:
        return col.not_().fill_null(False)
    text = col.cast(pl.String).str.strip_chars().str.to_lowercase()
    return text.is_in(INVALID_SOURCE_TEXT).fill_null(False)


def _in_series_order(obs: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series | None]:
    """Keys and value in series order, each row with its series id `__sid`, and the permutation
    applied (None when `obs` already holds every series contiguously and in time order).

    Stored observations usually come that way: one linear pass over the keys checks it (each
    series starts once, times never go back), so no sort is paid for.
    """
    st, pa, t = pl.col(STATION_ID), pl.col(PARAMETER), pl.col(PERIOD_START)
    start = ((st != st.shift(1)) | (pa != pa.shift(1))).fill_null(True).alias("__start")
    keys = obs.select(*_KEYS, VALUE).with_columns(start)
    order = None
    if keys.height:
        back = (~pl.col("__start") & (t < t.shift(1))).fill_null(False).any() | t.is_null().any()
        repeated = keys.filter("__start").select(STATION_ID, PARAMETER).is_duplicated().any()
        if repeated or keys.select(back).item():
            # stable: rows of one station, parameter and period keep their relative order
            order = keys.select(pl.arg_sort_by(_KEYS, maintain_order=True)).to_series()
            keys = keys.drop("__start")[order].with_columns(start)
    return keys.with_columns(pl.col("__start").cum_sum().alias(_SID)), order


def _with_rules(keys: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """`keys` with the rule columns of each row's parameter, looked up once per series."""
    heads = keys.filter("__start").select(pl.col(PARAMETER).cast(pl.String)).join(
        table, on=PARAMETER, how="left", maintain_order="left")
    width = heads["__exempt"].list.len().max() or 0
    heads = heads.with_columns(
        pl.col("__exempt").list.get(k, null_on_oob=True).alias(f"__ex{k}") for k in range(width)
    ).drop(PARAMETER, "__exempt")
    series = keys[_SID] - 1
    return keys.with_columns(heads[c].gather(series) for c in heads.columns)


def _neighbour_bits(series: pl.DataFrame) -> pl.Series:
    """spike / flatline bits of non-duplicate observations in series order.

    Linear passes over the sorted frame (shifts, fills), no per-group hashing: a run of equal
    values is bounded by `__new_run` marks, its first and last times filled across it.
    """
    t, v, sid = pl.col(PERIOD_START), pl.col(VALUE), pl.col(_SID)
    gap = pl.duration(seconds=MAX_NEIGHBOUR_GAP.total_seconds())
    prev_ok = ((sid == sid.shift(1)) & ((t - t.shift(1)) <= gap)).fill_null(False)
    next_ok = ((sid == sid.shift(-1)) & ((t.shift(-1) - t) <= gap)).fill_null(False)
    jump_prev = (v - v.shift(1)).abs() > pl.col("__spike")
    jump_next = (v - v.shift(-1)).abs() > pl.col("__spike")
    series = series.with_columns(
        __spike_f=(prev_ok & next_ok & jump_prev & jump_next).fill_null(False),
        __new_run=(~prev_ok | (v != v.shift(1))).fill_null(True),
    ).with_columns(__end_run=pl.col("__new_run").shift(-1).fill_null(True))
    first = pl.when(pl.col("__new_run")).then(t).forward_fill()
    last = pl.when(pl.col("__end_run")).then(t).backward_fill()
    needed = pl.duration(hours=pl.col("__flat_h") - 1)
    exempt = pl.lit(False)
    for col in [c for c in series.columns if c.startswith("__ex")]:
        exempt = exempt | (v == pl.col(col)).fill_null(False)
    single = pl.col("__new_run") & pl.col("__end_run")
    flat = (((last - first) >= needed) & ~single & ~exempt).fill_null(False)
    bits = _bit(pl.col("__spike_f"), QcFlag.SPIKE) | _bit(flat, QcFlag.FLATLINE)
    return series.select(bits).to_series()


def _bit(flagged: pl.Expr, code: str) -> pl.Expr:
    """`flagged` (a boolean, null meaning no) as the mask bit of `code`."""
    return flagged.fill_null(False).cast(pl.UInt8) * (1 << _BITS.index(code))


def _mask(keys: pl.DataFrame) -> pl.Series:
    """Flag bits (`_BITS`) of every row except source_invalid, in series order."""
    v, t = pl.col(VALUE), pl.col(PERIOD_START)
    # a row is a duplicate unless it is the last of its period (sorted with ties by position)
    dup = (~pl.col("__start").shift(-1) & (t == t.shift(-1))).fill_null(False)
    negative = (v < 0) & ~pl.col("__neg_ok").fill_null(True)
    out_of_range = ((v < pl.col("__lo")) | (v > pl.col("__hi"))) & ~negative
    keys = keys.with_columns(__dup=dup, __base=_bit(out_of_range, QcFlag.OUT_OF_RANGE)
                             | _bit(negative, QcFlag.NEGATIVE) | _bit(dup, QcFlag.DUPLICATE))
    if not keys["__dup"].any():
        return (keys["__base"] | _neighbour_bits(keys)).rechunk()
    # duplicates are left out of the neighbourhoods; the others' bits are spread back by rank
    needed = [_SID, PERIOD_START, VALUE, "__spike", "__flat_h"] + [
        c for c in keys.columns if c.startswith("__ex")]
    near = _neighbour_bits(keys.select(*needed, "__dup").filter(~pl.col("__dup")))
    rank = ((~pl.col("__dup")).cum_sum().cast(pl.Int64) - 1).clip(lower_bound=0)
    spread = pl.when(pl.col("__dup")).then(pl.lit(0, pl.UInt8)).otherwise(pl.lit(near).gather(rank))
    return keys.select(pl.col("__base") | spread).to_series().rechunk()


def _with_existing(obs: pl.DataFrame, new: pl.Series) -> pl.Series:
    """`new` flags after the ones `obs` already carries (each code once, first place kept)."""
    old = obs[QC_FLAGS]
    if old.dtype not in (pl.List(pl.String), pl.List(pl.Null)):
        frame = pl.DataFrame([old, new.alias("__new")])
        both = pl.concat_list(pl.col(QC_FLAGS).fill_null([]), pl.col("__new"))
        return frame.select(both.list.unique(maintain_order=True)).to_series()
    carried = (old.list.len().fill_null(0) > 0).alias("__has")
    if not carried.any():
        return new
    rows = carried.arg_true()
    both = pl.concat_list(old.gather(rows).cast(pl.List(pl.String)), new.gather(rows))
    merged = pl.select(both.list.unique(maintain_order=True)).to_series()
    at = pl.when(carried).then(carried.cum_sum() - 1 + len(new)).otherwise(pl.int_range(len(new)))
    return pl.concat([new, merged]).gather(pl.select(at).to_series())


def flag(obs: pl.DataFrame, rules: dict[str, QcRules] | None = None) -> pl.DataFrame:
    """`obs` with `qc_flags` (list of QcFlag codes, empty when clean), in the same row order.

    An existing `qc_flags` column (e.g. the DST notes of normalisation) is kept and extended.
    The flags are worked out as a bit mask per row and turned into lists by one lookup.
    """
    table = rules_frame(DEFAULT_RULES if rules is None else rules)
    keys, order = _in_series_order(obs)
    mask = _mask(_with_rules(keys, table))
    if order is not None:
        mask = pl.zeros(obs.height, pl.UInt8, eager=True).scatter(order, mask)
    if SOURCE_VALID in obs.columns:
        mask = mask | obs.select(_bit(_source_invalid(obs), QcFlag.SOURCE_INVALID)).to_series()
    new = _LISTS.gather(mask).alias(QC_FLAGS)
    if QC_FLAGS in obs.columns:
        new = _with_existing(obs, new).alias(QC_FLAGS)
    return obs.select(c for c in obs.columns if c != QC_FLAGS).with_columns(new)
