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

from models.sensors.aggregates import same_series, sorted_by_series
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
_KEYS = [STATION_ID, PARAMETER]
_ROW = "__qc_row"


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


def _neighbour_flags(series: pl.DataFrame) -> pl.DataFrame:
    """spike / flatline of non-duplicate observations sorted by station, parameter and time.

    Linear passes over the sorted frame (shifts, fills), no per-group hashing: a run of equal
    values is bounded by `__new_run` marks, its first and last times filled across it.
    """
    t, v = pl.col(PERIOD_START), pl.col(VALUE)
    gap = pl.duration(seconds=MAX_NEIGHBOUR_GAP.total_seconds())
    prev_ok = (same_series(1) & ((t - t.shift(1)) <= gap)).fill_null(False)
    next_ok = (same_series(-1) & ((t.shift(-1) - t) <= gap)).fill_null(False)
    jump_prev = (v - v.shift(1)).abs() > pl.col("__spike")
    jump_next = (v - v.shift(-1)).abs() > pl.col("__spike")
    series = series.with_columns(
        spike=(prev_ok & next_ok & jump_prev & jump_next).fill_null(False),
        __new_run=(~prev_ok | (v != v.shift(1))).fill_null(True),
    ).with_columns(__end_run=pl.col("__new_run").shift(-1).fill_null(True))
    first = pl.when(pl.col("__new_run")).then(t).forward_fill()
    last = pl.when(pl.col("__end_run")).then(t).backward_fill()
    needed = pl.duration(hours=pl.col("__flat_h") - 1)
    exempt = v.is_in(pl.col("__exempt")).fill_null(False)
    single = pl.col("__new_run") & pl.col("__end_run")
    flat = ((last - first) >= needed) & ~single & ~exempt
    return series.with_columns(flatline=flat.fill_null(False))


def _flag_list(flags: dict[str, pl.Expr]) -> pl.Expr:
    parts = [pl.when(expr).then(pl.lit(code)).otherwise(pl.lit(None, pl.String))
             for code, expr in flags.items()]
    return pl.concat_list(parts).list.drop_nulls()


def flag(obs: pl.DataFrame, rules: dict[str, QcRules] | None = None) -> pl.DataFrame:
    """`obs` with `qc_flags` (list of QcFlag codes, empty when clean), in the same row order.

    An existing `qc_flags` column (e.g. the DST notes of normalisation) is kept and extended.
    """
    table = rules_frame(DEFAULT_RULES if rules is None else rules)
    work = sorted_by_series(obs.with_row_index(_ROW)).join(
        table, on=PARAMETER, how="left", maintain_order="left")
    # sorted with ties by position: a row is a duplicate unless it is the last of its period
    duplicate = same_series(-1) & (pl.col(PERIOD_START) == pl.col(PERIOD_START).shift(-1))
    work = work.with_columns(__dup=duplicate.fill_null(False))
    kept = _neighbour_flags(work.filter(~pl.col("__dup")))
    dups = work.filter(pl.col("__dup")).with_columns(spike=pl.lit(False), flatline=pl.lit(False))
    work = pl.concat([kept, dups], how="diagonal")
    if dups.height or not work[_ROW].is_sorted():
        work = work.sort(_ROW)
    v = pl.col(VALUE)
    negative = (v < 0) & ~pl.col("__neg_ok").fill_null(True)
    flags = {
        QcFlag.OUT_OF_RANGE: (((v < pl.col("__lo")) | (v > pl.col("__hi"))) & ~negative),
        QcFlag.NEGATIVE: negative,
        QcFlag.SPIKE: pl.col("spike"),
        QcFlag.FLATLINE: pl.col("flatline"),
        QcFlag.SOURCE_INVALID: _source_invalid(obs),
        QcFlag.DUPLICATE: pl.col("__dup"),
    }
    flags = {code: expr.fill_null(False) for code, expr in flags.items()}
    new = _flag_list(flags)
    if QC_FLAGS in obs.columns:
        new = pl.concat_list(pl.col(QC_FLAGS).fill_null([]), new).list.unique(maintain_order=True)
    return work.with_columns(new.alias(QC_FLAGS)).select([c for c in obs.columns if c != QC_FLAGS]
                                                         + [QC_FLAGS])
