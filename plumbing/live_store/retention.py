"""Months of running: what the live store forgets, and what it keeps of what it forgets.

The store keeps what the live figures and the stream's exactly-once bookkeeping need; older data
lives in the published datasets (the publisher has them before anything here goes). Measured
from the newest landing (not the wall clock, so a replay of last year behaves as last year did),
`compact` takes out, in one write transaction:

- windows (and their hours to close) that started more than the retention before it: their new
  and closed counts are added to `window_carry`, so every backlog stays what it was;
- states of requests closed, and published, more than the allowed lateness before it: a later
  version of such a request reaches beyond the lateness and is refused whole anyway;
- dead letters of published segments older than the retention, from whole published files only
  (the restricted store and the dead-letter dataset keep them; the live store holds raw payloads
  no longer than that);
- ledger rows of segments every reader has committed, older than the retention: folded into one
  row per source (`FOLDED_SEQ`), so the ledger's sums and segment count stay the same.

The retention is never shorter than the allowed lateness plus a day: a window a late version may
still change must stay. The change feed is bounded by the writer itself (`changes_kept`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from plumbing.landing import segment_ref
from plumbing.live_store.tables import MICROS
from plumbing.transactions import write_transaction
from schemas import dead_letters as dl
from schemas import ledger
from schemas import live as lv
from schemas import requests as rq

DEFAULT_RETENTION = timedelta(days=35)
MIN_MARGIN = timedelta(days=1)  # beyond the allowed lateness


@dataclass(frozen=True)
class Compaction:
    windows: int = 0
    request_states: int = 0
    dead_letters: int = 0
    segments: int = 0

    def total(self) -> int:
        return self.windows + self.request_states + self.dead_letters + self.segments


def retention_of(meta: dict[str, str]) -> tuple[timedelta, timedelta]:
    """(retention, allowed lateness) as the stream recorded them in the store's meta."""
    lateness = timedelta(seconds=float(meta.get(lv.LATENESS_SECONDS, lv.DEFAULT_ALLOWED_LATENESS.total_seconds())))
    retention = timedelta(seconds=float(meta.get(lv.RETENTION_SECONDS, DEFAULT_RETENTION.total_seconds())))
    return max(retention, lateness + MIN_MARGIN), lateness


def compact(store, dead_letter_bucket: int = 1) -> Compaction:
    """One compaction of a `LiveStore` (see the module docstring); what it took out. Dead letters
    go only from whole published files of `dead_letter_bucket` segments: the publisher rewrites a
    file from the store while it is incomplete."""
    db = store.db
    newest = db.execute(f"SELECT max({lv.LANDED_AT}) FROM {lv.SEGMENTS_TABLE.name}").fetchone()[0]
    if newest is None:
        return Compaction()
    retention, lateness = retention_of(store.meta())
    window_horizon = newest - int(retention.total_seconds() * MICROS)
    state_horizon = newest - int(lateness.total_seconds() * MICROS)
    published = store.offsets(lv.PUBLISHER)
    committed = [store.offsets(reader) for reader in lv.READERS]
    with write_transaction(db):
        windows = _carry_windows(db, window_horizon)
        states = dead = folded = 0
        for source, offset in published.items():
            first, end = segment_ref(source, 0), segment_ref(source, offset)
            states += db.execute(
                f"DELETE FROM {lv.REQUESTS_TABLE.name} WHERE {rq.CLOSED_DATETIME} IS NOT NULL "
                f"AND {rq.CLOSED_DATETIME} < ? AND {rq.REQUESTED_DATETIME} < ? "
                f"AND {rq.SOURCE_FILE} >= ? AND {rq.SOURCE_FILE} < ?", (state_horizon, state_horizon, first, end),
            ).rowcount
            whole = segment_ref(source, offset // dead_letter_bucket * dead_letter_bucket)
            dead += db.execute(
                f"DELETE FROM {lv.DEAD_LETTERS_TABLE.name} WHERE {dl.FAILED_AT} < ? "
                f"AND {rq.SOURCE_FILE} >= ? AND {rq.SOURCE_FILE} < ?", (window_horizon, first, whole),
            ).rowcount
        for source in set().union(*committed):
            everyone = min(offsets.get(source, 0) for offsets in committed)
            folded += _fold_segments(db, source, everyone, window_horizon)
    return Compaction(windows, states, dead, folded)


def _carry_windows(db, horizon: int) -> int:
    carry = lv.WINDOW_CARRY_TABLE.name
    keys = f"{lv.WINDOW}, {rq.DISTRICT_ID}, {rq.CATEGORY}"
    db.execute(
        f"INSERT INTO {carry} ({keys}, {lv.NEW}, {lv.CLOSED}) SELECT {keys}, sum({lv.NEW}), sum({lv.CLOSED}) "
        f"FROM {lv.WINDOWS_TABLE.name} WHERE {lv.WINDOW_START} < ? GROUP BY {keys} "
        f"ON CONFLICT ({keys}) DO UPDATE SET {lv.NEW} = {lv.NEW} + excluded.{lv.NEW}, "
        f"{lv.CLOSED} = {lv.CLOSED} + excluded.{lv.CLOSED}", (horizon,))
    db.execute(f"DELETE FROM {lv.WINDOW_HOURS_TABLE.name} WHERE {lv.WINDOW_START} < ?", (horizon,))
    return db.execute(f"DELETE FROM {lv.WINDOWS_TABLE.name} WHERE {lv.WINDOW_START} < ?", (horizon,)).rowcount


def _fold_segments(db, source: str, committed_by_all: int, horizon: int) -> int:
    """Ledger rows of one source's segments before `committed_by_all`, landed before `horizon`,
    added into its folded row."""
    table, counts = lv.SEGMENTS_TABLE.name, (ledger.RECORDS_IN, ledger.RECORDS_OUT, *lv.LEDGER_DEAD)
    old = f"{rq.SOURCE} = ? AND {lv.SEQ} >= 0 AND {lv.SEQ} < ? AND {lv.LANDED_AT} < ?"
    params = (source, committed_by_all, horizon)
    columns = (rq.SOURCE, lv.SEQ, lv.LANDED_AT, *counts, lv.FOLDED_SEGMENTS)
    db.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {rq.SOURCE}, {lv.FOLDED_SEQ}, max({lv.LANDED_AT}), "
        + ", ".join(f"sum({c})" for c in (*counts, lv.FOLDED_SEGMENTS))
        + f" FROM {table} WHERE {old} GROUP BY {rq.SOURCE} ON CONFLICT ({rq.SOURCE}, {lv.SEQ}) DO UPDATE SET "
        + ", ".join(f"{c} = {c} + excluded.{c}" for c in (*counts, lv.FOLDED_SEGMENTS))
        + f", {lv.LANDED_AT} = max({lv.LANDED_AT}, excluded.{lv.LANDED_AT})", params)
    return db.execute(f"DELETE FROM {table} WHERE {old}", params).rowcount
