"""Generic sensor tables (CSV, JSON Lines, Parquet) through a TOML mapping: counters, noise, tidy exports.

    # sensors.toml
    format = "csv"                 # or jsonl, parquet (default: by the file's extension)
    separator = ","
    [columns]                      # raw field <- the file's column (defaults: the field's own name)
    station_id = "counter_id"
    observed_at = "timestamp"
    value = "count"
    [constants]                    # a field the file does not have, the same for every row
    parameter = "count"
    unit = "count"
    period_hours = 1
    [wide]                         # optional: one column per parameter, melted into rows
    parameters = ["pm25", "no2"]

Without a mapping the file's columns are taken by their own names, which reads the long layout
of the pandas peer of `make bench-sensors` (`station_id, parameter, period_start, value`) and
UrbanPulse's own exports: `period_start` is accepted for `observed_at`. Polars reads the file
(multithreaded, every column as text; a CSV batch by batch with its streaming engine, so a file
of any size reads in bounded memory); a CSV polars cannot split (a line with too many fields)
is read on with Python's `csv` module, where such a line becomes one unreadable row. Values
missing in a row (an empty cell) give no row, as in the other sensor adapters: coverage counts
them as missing.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.limits import kept_text
from pipelines.sources.sensors import to_raw_observation
from schemas.requests import SOURCE, SOURCE_FILE, SOURCE_POSITION, UNREADABLE_RECORD
from schemas.sensors import (
    OBSERVED_AT,
    PARAMETER,
    PERIOD_HOURS,
    PERIOD_START,
    SOURCE_VALID,
    STATION_ID,
    UNIT,
    VALUE,
)

FIELDS = (STATION_ID, PARAMETER, VALUE, UNIT, OBSERVED_AT, PERIOD_HOURS, SOURCE_VALID)
FORMATS = ("csv", "jsonl", "parquet")
ALIASES = {OBSERVED_AT: (OBSERVED_AT, PERIOD_START)}


@dataclass(frozen=True)
class SensorMapping:
    format: str | None = None
    separator: str = ","
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    wide: tuple[str, ...] = ()


def load_sensor_mapping(path: Path | None) -> SensorMapping:
    if path is None:
        return SensorMapping()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SourceFormatError(f"cannot read the sensor mapping {path}: {error}") from None
    unknown = sorted(set(raw.get("columns", {})) - set(FIELDS)) + sorted(set(raw.get("constants", {})) - set(FIELDS))
    if unknown or set(raw) - {"format", "separator", "columns", "constants", "wide"}:
        raise SourceFormatError(f"{path}: unknown keys {unknown or sorted(set(raw))}; columns and constants name "
                                f"the fields {', '.join(FIELDS)}")
    return SensorMapping(raw.get("format"), raw.get("separator", ","), dict(raw.get("columns", {})),
                         {k: str(v) for k, v in raw.get("constants", {}).items()},
                         tuple(raw.get("wide", {}).get("parameters", ())))


def read_table(path: Path, batch_rows: int, mapping: SensorMapping, source: str = "sensors") -> Iterator[pl.DataFrame]:
    """Raw observation batches of a CSV, JSON Lines or Parquet sensor file."""
    fmt = mapping.format or {".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}.get(path.suffix, "csv")
    if fmt not in FORMATS:
        raise SourceFormatError(f"sensor mapping format {fmt!r} is not one of {', '.join(FORMATS)}")
    frames = _csv_batches(path, mapping.separator, batch_rows) if fmt == "csv" else [_read_text_columns(path, fmt)]
    for frame in frames:
        rows = _raw_rows(frame, mapping, path).with_columns(pl.lit(source).alias(SOURCE),
                                                            pl.lit(str(path)).alias(SOURCE_FILE))
        for start in range(0, rows.height, batch_rows):
            yield to_raw_observation(rows.slice(start, batch_rows))


def _csv_batches(path: Path, separator: str, batch_rows: int) -> Iterator[pl.DataFrame]:
    """A CSV as text columns, `batch_rows` rows at a time, read by polars' streaming engine (the
    file is never whole in memory). A file polars cannot split (a line with too many fields) is
    read on by Python's `csv` module from the first record polars had not given."""
    given = 0
    try:
        batches = (pl.scan_csv(path, separator=separator, infer_schema=False).with_row_index(SOURCE_POSITION)
                   .collect_batches(chunk_size=batch_rows, lazy=True))
        for batch in batches:
            given += batch.height
            yield batch
    except pl.exceptions.ComputeError:
        rest = _read_csv_by_lines(path, separator)
        yield rest.filter(pl.col(SOURCE_POSITION) >= given)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise SourceFormatError(f"cannot read sensor file {path}: {error}") from None


def _read_text_columns(path: Path, fmt: str) -> pl.DataFrame:
    """A Parquet or JSON Lines file, every column as text."""
    try:
        if fmt == "parquet":
            frame = pl.read_parquet(path)
            return frame.with_columns(pl.all().cast(pl.String)).with_row_index(SOURCE_POSITION)
        return pl.read_ndjson(path, infer_schema_length=None).with_columns(
            pl.all().cast(pl.String)).with_row_index(SOURCE_POSITION)
    except pl.exceptions.ComputeError:
        raise SourceFormatError(f"{path} cannot be read as {fmt}: is it the right format?") from None
    except OSError as error:
        raise SourceFormatError(f"cannot read sensor file {path}: {error}") from None


def _read_csv_by_lines(path: Path, separator: str) -> pl.DataFrame:
    """The slow path: Python's csv module, a line with the wrong number of fields kept as text."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        rows = csv.reader(handle, delimiter=separator)
        header = next(rows, [])
        records = [(fields, None) if len(fields) == len(header) else ([None] * len(header), kept_text(separator.join(fields)))
                   for fields in rows if fields]
    frame = pl.DataFrame([r[0] for r in records], schema=dict.fromkeys(header, pl.String), orient="row")
    return frame.with_columns(pl.Series(UNREADABLE_RECORD, [r[1] for r in records], pl.String)).with_row_index(
        SOURCE_POSITION)


def _column(frame: pl.DataFrame, name: str, mapping: SensorMapping, path: Path) -> pl.Expr:
    if name in mapping.constants:
        return pl.lit(mapping.constants[name], pl.String)
    wanted = [mapping.columns[name]] if name in mapping.columns else list(ALIASES.get(name, (name,)))
    found = next((c for c in wanted if c in frame.columns), None)
    if found is None:
        if name in (STATION_ID, VALUE, OBSERVED_AT) or (name == PARAMETER and not mapping.wide):
            raise SourceFormatError(f"{path} has no column {' or '.join(wanted)!r} for {name} (found: "
                                    f"{', '.join(c for c in frame.columns if c != SOURCE_POSITION)[:300]}); "
                                    "name it in the mapping's [columns] or give it in [constants]")
        return pl.lit(None, pl.String)
    return pl.col(found).cast(pl.String)


def _raw_rows(frame: pl.DataFrame, mapping: SensorMapping, path: Path) -> pl.DataFrame:
    if UNREADABLE_RECORD not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(UNREADABLE_RECORD))
    if mapping.wide:
        missing = [c for c in mapping.wide if c not in frame.columns]
        if missing:
            raise SourceFormatError(f"{path} has no columns {missing} the mapping's [wide] parameters name")
        frame = frame.unpivot(on=list(mapping.wide), index=[c for c in frame.columns if c not in mapping.wide],
                              variable_name="__parameter", value_name="__value")
        mapping = SensorMapping(mapping.format, mapping.separator,
                                {**mapping.columns, PARAMETER: "__parameter", VALUE: "__value"}, mapping.constants)
    rows = frame.select(
        pl.col(SOURCE_POSITION).cast(pl.Int64),
        *[_column(frame, name, mapping, path).alias(name) for name in FIELDS],
        pl.col(UNREADABLE_RECORD),
    ).with_columns(pl.col(PERIOD_HOURS).cast(pl.Float64, strict=False))
    unreadable = pl.col(UNREADABLE_RECORD).is_not_null()
    blank = pl.col(VALUE).is_null() | (pl.col(VALUE).str.strip_chars() == "")
    return rows.filter(unreadable | ~blank)
