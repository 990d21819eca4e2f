"""The live store on a PostgreSQL server, so that feed servers on several machines read one store.

Each city's store is one schema (`live_<city>_<random>`, named in `<home>/state/live/<city>.postgres`)
of the database the settings name (`backend.LIVE_STORE_URL_ENV`); several homes may share a
database. The store's code writes every
statement once, in the SQL that SQLite (the embedded default) speaks, and `PostgresConnection`
offers the small part of `sqlite3.Connection` the store uses (`execute`, `executemany`,
`executescript`, `in_transaction`, `with db:`), rewriting each statement with `translate`.

The rewrite is written here because no library does it: sqlglot (tried, 2026-12) keeps
`INSERT OR REPLACE` and `json_each` as they are and adds `NULLS FIRST` to conflict targets, which
PostgreSQL rejects. The rules, each tested in `tests/plumbing/live_store/test_postgres_sql.py`:

- `?` parameters become `%s` (and a literal `%` becomes `%%`);
- `INSERT OR REPLACE` becomes an upsert on the table's primary key, `INSERT OR IGNORE` an
  `ON CONFLICT DO NOTHING`, and in `DO UPDATE SET` a bare column of the target table is
  qualified with the table's name (PostgreSQL calls it ambiguous beside `excluded`);
- `col IN (SELECT value FROM json_each(?))` reads the JSON array with the column's type;
- the two-argument scalar `max(a, b)` / `min(a, b)` become `GREATEST` / `LEAST`;
- column types: INTEGER -> BIGINT (epoch microseconds), REAL -> DOUBLE PRECISION, TEXT compared
  byte-wise (`COLLATE "C"`, as SQLite does), no `WITHOUT ROWID`; `temp.` -> `pg_temp.`;
- a column name PostgreSQL reserves (`window`) is quoted;
- `PRAGMA table_info(t)` reads the information schema; other PRAGMAs (SQLite's cache, WAL and
  busy settings) have no meaning on a server and do nothing.

Transactions keep SQLite's semantics: `BEGIN IMMEDIATE` (every writer) takes the store's write
lock (a transaction-level advisory lock), so writers of one store run one after the other as they
do on SQLite; a reader's `BEGIN` is one REPEATABLE READ snapshot. Values travel as the SQLite
store keeps them: booleans as 0/1, sums as integers, and a NUL character (which PostgreSQL text
cannot hold) as U+FFFD.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Self

import psycopg
from psycopg import adapt, postgres
from psycopg.pq import TransactionStatus
from psycopg.types.string import StrDumperUnknown

from schemas.live import LiveTable

SCHEMA_PREFIX = "live_"
_WRITE_LOCK = 0  # the advisory lock's second key while a transaction writes (stream locks use others)
_INT8 = postgres.types["int8"].oid
_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "TEXT": 'TEXT COLLATE "C"'}
_JSON_IN = re.compile(r"(\b[\w.]+) IN \(SELECT value FROM json_each\(\?\)\)")
_UPSERT = re.compile(r"^\s*INSERT OR (REPLACE|IGNORE) INTO (\w+)", re.IGNORECASE)
_CONFLICT_SET = re.compile(r"\bDO UPDATE SET\b", re.IGNORECASE)
_INSERT_INTO = re.compile(r"^\s*INSERT\s+(?:OR \w+ )?INTO (\w+)", re.IGNORECASE)
# column names that PostgreSQL reserves (the live tables' names against pg_get_keywords(); a test
# keeps this list complete): quoted wherever a statement names them
RESERVED_COLUMNS = ("window",)
_RESERVED = re.compile(r'(?<![\w"])(' + "|".join(RESERVED_COLUMNS) + r')(?![\w"])')


def schema_of(path: Path) -> str | None:
    """The schema of the store at `path`: named in the file `<store>.postgres` beside where the
    SQLite file would be, which the first writer creates (None before that). The name carries a
    random part, so two homes (or two test runs) sharing one database never share a store."""
    try:
        return schema_file(path).read_text().strip() or None
    except FileNotFoundError:
        return None


def schema_file(path: Path) -> Path:
    return Path(path).with_suffix(".postgres")


def claim_schema(path: Path) -> str:
    """The store's schema, named now if no writer named it before (atomically: two writers starting
    at once agree on the first name written)."""
    if found := schema_of(path):
        return found
    stem = Path(path).stem.lower()
    plain = re.sub(r"[^a-z0-9_]", "_", stem)[:40]
    if plain != stem:  # another alphabet or punctuation: keep it apart from its look-alikes
        plain = f"{plain}_{hashlib.sha1(stem.encode()).hexdigest()[:6]}"
    name = f"{SCHEMA_PREFIX}{plain}_{secrets.token_hex(4)}"
    target = schema_file(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    draft = target.with_suffix(f".postgres-{secrets.token_hex(4)}")
    draft.write_text(name + "\n")
    try:
        os.link(draft, target)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return schema_of(path)


class _NoRows:
    """What a statement that does nothing on a server (a PRAGMA) returns."""

    rowcount = 0

    def fetchone(self):
        return None

    def fetchall(self) -> list:
        return []

    def __iter__(self):
        return iter(())


class PostgresConnection:
    """The part of `sqlite3.Connection` the live store uses, on a PostgreSQL connection."""

    def __init__(self, conn: psycopg.Connection, schema: str) -> None:
        self.conn, self.schema = conn, schema

    @property
    def in_transaction(self) -> bool:
        return self.conn.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence = (), *, parameters: Sequence | None = None):
        """As `sqlite3.Connection.execute` (`parameters`: the keyword DB-API readers such as
        `polars.read_database` pass)."""
        params = parameters if parameters is not None else params
        verb = sql.strip().upper()
        if verb == "BEGIN IMMEDIATE":
            self.conn.execute("BEGIN")
            self.take_write_lock()
            return _NoRows()
        if verb in ("BEGIN", "BEGIN DEFERRED"):
            self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            return _NoRows()
        statement = translate(sql)
        if statement is None:
            return _NoRows()
        return self.conn.execute(statement, tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence]):
        statement = translate(sql)
        cursor = self.conn.cursor()
        cursor.executemany(statement, [tuple(row) for row in rows])
        return cursor

    def executescript(self, script: str) -> None:
        """DDL, under the write lock: two processes creating the same tables at once would collide
        in PostgreSQL's catalogue (IF NOT EXISTS does not guard against that race)."""
        statements = [s for s in (translate(part) for part in script.split(";")) if s and s.strip()]
        with self.conn.transaction():
            self.take_write_lock()
            for statement in statements:
                self.conn.execute(statement)

    def take_write_lock(self) -> None:
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s), %s)", (self.schema, _WRITE_LOCK))

    def commit(self) -> None:
        if self.in_transaction:
            self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.conn.execute("ROLLBACK")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind, error, trace) -> None:
        """As `with sqlite3.Connection:`: commit an open transaction, or roll it back on error."""
        (self.rollback if kind else self.commit)()

    def close(self) -> None:
        self.conn.close()


def connect(url: str, path: Path, read_only: bool = False, create: bool = False) -> PostgresConnection:
    """A connection to the store of `path` in the database at `url` (autocommit, like the SQLite
    store's; `create` makes the schema where it is missing)."""
    schema = claim_schema(path) if create else schema_of(path)
    if schema is None:
        raise StoreServerError(f"no live store at {path} yet: start the stream, which creates it")
    options = f"-c search_path={schema}" + (" -c default_transaction_read_only=on" if read_only else "")
    try:
        conn = psycopg.connect(url, autocommit=True, options=options, application_name="urbanpulse")
    except psycopg.OperationalError as error:
        raise StoreServerError(f"cannot reach the live store's PostgreSQL server ({_safe(url)}): "
                               f"{str(error).strip().splitlines()[0]}; start it, or unset "
                               f"URBANPULSE_LIVE_STORE_URL to use the embedded SQLite store") from error
    _adapt(conn)
    db = PostgresConnection(conn, schema)
    if create:
        with conn.transaction():
            db.take_write_lock()
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    return db


class StoreServerError(RuntimeError):
    """The configured PostgreSQL server cannot be reached (the message says what to do)."""


def drop_schema(db: PostgresConnection) -> None:
    """Empty the city's store (a rebuild), under the write lock."""
    with db.conn.transaction():
        db.take_write_lock()
        db.conn.execute(f"DROP SCHEMA IF EXISTS {db.schema} CASCADE")
        db.conn.execute(f"CREATE SCHEMA {db.schema}")


def try_stream_lock(db: PostgresConnection, name: str) -> bool:
    """A session-level advisory lock held while one stream of a kind writes (`name`: its kind);
    the server frees it when the connection ends, a killed process included."""
    return db.conn.execute("SELECT pg_try_advisory_lock(hashtext(%s), hashtext(%s))",
                           (db.schema, name)).fetchone()[0]


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


# --- values --------------------------------------------------------------------------------

class _BoolAsInteger(adapt.Dumper):
    oid = _INT8

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class _TextWithoutNul(StrDumperUnknown):
    def dump(self, obj: str):
        return super().dump(obj.replace("\x00", "\ufffd") if "\x00" in obj else obj)


class _NumericAsNumber(adapt.Loader):
    """`sum()` of integers comes back as `numeric`: an int when whole, else a float (as SQLite)."""

    def load(self, data) -> int | float:
        text = bytes(data).decode()
        return float(text) if any(c in text for c in ".eEN") else int(text)


def _adapt(conn: psycopg.Connection) -> None:
    conn.adapters.register_dumper(bool, _BoolAsInteger)
    conn.adapters.register_dumper(str, _TextWithoutNul)
    conn.adapters.register_loader("numeric", _NumericAsNumber)


# --- statements ----------------------------------------------------------------------------

@lru_cache(maxsize=2_048)
def translate(sql: str) -> str | None:
    """The PostgreSQL form of one live-store statement (None: nothing to do on a server)."""
    stripped = sql.strip()
    upper = stripped.upper()
    if upper.startswith("PRAGMA"):
        found = re.match(r"PRAGMA table_info\((\w+)\)", stripped, re.IGNORECASE)
        if not found:
            return None
        return ("SELECT ordinal_position, column_name FROM information_schema.columns "
                f"WHERE table_schema = current_schema() AND table_name = '{found.group(1)}' "
                "ORDER BY ordinal_position")
    if upper.startswith(("CREATE TABLE", "CREATE TEMP TABLE", "ALTER TABLE")):
        stripped = _column_types(stripped)
    stripped = re.sub(r"\btemp\.", "pg_temp.", stripped)
    stripped = _JSON_IN.sub(_json_in, stripped)
    stripped = _scalar_extremes(stripped)
    stripped = _upsert(stripped)
    stripped = _qualify_conflict_updates(stripped)
    stripped = _RESERVED.sub(r'"\1"', stripped)
    return stripped.replace("%", "%%").replace("?", "%s")


def _column_types(ddl: str) -> str:
    ddl = re.sub(r"\s*WITHOUT ROWID", "", ddl, flags=re.IGNORECASE)
    return re.sub(r"\b(INTEGER|REAL|TEXT)\b", lambda m: _TYPES[m.group(1)], ddl)


def _column_type(name: str) -> str:
    """The SQL type of a column name across the live tables (one name has one type throughout)."""
    from plumbing.live_store.tables import sql_type  # the SQLite spelling, mapped below

    kinds = {sql_type(table.schema.field(name)) for table in _all_tables() if name in table.columns}
    if len(kinds) != 1:
        raise ValueError(f"live store column {name}: {len(kinds)} types across tables, cannot read a JSON list of it")
    return _TYPES[kinds.pop()].split()[0]


def _json_in(found: re.Match) -> str:
    column = found.group(1)
    kind = _column_type(column.rsplit(".", 1)[-1])
    value = "value" if kind == "TEXT" else f"value::{kind}"
    return f"{column} IN (SELECT {value} FROM jsonb_array_elements_text(?::jsonb) AS value)"


def _scalar_extremes(sql: str) -> str:
    """`max(a, b)` -> `GREATEST(a, b)`, `min(a, b)` -> `LEAST(a, b)`; one-argument aggregates stay."""
    out, position = [], 0
    for found in re.finditer(r"\b(max|min)\(", sql, re.IGNORECASE):
        if found.start() < position:
            continue
        end, commas = _closing(sql, found.end())
        if commas:
            name = "GREATEST" if found.group(1).lower() == "max" else "LEAST"
            inner = _scalar_extremes(sql[found.end():end])
            out += [sql[position:found.start()], f"{name}(", inner, ")"]
            position = end + 1
    return "".join(out) + sql[position:]


def _closing(sql: str, start: int) -> tuple[int, int]:
    """The index of the parenthesis closing the one before `start`, and its top-level commas."""
    depth, commas = 0, 0
    for index in range(start, len(sql)):
        char = sql[index]
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return index, commas
            depth -= 1
        elif char == "," and depth == 0:
            commas += 1
    raise ValueError(f"unbalanced parentheses in live store statement: {sql}")


def _upsert(sql: str) -> str:
    found = _UPSERT.match(sql)
    if not found:
        return sql
    verb, name = found.group(1).upper(), found.group(2)
    statement = f"INSERT INTO {name}" + sql[found.end():]
    table = _table(name)
    if verb == "IGNORE" or table is None or not table.primary_key:
        return statement + " ON CONFLICT DO NOTHING" if verb == "IGNORE" else statement
    columns = _inserted_columns(statement, table)
    updates = [c for c in columns if c not in table.primary_key]
    if not updates:
        return statement + " ON CONFLICT DO NOTHING"
    return (statement + f" ON CONFLICT ({', '.join(table.primary_key)}) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in updates))


def _inserted_columns(statement: str, table: LiveTable) -> list[str]:
    found = re.match(r"\s*INSERT INTO \w+ \(([^)]*)\)", statement)
    return [c.strip() for c in found.group(1).split(",")] if found else list(table.columns)


def _qualify_conflict_updates(sql: str) -> str:
    """In `DO UPDATE SET c = <expr>` (and its WHERE), a bare column of the target table is the
    stored row's: write it `table.c`, as PostgreSQL requires."""
    conflict = _CONFLICT_SET.search(sql)
    target = _INSERT_INTO.match(sql)
    if not conflict or not target:
        return sql
    name = target.group(1)
    table = _table(name)
    if table is None:
        return sql
    head, tail = sql[:conflict.end()], sql[conflict.end():]
    bare = re.compile(r"(?<![.\w])(" + "|".join(map(re.escape, table.columns)) + r")\b(?![.\w])(?!\s*=[^=])")
    qualified = []
    for part in re.split(r"(,\s*)(?=\w+\s*=[^=])", tail):  # assignments: `col = expr`
        found = re.match(r"(\s*\w+\s*=\s*)(.*)", part, re.DOTALL)
        if found:
            part = found.group(1) + bare.sub(rf"{name}.\1", found.group(2))
        qualified.append(part)
    return head + "".join(qualified)


def _table(name: str) -> LiveTable | None:
    _all_tables()
    return LiveTable.named(name)


def _all_tables() -> list[LiveTable]:
    """Every live table (requests, votes, sensors): their modules register them on import."""
    import plumbing.live_store.votes  # noqa: F401
    import schemas.live_sensors  # noqa: F401
    from schemas.live import _TABLES_BY_NAME

    return list(_TABLES_BY_NAME.values())
