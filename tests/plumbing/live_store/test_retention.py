"""Retention: the live store forgets what the datasets hold, and the figures it serves stay the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from live_store_commits import dead_letter, window_commit

from plumbing.landing import segment_ref
from plumbing.live_store.figures import WindowStats
from plumbing.live_store.reader import LiveStoreReader
from plumbing.live_store.retention import compact, retention_of
from plumbing.live_store.tables import micros
from plumbing.live_store.writer import LiveStore
from schemas import live as lv
from schemas import requests as rq

pytestmark = pytest.mark.usefixtures("live_backend")
NEWEST = datetime(2026, 12, 20, 9, tzinfo=UTC)
DAYS = 12


def _states(ids: list[str], seq: int, requested: datetime, closed: datetime | None) -> pl.DataFrame:
    rows = len(ids)
    return pl.DataFrame({
        rq.SERVICE_REQUEST_ID: ids, lv.VERSION_TIME: [closed or requested] * rows,
        rq.SOURCE_FILE: [segment_ref("city311", seq)] * rows, rq.SOURCE_POSITION: list(range(rows)),
        rq.REQUESTED_DATETIME: [requested] * rows, rq.CLOSED_DATETIME: [closed] * rows,
        rq.DISTRICT_ID: ["N1"] * rows, rq.CATEGORY: ["noise"] * rows,
        rq.HOURS_TO_CLOSE: [None] * rows, rq.CLOSED_WITHIN_SLA: [None] * rows,
    }, schema_overrides={rq.CLOSED_DATETIME: pl.Datetime("us", "UTC"), rq.HOURS_TO_CLOSE: pl.Float64,
                         rq.CLOSED_WITHIN_SLA: pl.Boolean}).with_columns(
        pl.col(c).dt.cast_time_unit("us") for c in (lv.VERSION_TIME, rq.REQUESTED_DATETIME, rq.CLOSED_DATETIME))


@pytest.fixture()
def store(tmp_path):
    """Twelve days of one district: each day 3 new and 1 closed (one segment a day, landed that day),
    one request closed each day, an old dead letter and a fresh one; retention 4 days, lateness 2."""
    store = LiveStore(tmp_path / "tiny.sqlite")
    store.set_meta(**{lv.RETENTION_SECONDS: str(4 * 86_400), lv.LATENESS_SECONDS: str(2 * 86_400)})
    for day in range(DAYS):
        landed = NEWEST - timedelta(days=DAYS - 1 - day)
        start = micros(landed.replace(hour=0))
        store.commit(window_commit(day, {("1d", start, "N1", "noise"): WindowStats(new=3, closed=1)},
                                   landed_at=landed, states=_states([f"r{day}"], day, landed - timedelta(hours=5),
                                                                    landed - timedelta(hours=1))))
    store.commit(window_commit(0, dead=[dead_letter(9, "old", seq=0, failed_at=NEWEST - timedelta(days=11))],
                               landed_at=NEWEST - timedelta(days=11)))
    store.commit(window_commit(11, dead=[dead_letter(9, "new", seq=11, failed_at=NEWEST)], landed_at=NEWEST))
    store.set_offsets({"city311": DAYS}, lv.PUBLISHER)
    yield store
    store.close()


def test_retention_is_never_shorter_than_the_lateness_and_a_day():
    assert retention_of({lv.RETENTION_SECONDS: "3600", lv.LATENESS_SECONDS: str(2 * 86_400)})[0] == timedelta(days=3)


def test_old_windows_go_and_every_backlog_and_the_ledger_stay(store):
    before_frame, before_ledger = store.window_frame(lv.DAY), store.ledger()
    done = compact(store)
    after_frame, after_ledger = store.window_frame(lv.DAY), store.ledger()
    # kept: the windows that start within 4 days of the newest landing (09:00): the last four days
    assert done.windows == DAYS - 4 and after_frame.height == 4
    kept = before_frame.filter(pl.col(lv.WINDOW_START).is_in(after_frame[lv.WINDOW_START].implode()))
    assert after_frame[lv.BACKLOG].to_list() == kept[lv.BACKLOG].to_list() == [18, 20, 22, 24]
    assert after_ledger == before_ledger  # sums and the segment count (12 segments), folded or not
    assert done.segments == 7  # landed before the horizon and committed by every reader
    start = NEWEST.replace(hour=0)
    assert store.district_day(lv.DAY, start)[0][lv.BACKLOG] == 24


def test_closed_published_requests_beyond_the_lateness_expire_and_the_rest_stay(store):
    store.set_offsets({"city311": 6}, lv.PUBLISHER)  # segments 6.. are not in the datasets yet
    done = compact(store)
    kept = sorted(store.states_of([f"r{day}" for day in range(DAYS)])[rq.SERVICE_REQUEST_ID].to_list())
    assert done.request_states == 6 and kept == sorted(f"r{day}" for day in range(6, DAYS))


def test_dead_letters_go_only_once_old_and_in_a_whole_published_file(store):
    assert compact(store, dead_letter_bucket=1_000).dead_letters == 0  # the file of segments 0-999 may be rewritten
    assert compact(store, dead_letter_bucket=4).dead_letters == 1
    reader = LiveStoreReader(store.db, store.path)
    assert reader.dead_letter_frame()["raw_payload"].to_list() == ["new"]


def test_a_second_compaction_takes_nothing_more(store):
    compact(store)
    assert compact(store).total() == 0
