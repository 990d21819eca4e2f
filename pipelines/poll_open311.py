"""Following a city's Open311 GeoReport v2 endpoint: new and changed requests into the landing log.

Each cycle asks `GET requests.json` (or `.xml`) for time windows from the saved cursor up to now,
never longer than the spec's 90 days, re-reading the last `lookback` before the cursor so that
changes to recent requests are seen even where a server filters `start_date` / `end_date` on
`requested_datetime` (the spec) rather than `updated_datetime` (what several servers do). A
window that answers the spec's 1,000-result cap is split in two and asked again. Answers are read
by UrbanPulse's own `open311-json` / `open311-xml` sources into raw request rows.

A row is landed only when its version (a digest of its Open311 fields) differs from the one last
landed for its request id, so a request is never landed twice in the same version. Landing and
the poller's state (versions, cursor) cannot share one transaction, so a cycle first records
what it is about to land with a token, lands one segment whose origin names the token, then
commits the state; a poller killed in between finds the token's segment in the log at its next
start and commits that state instead of landing again (`recover`). Transport errors, 5xx and 429
answers are retried with exponential backoff (honouring `Retry-After`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import polars as pl
import pyarrow as pa

from pipelines.sources.requests import read_raw_batches
from plumbing.landing import SEGMENT_ROWS, LandingLog
from plumbing.transactions import write_transaction
from schemas import open311 as o3
from schemas import requests as rq

WINDOW = timedelta(days=o3.MAX_WINDOW_DAYS)
DEFAULT_LOOKBACK = timedelta(days=7)
SMALLEST_WINDOW = timedelta(seconds=1)
WHOLE_SECONDS_MARGIN = timedelta(seconds=2)
ORIGIN_PREFIX = "open311-poll:"
RETRIES, FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS = 5, 1.0, 60.0


class PollError(RuntimeError):
    """The endpoint could not be read (after the retries), or answered what is not Open311."""


@dataclass
class PollReport:
    windows: int = 0
    fetched: int = 0
    landed: int = 0
    unchanged: int = 0
    segments: list[int] = field(default_factory=list)
    cursor: datetime | None = None


class PollState:
    """Cursor, versions landed, and the cycle in flight, in `state/open311_poll/<city>/<source>.sqlite`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(
            "CREATE TABLE IF NOT EXISTS cursor (key TEXT PRIMARY KEY, value TEXT);"
            "CREATE TABLE IF NOT EXISTS versions (id TEXT PRIMARY KEY, version TEXT NOT NULL);"
            "CREATE TABLE IF NOT EXISTS pending (token TEXT PRIMARY KEY, first_seq INTEGER, cursor TEXT,"
            " versions TEXT);"
        )

    def close(self) -> None:
        self.db.close()

    def cursor(self) -> datetime | None:
        row = self.db.execute("SELECT value FROM cursor WHERE key = 'cursor'").fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def versions_of(self, ids: list[str]) -> dict[str, str]:
        rows = self.db.execute("SELECT id, version FROM versions WHERE id IN (SELECT value FROM json_each(?))",
                               (json.dumps(ids),)).fetchall()
        return dict(rows)

    def begin(self, first_seq: int, cursor: datetime | None, versions: dict[str, str]) -> str:
        """Record the step about to land (`cursor` None: the cursor stays where it is)."""
        token = secrets.token_hex(8)
        self.db.execute("DELETE FROM pending")
        self.db.execute("INSERT INTO pending VALUES (?, ?, ?, ?)",
                        (token, first_seq, cursor.isoformat() if cursor else None, json.dumps(versions)))
        return token

    def commit(self, token: str | None = None) -> None:
        """Apply the pending cycle (its versions and cursor) and forget it, in one transaction."""
        with write_transaction(self.db):
            where, params = ("WHERE token = ?", (token,)) if token else ("", ())
            for _token, _seq, cursor, versions in self.db.execute(f"SELECT * FROM pending {where}", params).fetchall():
                self.db.executemany("INSERT OR REPLACE INTO versions VALUES (?, ?)", json.loads(versions).items())
                if cursor is not None:
                    self.db.execute("INSERT OR REPLACE INTO cursor VALUES ('cursor', ?)", (cursor,))
            self.db.execute("DELETE FROM pending")

    def recover(self, log: LandingLog) -> bool:
        """A cycle killed between landing and committing: commit it if its segment landed, else drop it."""
        row = self.db.execute("SELECT token, first_seq FROM pending").fetchone()
        if row is None:
            return False
        token, first_seq = row
        landed = any(log.read(seq).origin == f"{ORIGIN_PREFIX}{token}" for seq in range(first_seq, log.end()))
        if landed:
            self.commit(token)
        else:
            self.db.execute("DELETE FROM pending")
        return landed


def version_of(rows: pl.DataFrame) -> pl.Series:
    """A digest of each row's Open311 fields (the unreadable text for unreadable rows)."""
    texts = rows.select(pl.concat_str([pl.col(c).fill_null("\x00") for c in (*rq.OPEN311_FIELDS, rq.UNREADABLE_RECORD)],
                                      separator="\x1f")).to_series()
    return texts.map_elements(lambda t: hashlib.sha256(t.encode()).hexdigest()[:32], return_dtype=pl.String)


class Open311Poller:
    """One city endpoint (`root`, e.g. https://city.example/open311/v2) into one landing source."""

    def __init__(self, root: str, log: LandingLog, state: PollState, api_key: str | None = None,
                 jurisdiction: str | None = None, fmt: str = "json", lookback: timedelta = DEFAULT_LOOKBACK,
                 client: httpx.Client | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        if fmt not in o3.FORMATS:
            raise ValueError(f"format {fmt!r}: use json or xml")
        self.root, self.log, self.state, self.fmt = root.rstrip("/"), log.create(), state, fmt
        self.params = {k: v for k, v in ((o3.API_KEY, api_key), (o3.JURISDICTION_ID, jurisdiction)) if v}
        self.lookback, self.client, self.sleep = lookback, client or httpx.Client(timeout=60), sleep

    def poll(self, since: datetime | None = None, now: datetime | None = None) -> PollReport:
        """One cycle: every window from the cursor (or `since`, or 90 days ago) to now."""
        self.state.recover(self.log)
        now = now or datetime.now(UTC)
        cursor = self.state.cursor()
        start = (cursor - self.lookback) if cursor else (since or now - WINDOW + WHOLE_SECONDS_MARGIN)
        report = PollReport(cursor=cursor)
        while start < now:
            end = min(start + WINDOW - WHOLE_SECONDS_MARGIN, now)  # rounded to whole seconds: still <= 90 days
            frames = self._window(start, end, report)
            self._land(pl.concat(frames) if frames else None, end, report)
            start = end
        return report

    def _window(self, start: datetime, end: datetime, report: PollReport) -> list[pl.DataFrame]:
        report.windows += 1
        rows = self._fetch(start, end)
        if rows.height >= o3.MAX_RESULTS and end - start > SMALLEST_WINDOW:
            middle = start + (end - start) / 2
            return self._window(start, middle, report) + self._window(middle, end, report)
        report.fetched += rows.height
        return [rows]

    def _fetch(self, start: datetime, end: datetime) -> pl.DataFrame:
        params = {**self.params, o3.START_DATE: _w3c(start), o3.END_DATE: _w3c(end, up=True)}
        url = f"{self.root}/requests.{self.fmt}"
        backoff = FIRST_BACKOFF_SECONDS
        for attempt in range(RETRIES + 1):
            try:
                response = self.client.get(url, params=params)
                if response.status_code < 500 and response.status_code != 429:
                    break
                wait = float(response.headers.get("Retry-After", backoff)) if response.headers.get(
                    "Retry-After", "").isdigit() else backoff
                problem = f"HTTP {response.status_code}"
            except httpx.TransportError as error:
                wait, problem = backoff, f"{type(error).__name__}: {error}"
            if attempt == RETRIES:
                raise PollError(f"{url} did not answer after {RETRIES + 1} attempts ({problem}); "
                                "the cursor is kept, the next cycle asks again")
            self.sleep(min(wait, MAX_BACKOFF_SECONDS))
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        return self._rows(response)

    def _rows(self, response: httpx.Response) -> pl.DataFrame:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"requests.{self.fmt}"
            path.write_bytes(response.content)
            try:
                batches = list(read_raw_batches(path, f"open311-{self.fmt}", self.log.source))
            except ValueError as error:  # SourceFormatError: an error envelope or not Open311
                raise PollError(f"{response.url} (HTTP {response.status_code}): {error}") from error
        if not batches:
            return pl.from_arrow(rq.RAW_REQUEST.empty_table())
        return pl.from_arrow(pa.Table.from_batches(batches))

    def _land(self, rows: pl.DataFrame | None, cursor: datetime, report: PollReport) -> None:
        if rows is None or not rows.height:
            token = self.state.begin(self.log.end(), cursor, {})
            self.state.commit(token)
            return
        rows = rows.with_columns(version_of(rows).alias("_version")).with_columns(
            pl.coalesce(rq.SERVICE_REQUEST_ID, pl.format("unreadable:{}", "_version")).alias("_key"))
        rows = rows.unique("_key", keep="last", maintain_order=True)
        known = self.state.versions_of(rows["_key"].to_list())
        changed = rows.filter(pl.col("_version") != pl.col("_key").replace_strict(known, default=""))
        report.unchanged += rows.height - changed.height
        chunks = [changed.slice(at, SEGMENT_ROWS) for at in range(0, changed.height, SEGMENT_ROWS)] or [changed]
        for number, chunk in enumerate(chunks, 1):  # one segment per cycle step: recover() sees all or none
            last = number == len(chunks)
            token = self.state.begin(self.log.end(), cursor if last else None,
                                     dict(zip(chunk["_key"], chunk["_version"], strict=True)))
            if chunk.height:
                table = chunk.drop("_version", "_key").with_columns(
                    pl.lit(f"{self.root}/requests.{self.fmt}").alias(rq.SOURCE_FILE),
                    pl.int_range(pl.len()).cast(pl.Int64).alias(rq.SOURCE_POSITION)).to_arrow()
                report.segments += self.log.append(table, origin=f"{ORIGIN_PREFIX}{token}")
                report.landed += chunk.height
            self.state.commit(token)
        report.cursor = cursor


def _w3c(moment: datetime, up: bool = False) -> str:
    """Whole seconds (what every server reads); an end rounded up, so nothing of its last second is missed."""
    if up and moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def poll_state_path(state_root: Path, city: str, source: str) -> Path:
    return Path(state_root) / "open311_poll" / city / f"{source}.sqlite"
