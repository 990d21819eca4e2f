"""The request versions the live store holds that the published datasets may not hold yet.

The stream commits a landing segment's accepted request versions into the live store within a
second; its dataset publisher merges them into the Parquet datasets a little later and only
then records its offset (`schemas.live.PUBLISHER`). So the versions that can be missing from
the datasets are exactly those kept from segments at or after the publisher's offset of their
source: each kept version names its segment in `source_file` (`plumbing.landing.segment_ref`,
zero-padded, so a source's segments sort by number). Reading only those keeps the overlay to
the last few seconds of the stream instead of every request the store has seen.

Offsets and versions are read in one read transaction (one WAL snapshot), before the caller
resolves the datasets' snapshot: the publisher commits a snapshot before it moves its offset,
so any version the overlay leaves out is in the snapshot read afterwards. A version both here
and published is the same request twice; `plumbing.request_view` keeps one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from plumbing.landing import SEGMENT_DIGITS, segment_ref
from plumbing.live_store.backend import STORE_ERRORS, no_such_table, store_exists
from plumbing.live_store.reader import LiveStoreReader
from plumbing.live_store.tables import select, to_frame
from schemas import live as lv
from schemas import requests as rq

MAX_SEQ = 10**SEGMENT_DIGITS - 1  # the last segment number `segment_ref` can write


@dataclass(frozen=True)
class LiveVersion:
    """What identifies the store's state for caching: the store (rebuilt or not), its last change
    and offsets."""

    store_id: str
    last_change_id: int
    committed: tuple[tuple[str, int], ...]
    published: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class LiveOverlay:
    """Unpublished kept versions (the `requests` table's columns) and the store's version."""

    states: pl.DataFrame
    version: LiveVersion | None
    timezone: str | None
    last_commit: object | None  # datetime of the store's last committed change, if any


def empty_states() -> pl.DataFrame:
    return to_frame([], lv.REQUESTS_TABLE)


NO_STORE = LiveOverlay(empty_states(), None, None, None)


def live_version(reader: LiveStoreReader, path: Path) -> LiveVersion:
    return LiveVersion(
        reader.meta().get(lv.STORE_ID, ""), reader.last_change_id(),
        tuple(sorted(reader.offsets(lv.WINDOWS_READER).items())),
        tuple(sorted(reader.offsets(lv.PUBLISHER).items())),
    )


def unpublished_where(version: LiveVersion) -> tuple[str, list[str]]:
    """SQL condition (and its parameters) selecting versions of segments not yet published."""
    published = dict(version.published)
    clauses, params = [], []
    for source, committed in version.committed:
        first = published.get(source, 0)
        if committed > first:
            clauses.append(f"({rq.SOURCE_FILE} >= ? AND {rq.SOURCE_FILE} <= ?)")
            params += [segment_ref(source, first), segment_ref(source, MAX_SEQ)]
    return " OR ".join(clauses), params


def read_overlay(path: Path, previous: LiveOverlay | None = None) -> LiveOverlay:
    """The store's unpublished versions; `previous` is returned as is when nothing changed."""
    if not store_exists(path):
        return NO_STORE
    reader = LiveStoreReader.open(path, cache_kib=16_384)
    try:
        reader.db.execute("BEGIN")  # one snapshot of the WAL for the offsets and the versions
        try:
            version = live_version(reader, path)
            if previous is not None and previous.version == version:
                return previous
            where, params = unpublished_where(version)
            rows = reader.db.execute(select(lv.REQUESTS_TABLE, where=where), params).fetchall() if where else []
            timezone = reader.meta().get("timezone")
            last = reader.last_commit()
        finally:
            reader.db.execute("COMMIT")
    except STORE_ERRORS as error:  # a store being created has no tables yet
        if no_such_table(error):
            return NO_STORE
        raise
    finally:
        reader.close()
    return LiveOverlay(to_frame(rows, lv.REQUESTS_TABLE) if rows else empty_states(), version, timezone, last)
