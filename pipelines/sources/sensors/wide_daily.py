"""Madrid's open-data air-quality layout: one row per station x pollutant x day, 24 hours wide.

    PROVINCIA;MUNICIPIO;ESTACION;MAGNITUD;PUNTO_MUESTREO;ANO;MES;DIA;H01;V01;H02;V02;...;H24;V24
    28;079;004;8;28079004_8_8;2024;01;15;00034;V;00029;V;...;00000;N

`Hxx` is the mean of the hour ENDING at xx:00 and `Vxx` its validity flag (`V` valid, `N` not
valid), so H01 is the period 00:00-01:00 and H24 23:00-24:00 of the same local day
(Europe/Madrid; the normalisation applies the zone). Each record becomes one RAW_OBSERVATION row
per hour: `observed_at` `YYYY-MM-DD HH:00` (the period start), `period_hours` 1, `source_valid`
the flag as written.

* `station_id` is PROVINCIA (2 digits) + MUNICIPIO (3) + ESTACION (3), zero-padded: `28079004`,
  the first part of PUNTO_MUESTREO (which is optional here).
* `MADRID_PARAMETERS` maps the MAGNITUD codes of UrbanPulse's canonical parameters to their name
  and the agency's unit (CO in mg/m³, the rest in µg/m³); any other code is kept as
  `magnitud_<code>` (7 NO, 12 NOx, 20 toluene, 30 benzene, ...) with a null unit.
* Values are kept as written (`00034`) except that a decimal comma becomes a point (`1,2` ->
  `1.2`): the layout's decimal separator is the adapter's knowledge, not validation's. An empty
  hour is a missing value and gets no row.
* `source_position` is record index x 24 + hour index (0-23), so it alone tells rows apart
  (`record = position // 24`). A record with the wrong number of fields becomes one unreadable
  row at `record x 24`.

Madrid also publishes the current day as repeated intraday snapshots of the same records, where
hours not yet measured read `00000` with `N`: `upsert_snapshots` merges them (see there).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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

MADRID_SOURCE = "madrid"
SEPARATOR = ";"
HOURS = 24
MADRID_PARAMETERS: dict[int, tuple[str, str]] = {
    1: ("so2", "µg/m³"), 6: ("co", "mg/m³"), 8: ("no2", "µg/m³"),
    9: ("pm25", "µg/m³"), 10: ("pm10", "µg/m³"), 14: ("o3", "µg/m³"),
}
KEY_COLUMNS = ("PROVINCIA", "MUNICIPIO", "ESTACION", "MAGNITUD", "ANO", "MES", "DIA")
HOUR_COLUMNS = tuple(f"{kind}{hour:02d}" for hour in range(1, HOURS + 1) for kind in "HV")
_LINES_PER_BATCH = 16_384
_SNAPSHOT_KEY = (STATION_ID, PARAMETER, OBSERVED_AT)
_SCORE = "_snapshot_score"


def read_wide_daily(path: Path, batch_rows: int, source: str = MADRID_SOURCE) -> Iterator[pl.DataFrame]:
    """RAW_OBSERVATION frames of at most `batch_rows` rows from the Madrid-layout file `path`;
    `SourceFormatError` when the header lacks a key, hour or flag column."""
    check_batch_rows(batch_rows)
    header: list[str] = []
    for header_line, lines, too_long, start in line_batches(path, _LINES_PER_BATCH):
        if not lines:
            header = [name.upper() for name in split_header(header_line, SEPARATOR)]
            _check_header(header, path)
            continue
        frame = _observations(split_lines(lines, too_long, SEPARATOR, len(header)), header, start)
        frame = frame.with_columns(pl.lit(source).alias(SOURCE), pl.lit(str(path)).alias(SOURCE_FILE))
        yield from in_batches(to_raw_observation(frame), batch_rows)


def read_snapshots(paths: Iterable[Path], batch_rows: int) -> pl.DataFrame:
    """All rows of `paths` (oldest snapshot first) merged by `upsert_snapshots`."""
    frames = [frame for path in paths for frame in read_wide_daily(path, batch_rows)]
    return upsert_snapshots(pl.concat(frames)) if frames else to_raw_observation(_empty())


def upsert_snapshots(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per station, parameter and hour from raw rows of repeated snapshots.

    `rows` are in snapshot order (the files in the order given, each in file order). For each
    station, parameter and `observed_at`, the latest row wins, except that a placeholder never
    overwrites a real value: a placeholder is an `N` whose value is zero or empty, which is how
    the agency writes an hour it has not measured yet. An earlier valid `34` followed by a later
    `00000 N` therefore stays `34 V` (the later snapshot does not say the hour was bad, only that
    this file's hour column is a blank); a later `N` with a non-zero value is the agency
    invalidating the hour and does supersede it, as does a later `V` (also a valid zero). When
    all rows of an hour are placeholders the latest is kept, so the hour stays known as not
    valid. The kept row keeps its own `source_file` and `source_position`. Unreadable rows are
    kept as they are. Every hour thus appears once, never counted twice. Order is preserved.
    """
    value = pl.col(VALUE).str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
    placeholder = (pl.col(SOURCE_VALID).str.strip_chars().str.to_uppercase() == "N") & (
        value.is_null() | (value == 0)
    )
    order = pl.int_range(pl.len(), dtype=pl.Int64)
    score = pl.when(placeholder).then(order).otherwise(order + pl.len())
    scored = rows.with_columns(score.alias(_SCORE))  # a column: inside `over` it would restart per group
    keep = pl.col(PARAMETER).is_null() | (pl.col(_SCORE) == pl.col(_SCORE).max().over(_SNAPSHOT_KEY))
    return scored.filter(keep).drop(_SCORE)


def _check_header(header: list[str], path: Path) -> None:
    missing = [name for name in (*KEY_COLUMNS, *HOUR_COLUMNS) if name not in header]
    if missing:
        shown = ", ".join(missing[:12]) + (f" and {len(missing) - 12} more" if len(missing) > 12 else "")
        raise SourceFormatError(
            f"{path} is not in Madrid's hourly layout: its header lacks {shown}; the first line must be "
            f"PROVINCIA;MUNICIPIO;ESTACION;MAGNITUD;PUNTO_MUESTREO;ANO;MES;DIA;H01;V01;...;H24;V24"
        )


def _observations(split: pl.DataFrame, header: list[str], start: int) -> pl.DataFrame:
    """24 rows per readable record, one unreadable row per broken one."""
    split = split.rename({f"field_{i}": name for i, name in enumerate(header)}).with_columns(
        ((pl.int_range(pl.len(), dtype=pl.Int64) + start) * HOURS).alias(SOURCE_POSITION)
    )
    records = split.filter(pl.col("readable")).with_columns(*_record_columns())
    hours = [
        records.select(
            (pl.col(SOURCE_POSITION) + hour).alias(SOURCE_POSITION), STATION_ID, PARAMETER, UNIT,
            pl.concat_str(pl.col("_date"), pl.lit(f" {hour:02d}:00")).alias(OBSERVED_AT),
            pl.col(f"H{hour + 1:02d}").str.replace(",", ".", literal=True).alias(VALUE),
            pl.col(f"V{hour + 1:02d}").alias(SOURCE_VALID),
        )
        for hour in range(HOURS)
    ]
    long = pl.concat(hours).filter(pl.col(VALUE).is_not_null()).with_columns(
        pl.lit(1.0).alias(PERIOD_HOURS), pl.lit(None, pl.String).alias(UNREADABLE_RECORD)
    )
    broken = split.filter(~pl.col("readable"))
    broken = broken.select(
        SOURCE_POSITION,
        pl.Series(UNREADABLE_RECORD, [kept_text(text) for text in broken.get_column("line")], pl.String),
    )
    return pl.concat([long, broken], how="diagonal_relaxed").sort(SOURCE_POSITION)


def _record_columns() -> list[pl.Expr]:
    code = pl.col("MAGNITUD").cast(pl.Int64, strict=False)
    names = {key: name for key, (name, _) in MADRID_PARAMETERS.items()}
    units = {key: unit for key, (_, unit) in MADRID_PARAMETERS.items()}
    fallback = pl.concat_str(pl.lit("magnitud_"), code.cast(pl.String).fill_null(pl.col("MAGNITUD")))
    return [
        pl.concat_str(pl.col("PROVINCIA").str.zfill(2), pl.col("MUNICIPIO").str.zfill(3),
                      pl.col("ESTACION").str.zfill(3)).alias(STATION_ID),
        code.replace_strict(names, default=fallback, return_dtype=pl.String).alias(PARAMETER),
        code.replace_strict(units, default=None, return_dtype=pl.String).alias(UNIT),
        pl.format("{}-{}-{}", pl.col("ANO").str.zfill(4), pl.col("MES").str.zfill(2),
                  pl.col("DIA").str.zfill(2)).alias("_date"),
    ]


def _empty() -> pl.DataFrame:
    return pl.DataFrame({SOURCE_POSITION: []}, schema={SOURCE_POSITION: pl.Int64}).with_columns(
        pl.lit(None, pl.String).alias(name) for name in (STATION_ID, PARAMETER, VALUE, UNIT, OBSERVED_AT,
                                                        SOURCE_VALID, SOURCE, SOURCE_FILE, UNREADABLE_RECORD)
    ).with_columns(pl.lit(None, pl.Float64).alias(PERIOD_HOURS))
