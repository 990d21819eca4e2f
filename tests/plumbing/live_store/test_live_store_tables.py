"""The live store's tables come from `schemas.live`: named columns, typed round trips, old stores."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import polars as pl
from polars.testing import assert_frame_equal

from plumbing.live_store.reader import LiveStoreReader
from plumbing.live_store.tables import insert, schema_script, select, to_frame, to_rows
from plumbing.live_store.writer import Commit, LiveStore, SegmentLedger
from schemas import ledger
from schemas import live as lv

# the segments table as stores created before `enrich_failed` existed have it
OLD_SEGMENTS = """CREATE TABLE segments (
    source TEXT, seq INTEGER, landed_at INTEGER, records_in INTEGER, records_out INTEGER DEFAULT 0,
    too_late INTEGER DEFAULT 0, invalid INTEGER DEFAULT 0, PRIMARY KEY (source, seq)) WITHOUT ROWID;"""


def test_every_table_is_created_with_the_schema_columns(tmp_path) -> None:
    db = sqlite3.connect(tmp_path / "store.sqlite")
    db.executescript(schema_script())
    for table in lv.LIVE_TABLES:
        assert tuple(row[1] for row in db.execute(f"PRAGMA table_info({table.name})")) == table.columns


def test_statements_name_their_columns() -> None:
    assert insert(lv.OFFSETS_TABLE) == "INSERT OR REPLACE INTO offsets (source, reader, next_seq) VALUES (?, ?, ?)"
    assert select(lv.META_TABLE, where="key = ?") == "SELECT key, value FROM meta WHERE key = ?"


def test_rows_round_trip_with_their_types(tmp_path) -> None:
    db = sqlite3.connect(tmp_path / "store.sqlite")
    db.executescript(schema_script())
    states = pl.DataFrame({
        "service_request_id": ["a", "b"],
        "version_time": [datetime(2026, 11, 1, 8, tzinfo=UTC), datetime(2026, 11, 2, 9, 30, tzinfo=UTC)],
        "source_file": ["landing:x:000000000001"] * 2, "source_position": [0, 1],
        "requested_datetime": [datetime(2026, 11, 1, 8, tzinfo=UTC)] * 2,
        "closed_datetime": [None, datetime(2026, 11, 2, 9, 30, tzinfo=UTC)],
        "district_id": ["N1", ""], "category": ["noise", "road_damage"],
        "hours_to_close": [None, 25.5], "closed_within_sla": [None, True],
    }).with_columns(pl.col(c).dt.cast_time_unit("us") for c in ("version_time", "requested_datetime", "closed_datetime"))
    db.executemany(insert(lv.REQUESTS_TABLE), to_rows(states, lv.REQUESTS_TABLE))
    back = to_frame(db.execute(select(lv.REQUESTS_TABLE)).fetchall(), lv.REQUESTS_TABLE)
    assert_frame_equal(back.sort("service_request_id"), states, check_dtypes=True)


def test_a_store_from_before_enrich_failed_gets_the_column_and_balances(tmp_path) -> None:
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(OLD_SEGMENTS)
    old.execute("INSERT INTO segments VALUES ('city311', 0, 0, 5, 4, 1, 0)")
    old.commit()
    old.close()
    store = LiveStore(path)
    empty = pl.DataFrame(schema={name: pl.String for name in lv.DEAD_LETTERS_TABLE.columns})
    segment = SegmentLedger("city311", 1, datetime(2026, 12, 1, tzinfo=UTC), 3, records_out=2, enrich_failed=1)
    store.commit(Commit(lv.WINDOWS_READER, segment, empty.clear()))
    store.close()
    reader = LiveStoreReader.open(path)
    counts = reader.ledger()
    reader.close()
    assert (counts[ledger.RECORDS_IN], counts[ledger.RECORDS_OUT], counts[ledger.ENRICH_FAILED],
            counts[ledger.DEAD_LETTERS]) == (8, 6, 1, 2)
    assert ledger.balances(counts)
