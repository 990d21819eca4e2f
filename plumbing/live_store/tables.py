"""The live store's SQL, built from the table definitions in `schemas.live`.

Every statement names its columns, so adding a column to a table never shifts a positional
insert; times travel as epoch microseconds (UTC) and come back as UTC timestamps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import polars as pl
import pyarrow as pa

from schemas.live import LIVE_TABLES, LiveTable

MICROS = 1_000_000
# `column IN_JSON` with one parameter, a JSON list (`postgres.translate` reads it with the column's type)
IN_JSON = "IN (SELECT value FROM json_each(?))"


def micros(moment: datetime) -> int:
    return int(moment.timestamp() * MICROS)


def from_micros(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / MICROS, UTC)


def sql_type(field: pa.Field) -> str:
    kind = field.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "TEXT"
    if pa.types.is_floating(kind):
        return "REAL"
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_timestamp(kind):
        return "INTEGER"
    raise TypeError(f"live store column {field.name}: no SQLite type for {kind}")


def create_table(table: LiveTable) -> str:
    """`CREATE TABLE IF NOT EXISTS` (and its indexes) for one table."""
    columns = []
    for field in table.schema:
        column = f"{field.name} {sql_type(field)}"
        if table.primary_key == (field.name,) and sql_type(field) == "INTEGER" and not table.without_rowid:
            column += " PRIMARY KEY"  # the rowid itself
        elif not field.nullable:
            column += " NOT NULL"
        if field.name in table.defaults:
            column += f" DEFAULT {table.defaults[field.name]}"
        columns.append(column)
    if table.primary_key and not columns[table.schema.names.index(table.primary_key[0])].endswith("PRIMARY KEY"):
        columns.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
    statement = f"CREATE TABLE IF NOT EXISTS {table.name} ({', '.join(columns)})"
    statement += " WITHOUT ROWID;" if table.without_rowid else ";"
    indexes = [f"CREATE INDEX IF NOT EXISTS {name} ON {table.name} ({', '.join(on)});"
               for name, on in table.indexes.items()]
    return "\n".join([statement, *indexes])


def schema_script() -> str:
    return "\n".join(create_table(table) for table in LIVE_TABLES)


def insert(table: LiveTable, columns: Sequence[str] | None = None, replace: bool = True) -> str:
    """`INSERT [OR REPLACE] INTO table (named columns) VALUES (?, ...)`."""
    names = list(columns or table.columns)
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    return f"{verb} INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"


def select(table: LiveTable, columns: Sequence[str] | None = None, where: str = "") -> str:
    names = list(columns or table.columns)
    return f"SELECT {', '.join(names)} FROM {table.name}" + (f" WHERE {where}" if where else "")


def to_rows(frame: pl.DataFrame, table: LiveTable, columns: Sequence[str] | None = None):
    """The frame's rows in the table's column order, times as epoch microseconds."""
    names = list(columns or table.columns)
    times = [n for n in names if pa.types.is_timestamp(table.schema.field(n).type)]
    return frame.select(names).with_columns(pl.col(t).dt.epoch("us") for t in times).iter_rows()


def to_frame(rows: list[tuple], table: LiveTable, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Rows read from the table as a frame with the table's types (times as UTC timestamps)."""
    names = list(columns or table.columns)
    fields = [table.schema.field(n) for n in names]
    stored = {f.name: (pl.Int64 if pa.types.is_timestamp(f.type) else _polars_type(f.type)) for f in fields}
    frame = pl.DataFrame(rows, schema=stored, orient="row")
    return frame.with_columns(
        pl.col(f.name).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        for f in fields if pa.types.is_timestamp(f.type)
    )


def _polars_type(arrow_type: pa.DataType) -> pl.DataType:
    return pl.from_arrow(pa.array([], arrow_type)).dtype
