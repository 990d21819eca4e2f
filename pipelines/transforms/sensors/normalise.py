"""RAW_OBSERVATION rows -> OBSERVATION rows (canonical parameter and unit, UTC period, QC notes),
and a dead letter with a reason for every row that cannot become one.

The first rule a row breaks, in this order, is its reason (`SensorReason`):

1. `unreadable_row`: the adapter could not read the record (`unreadable_record` is set);
2. `unknown_station`: no station id, or (when `known_stations` is given) an id not in it. The
   set holds exact ids: matching a feed's spellings to the station list (`station_key`) is the
   caller's job, done once per feed before normalising, so this step stays a set look-up;
3. `unknown_parameter`: a name `models.sensors.parameters.canonical_parameter` does not know;
4. `unparseable_observed_at`: not `YYYY-MM-DD HH:MM[:SS[.f]]` (or with `T`), optionally followed
   by `Z` or an offset `+HH:MM` / `+HHMM`. A date without a time is refused too: it does not say
   which period it starts;
5. `non_numeric_value`: text, NaN, infinity, or an EMPTY value. Adapters give no row for a missing
   value, so an empty one reaching this step is an adapter or feed fault worth seeing, not a gap
   to count silently;
6. `unit_mismatch`: a unit that is unknown or cannot be converted to the parameter's (`ppb` for
   PM2.5). A null unit is `default_units[raw name]` (the adapter's table, e.g. `UCI_UNITS`),
   else the canonical unit.

Times with an offset (or `Z`) are instants. Local times are read in `timezone`:

* a local time that happens twice (the repeated hour when summer time ends) is read as the FIRST
  occurrence (summer time). A feed that writes the repeated hour twice gives two rows of the same
  station, parameter and local time: the first in file order (source_file, source_position) is
  the first occurrence, the second and later ones the later occurrence. Rows are compared within
  one batch (adapters batch in file order, so only a batch boundary falling exactly between the
  two rows loses this). All of them are flagged `dst_ambiguous`;
* a local time that never happens (the skipped hour when summer time starts) is shifted forward
  by the gap (02:30 -> 03:30 in Madrid, read with the offset before the change) and flagged
  `dst_nonexistent`.

`period_end` is `period_start + period_hours`; a null, non-positive or non-finite period is
`period_hours_default`. A `source_valid` the feed marks not valid (`N`, `false`, `0`, `invalid`...,
as `models.sensors.quality` reads it) adds `source_invalid` to `qc_flags`: the value stays an
observation and QC leaves it out of the aggregates.

Everything is vectorised; names, units and time texts are parsed once per distinct value (a
batch has few of them compared with its rows) and joined back.
"""

from __future__ import annotations

from datetime import datetime

import apache_beam as beam
import polars as pl

from models.sensors.parameters import (
    canonical_parameter,
    canonical_unit,
    unit_conversion,
    with_default_unit,
)
from models.sensors.quality import INVALID_SOURCE_TEXT
from plumbing.dead_letters import dead_letter_rows
from schemas.requests import (
    SCHEMA_VERSION_COLUMN,
    SOURCE,
    SOURCE_FILE,
    SOURCE_POSITION,
    UNREADABLE_RECORD,
)
from schemas.sensors import (
    OBSERVATION,
    OBSERVED_AT,
    PARAMETER,
    PERIOD_END,
    PERIOD_HOURS,
    PERIOD_START,
    QC_FLAGS,
    RAW_OBSERVATION,
    SENSOR_SCHEMA_VERSION,
    SOURCE_VALID,
    STATION_ID,
    UNIT,
    VALUE,
    QcFlag,
    SensorReason,
)

STAGE = "normalise_observations"
RAW_FIELDS = (STATION_ID, PARAMETER, VALUE, UNIT, OBSERVED_AT, PERIOD_HOURS, SOURCE_VALID)
OBSERVATIONS, DEAD = "observations", "dead_letters"
_AWARE_FORMATS = ("%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M%z")
_LOCAL_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M")
_BEFORE_GAP = pl.duration(hours=6)  # a point safely before a skipped hour, to learn the offset then
_STATION, _PARAM, _NUM, _FACTOR, _OFFSET = "_station", "_param", "_num", "_factor", "_offset"
_LOCAL, _FIRST, _LATER, _AMBIGUOUS, _NONEXISTENT = "_local", "_first", "_later", "_ambiguous", "_nonexistent"
_REASON, _DETAIL, _START, _UNIT_USED = "_reason", "_detail", "_start", "_unit_used"


def _complete(raw: pl.DataFrame) -> pl.DataFrame:
    """`raw` with every RAW_OBSERVATION column (absent optional ones as nulls)."""
    dtypes = pl.Schema(RAW_OBSERVATION)  # polars types of the Arrow schema
    missing = [pl.lit(None, dtypes[name]).alias(name) for name in dtypes if name not in raw.columns]
    return raw.with_columns(missing) if missing else raw


def _units(raw: pl.DataFrame, default_units: dict[str, str] | None) -> pl.DataFrame:
    """One row per distinct (raw parameter, unit): canonical parameter, factor and offset."""
    pairs = raw.select(PARAMETER, UNIT).unique().with_columns(canonical_parameter(pl.col(PARAMETER)).alias(_PARAM))
    pairs = pairs.with_columns(with_default_unit(pl.col(UNIT), pl.col(PARAMETER), default_units).alias(_UNIT_USED))
    factor, offset = unit_conversion(pl.col(_UNIT_USED), pl.col(_PARAM))
    return pairs.with_columns(factor.alias(_FACTOR), offset.alias(_OFFSET))


def _coalesced(text: pl.Expr, formats: tuple[str, ...]) -> pl.Expr:
    return pl.coalesce([text.str.to_datetime(f, time_unit="us", strict=False) for f in formats])


def _utc(local: pl.Expr, timezone: str, ambiguous: str) -> pl.Expr:
    """Naive local times in `timezone` as naive UTC; null where the local time does not exist."""
    zoned = local.dt.replace_time_zone(timezone, ambiguous=ambiguous, non_existent="null")
    return zoned.dt.convert_time_zone("UTC").dt.replace_time_zone(None)


def _times(raw: pl.DataFrame, timezone: str) -> pl.DataFrame:
    """One row per distinct `observed_at` text: its local reading, the UTC instant of its first
    and of its later occurrence (the same unless ambiguous), and how the local time was read."""
    text = pl.col(OBSERVED_AT).str.strip_chars().str.replace("T", " ", literal=True).str.replace(r"[Zz]$", "+00:00")
    aware = _coalesced(text, _AWARE_FORMATS).dt.replace_time_zone(None)  # UTC, naive
    local = pl.when(aware.is_null()).then(_coalesced(text, _LOCAL_FORMATS))

    before = pl.col(_LOCAL) - _BEFORE_GAP
    shifted = pl.col(_LOCAL) - (before - _utc(before, timezone, "earliest"))  # the offset before the gap
    frame = raw.select(OBSERVED_AT).unique().with_columns(aware.alias("_aware"), local.alias(_LOCAL))
    frame = frame.with_columns(_utc(pl.col(_LOCAL), timezone, "earliest").alias("_early"),
                               _utc(pl.col(_LOCAL), timezone, "latest").alias("_late"))
    nonexistent = pl.col(_LOCAL).is_not_null() & pl.col("_early").is_null()
    return frame.select(
        OBSERVED_AT, _LOCAL,
        pl.coalesce("_aware", "_early", shifted).dt.replace_time_zone("UTC").alias(_FIRST),
        pl.coalesce("_aware", "_late", shifted).dt.replace_time_zone("UTC").alias(_LATER),
        (pl.col("_early") != pl.col("_late")).fill_null(False).alias(_AMBIGUOUS),
        nonexistent.alias(_NONEXISTENT),
    )


def _rules(known_stations: set[str] | None) -> list[tuple[pl.Expr, str, pl.Expr]]:
    station = pl.col(_STATION)
    unknown_station = station.is_null() | (station == "")
    if known_stations is not None:
        unknown_station = unknown_station | ~station.is_in(sorted(known_stations))
    value = pl.col(_NUM)
    return [
        (pl.col(UNREADABLE_RECORD).is_not_null(), SensorReason.UNREADABLE_ROW,
         pl.lit("the adapter could not read the record")),
        (unknown_station, SensorReason.UNKNOWN_STATION,
         pl.format("the station {} is not in the station list", station.fill_null("(none)"))),
        (pl.col(_PARAM).is_null(), SensorReason.UNKNOWN_PARAMETER,
         pl.format("UrbanPulse has no canonical parameter for {}", pl.col(PARAMETER).fill_null("(none)"))),
        (pl.col(_FIRST).is_null(), SensorReason.UNPARSEABLE_TIME,
         pl.format("observed_at {} is not YYYY-MM-DD HH:MM[:SS] with an optional offset",
                   pl.col(OBSERVED_AT).fill_null("(none)"))),
        (value.is_null() | ~value.is_finite(), SensorReason.NON_NUMERIC,
         pl.format("the value {} is not a finite number", pl.col(VALUE).fill_null("(none)"))),
        (pl.col(_FACTOR).is_null(), SensorReason.UNIT_MISMATCH,
         pl.format("the unit {} cannot be converted to {} for {}", pl.col(_UNIT_USED).fill_null("(none)"),
                   canonical_unit(pl.col(_PARAM)), pl.col(_PARAM))),
    ]


def _judged(raw: pl.DataFrame, timezone: str, default_units: dict[str, str] | None,
            known_stations: set[str] | None) -> pl.DataFrame:
    """`raw` with the parsed columns, and the reason of the rows that break a rule."""
    frame = (
        raw.join(_units(raw, default_units), on=[PARAMETER, UNIT], how="left", nulls_equal=True, maintain_order="left")
        .join(_times(raw, timezone), on=OBSERVED_AT, how="left", nulls_equal=True, maintain_order="left")
        .with_columns(
            pl.col(STATION_ID).str.strip_chars().alias(_STATION),
            pl.col(VALUE).str.strip_chars().cast(pl.Float64, strict=False).alias(_NUM),
        )
    )
    reason = pl.lit(None, pl.String)
    for broken, name, _why in reversed(_rules(known_stations)):
        reason = pl.when(broken).then(pl.lit(name)).otherwise(reason)
    return frame.with_columns(reason.alias(_REASON))


def _with_detail(dead: pl.DataFrame, known_stations: set[str] | None) -> pl.DataFrame:
    """The dead rows with the detail of their reason (worded for these rows only)."""
    detail = pl.lit(None, pl.String)
    for _broken, name, why in reversed(_rules(known_stations)):
        detail = pl.when(pl.col(_REASON) == name).then(why).otherwise(detail)
    return dead.with_columns(detail.alias(_DETAIL))


def _starts(valid: pl.DataFrame) -> pl.Series:
    """The UTC period start of every valid row: an ambiguous local time's first row (in file
    order) per station, parameter and local time is the first occurrence, the others the later."""
    if not valid.get_column(_AMBIGUOUS).any():
        return valid.get_column(_FIRST).alias(_START)
    row = "_row"
    ambiguous = valid.with_row_index(row).filter(pl.col(_AMBIGUOUS)).sort(SOURCE_FILE, SOURCE_POSITION)
    later = ambiguous.filter(pl.int_range(pl.len()).over(_STATION, _PARAM, _LOCAL) > 0).get_column(row)
    is_later = pl.repeat(False, valid.height, dtype=pl.Boolean, eager=True).scatter(later, True)
    return valid.select(pl.when(is_later).then(pl.col(_LATER)).otherwise(pl.col(_FIRST)).alias(_START)).to_series()


_FLAG_BITS = (QcFlag.SOURCE_INVALID, QcFlag.DST_AMBIGUOUS, QcFlag.DST_NONEXISTENT)
_CODE = "_flag_code"
_FLAG_LISTS = pl.DataFrame({
    _CODE: range(2 ** len(_FLAG_BITS)),
    QC_FLAGS: [[flag for bit, flag in enumerate(_FLAG_BITS) if code >> bit & 1] for code in range(2 ** len(_FLAG_BITS))],
}, schema={_CODE: pl.UInt8, QC_FLAGS: pl.List(pl.String)})


def _with_flags(valid: pl.DataFrame) -> pl.DataFrame:
    """`valid` with `qc_flags`: a bit per flag, then a join to the 8 possible lists (building a
    list per row is 100 times slower)."""
    invalid = pl.col(SOURCE_VALID).str.strip_chars().str.to_lowercase().is_in(INVALID_SOURCE_TEXT).fill_null(False)
    bits = [invalid, pl.col(_AMBIGUOUS), pl.col(_NONEXISTENT)]
    code = pl.sum_horizontal([bit.cast(pl.UInt8) * (1 << i) for i, bit in enumerate(bits)]).cast(pl.UInt8)
    return valid.with_columns(code.alias(_CODE)).join(_FLAG_LISTS, on=_CODE, how="left", maintain_order="left")


def _observations(valid: pl.DataFrame, period_hours_default: float) -> pl.DataFrame:
    hours = pl.col(PERIOD_HOURS)
    hours = pl.when(hours.is_finite() & (hours > 0)).then(hours).otherwise(pl.lit(float(period_hours_default)))
    start = _starts(valid)
    frame = _with_flags(valid.with_columns(start)).select(
        pl.col(_STATION).alias(STATION_ID),
        pl.col(_PARAM).alias(PARAMETER),
        (pl.col(_NUM) * pl.col(_FACTOR) + pl.col(_OFFSET)).alias(VALUE),
        canonical_unit(pl.col(_PARAM)).alias(UNIT),
        pl.col(_START).alias(PERIOD_START),
        (pl.col(_START) + pl.duration(microseconds=(hours * 3_600_000_000).round().cast(pl.Int64))).alias(PERIOD_END),
        pl.col(QC_FLAGS),
        pl.col(SOURCE), pl.col(SOURCE_FILE), pl.col(SOURCE_POSITION),
        pl.lit(SENSOR_SCHEMA_VERSION).alias(SCHEMA_VERSION_COLUMN),
    )
    return pl.from_arrow(frame.to_arrow().cast(OBSERVATION))  # type: ignore[return-value]


def normalise_observations(
    raw: pl.DataFrame, timezone: str, default_units: dict[str, str] | None, known_stations: set[str] | None,
    failed_at: datetime, period_hours_default: float = 1.0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(OBSERVATION rows, dead letters) of one RAW_OBSERVATION batch; every row is in one of them."""
    frame = _judged(_complete(raw), timezone, default_units, known_stations)
    broken = _with_detail(frame.filter(pl.col(_REASON).is_not_null()), known_stations)
    dead = dead_letter_rows(broken, pl.col(_REASON), pl.col(_DETAIL),
                            STAGE, failed_at, payload=RAW_FIELDS)
    return _observations(frame.filter(pl.col(_REASON).is_null()), period_hours_default), dead


class _Normalise(beam.DoFn):
    def __init__(self, timezone: str, default_units: dict[str, str] | None, known_stations: set[str] | None,
                 failed_at: datetime) -> None:
        self.timezone, self.default_units, self.failed_at = timezone, default_units, failed_at
        self.known_stations = None if known_stations is None else frozenset(known_stations)

    def process(self, batch: pl.DataFrame):
        observations, dead = normalise_observations(batch, self.timezone, self.default_units,
                                                    self.known_stations, self.failed_at)
        if dead.height:
            yield beam.pvalue.TaggedOutput(DEAD, dead)
        if observations.height:
            yield observations


class NormaliseObservations(beam.PTransform):
    """RAW_OBSERVATION frame batches in; OBSERVATION frames out (main, empty ones dropped) and
    dead-letter frames (tagged `dead_letters`)."""

    def __init__(self, timezone: str, default_units: dict[str, str] | None, known_stations: set[str] | None,
                 failed_at: datetime) -> None:
        super().__init__()
        self.timezone, self.default_units = timezone, default_units
        self.known_stations, self.failed_at = known_stations, failed_at

    def expand(self, batches):
        return batches | "Normalise" >> beam.ParDo(
            _Normalise(self.timezone, self.default_units, self.known_stations, self.failed_at)
        ).with_output_types(pl.DataFrame).with_outputs(DEAD, main=OBSERVATIONS)
