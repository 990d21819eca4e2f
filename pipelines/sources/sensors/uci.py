"""UCI Beijing multi-site air-quality files (`PRSA_Data_<station>_20130301-20170228.csv`).

    "No","year","month","day","hour","PM2.5","PM10","SO2","NO2","CO","O3","TEMP","PRES","DEWP","RAIN","wd","WSPM","station"
    1,2013,3,1,0,4,4,4,7,300,77,-0.7,1023,-18.8,0,"NNW",4.4,"Aotizhongxin"

One wide row per station-hour becomes one RAW_OBSERVATION row per parameter (`UCI_PARAMETERS`,
named as the file names them). Decisions:

* `observed_at` is the local period start `YYYY-MM-DD HH:00` (Asia/Shanghai, no offset: the
  normalisation applies the station's time zone); `hour` is the start of the averaging hour,
  `period_hours` is 1. The text is padded, not checked: validation dead-letters a bad time.
* `unit` is null: the file names none. `UCI_UNITS` says what they are (CO in µg/m³ there, not
  the mg/m³ of most feeds), for the caller's parameter table.
* `NA` (and an empty field) is a missing value, not a bad row: it gets no row at all, so the
  aggregates' coverage counts that hour as missing. `UciStats` counts them per parameter.
* `wd` (wind direction as compass text, `NNW`) is not a measurement on a numeric scale and is
  skipped; so are `No` (the file's row number) and any column UrbanPulse does not know.
* `source_position` is the 0-based index of the data record in the file (blank lines are not
  records); the parameter tells a record's rows apart, so `(source_file, source_position,
  parameter)` is unique.
* A record with the wrong number of fields (or longer than `MAX_RECORD_CHARS`) becomes one row
  with `unreadable_record` holding its text and a null parameter.

Fields are split on `,` with polars, a batch of lines at a time (the 35k-row files take ~0.1 s);
quotes are removed around fields but do not protect commas (UCI writes none inside fields).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.limits import kept_text
from pipelines.sources.sensors import (
    check_batch_rows,
    in_batches,
    line_batches,
    split_header,
    split_lines,
    to_raw_observation,
)
from schemas.requests import SOURCE, SOURCE_FILE, SOURCE_POSITION, UNREADABLE_RECORD
from schemas.sensors import (
    OBSERVED_AT,
    PARAMETER,
    PERIOD_HOURS,
    SOURCE_VALID,
    STATION_ID,
    UNIT,
    VALUE,
)

UCI_SOURCE = "uci_beijing"
SEPARATOR = ","
MISSING = "NA"
TIME_COLUMNS = ("year", "month", "day", "hour")
STATION_COLUMN = "station"
SKIPPED_COLUMNS = ("No", "wd")
UCI_UNITS: dict[str, str] = {
    "PM2.5": "µg/m³", "PM10": "µg/m³", "SO2": "µg/m³", "NO2": "µg/m³", "CO": "µg/m³", "O3": "µg/m³",
    "TEMP": "°C", "PRES": "hPa", "DEWP": "°C", "RAIN": "mm", "WSPM": "m/s",
}
UCI_PARAMETERS = tuple(UCI_UNITS)
_LINES_PER_BATCH = 65_536
_ORDER = "_order"


@dataclass
class UciStats:
    """What one read saw, filled in as the batches are read: records, unreadable records,
    observations delivered, and missing (`NA` or empty) values per parameter."""

    records: int = 0
    unreadable: int = 0
    observations: int = 0
    missing: dict[str, int] = field(default_factory=dict)


def read_uci(
    path: Path, batch_rows: int, stats: UciStats | None = None, source: str = UCI_SOURCE
) -> Iterator[pl.DataFrame]:
    """RAW_OBSERVATION frames of at most `batch_rows` rows from the UCI file `path`.

    Raises `SourceFormatError` when the header lacks the time, station or parameter columns.
    Pass a `UciStats` to learn how many values were missing.
    """
    check_batch_rows(batch_rows)
    stats = stats if stats is not None else UciStats()
    header: list[str] = []
    for header_line, lines, too_long, start in line_batches(path, _LINES_PER_BATCH):
        if not lines:
            header = split_header(header_line, SEPARATOR)
            _check_header(header, path)
            continue
        frame = _observations(split_lines(lines, too_long, SEPARATOR, len(header)), header, start, stats)
        frame = frame.with_columns(pl.lit(source).alias(SOURCE), pl.lit(str(path)).alias(SOURCE_FILE))
        yield from in_batches(to_raw_observation(frame), batch_rows)


def parameters_of(header: list[str]) -> list[str]:
    """The UCI parameters among `header`'s columns, in the file's order."""
    return [name for name in header if name in UCI_UNITS]


def _check_header(header: list[str], path: Path) -> None:
    missing = [name for name in (*TIME_COLUMNS, STATION_COLUMN) if name not in header]
    if not parameters_of(header):
        missing.append("one of " + ", ".join(UCI_PARAMETERS))
    if missing:
        raise SourceFormatError(
            f"{path} is not a UCI Beijing multi-site file: its header lacks {'; '.join(missing)} "
            f"(found: {', '.join(header) or 'nothing'}); the first line must be "
            f"No,year,month,day,hour,PM2.5,...,wd,WSPM,station (names are case-sensitive)"
        )


def _observations(split: pl.DataFrame, header: list[str], start: int, stats: UciStats) -> pl.DataFrame:
    """Long rows of the readable records and one unreadable row per broken record."""
    names = {f"field_{i}": name for i, name in enumerate(header) if name not in SKIPPED_COLUMNS}
    split = split.with_columns((pl.int_range(pl.len()) + start).alias(SOURCE_POSITION))
    readable = split.filter(pl.col("readable")).select(SOURCE_POSITION, *names).rename(names)
    parameters = parameters_of(header)
    order = {name: index for index, name in enumerate(parameters)}
    year, month, day, hour = (pl.col(name).str.zfill(width) for name, width in zip(TIME_COLUMNS, (4, 2, 2, 2)))
    long = (
        readable.with_columns(
            pl.col(STATION_COLUMN).alias(STATION_ID),
            pl.format("{}-{}-{} {}:00", year, month, day, hour).alias(OBSERVED_AT),
        )
        .unpivot(on=parameters, index=[SOURCE_POSITION, STATION_ID, OBSERVED_AT],
                 variable_name=PARAMETER, value_name=VALUE)
    )
    is_missing = pl.col(VALUE).is_null() | (pl.col(VALUE) == MISSING)
    _count(stats, long.filter(is_missing), split.height, split.height - readable.height)
    long = long.filter(~is_missing).with_columns(
        pl.col(PARAMETER).replace_strict(order, return_dtype=pl.Int64).alias(_ORDER),
        pl.lit(1.0).alias(PERIOD_HOURS),
        pl.lit(None, pl.String).alias(UNREADABLE_RECORD),
    )
    stats.observations += long.height
    broken = split.filter(~pl.col("readable"))
    broken = broken.select(
        SOURCE_POSITION,
        pl.Series(UNREADABLE_RECORD, [kept_text(text) for text in broken.get_column("line")], pl.String),
        pl.lit(-1, pl.Int64).alias(_ORDER),
    )
    frame = pl.concat([long, broken], how="diagonal_relaxed").sort(SOURCE_POSITION, _ORDER)
    return frame.with_columns(pl.lit(None, pl.String).alias(UNIT), pl.lit(None, pl.String).alias(SOURCE_VALID))


def _count(stats: UciStats, missing: pl.DataFrame, records: int, unreadable: int) -> None:
    stats.records += records
    stats.unreadable += unreadable
    for name, count in missing.group_by(PARAMETER).len().iter_rows():
        stats.missing[name] = stats.missing.get(name, 0) + count
