"""The same live store on both backends: an SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import threading

import psycopg
import pytest
from live_store_commits import START, dead_letter, window_commit

from plumbing.live_store import backend
from plumbing.live_store.figures import WindowStats
from plumbing.live_store.postgres import RESERVED_COLUMNS, StoreServerError
from plumbing.live_store.reader import LiveStoreReader
from plumbing.live_store.writer import LiveStore
from schemas import dead_letters as dl
from schemas import live as lv


@pytest.mark.usefixtures("live_backend")
def test_commits_read_back_the_same_on_either_backend(tmp_path):
    path = tmp_path / "state" / "live" / "tiny.sqlite"
    store = LiveStore(path)
    key = ("1d", START, "N1", "noise")
    change = store.commit(window_commit(0, {key: WindowStats(new=3, closed=1, within_sla=1)}))
    store.commit(window_commit(0, dead=[dead_letter(7, "id;text\x00with a NUL")]))
    store.close()
    assert backend.store_exists(path)
    reader = LiveStoreReader.open(path)
    try:
        assert reader.offsets() == {"city311": 1} and reader.offsets(lv.DEAD_LETTERS_READER) == {"city311": 1}
        assert reader.last_change_id() == change == 1
        stats = reader.window_stats([("1d", START)])[key]
        assert (stats.new, stats.closed, stats.within_sla) == (3, 1, 1)
        figures = reader.ledger()
        assert (figures["records_in"], figures["records_out"], figures["dead_letters"]) == (3, 3, 1)
        dead = reader.dead_letter_frame(["landing:city311:000000000001"])
        # PostgreSQL text cannot hold NUL: the record keeps its place with U+FFFD in its stead
        assert dead[dl.RAW_PAYLOAD].to_list() in (["id;text\x00with a NUL"], ["id;text\ufffdwith a NUL"])
        assert dead[dl.SOURCE_POSITION].to_list() == [7]
        [(found, payload)] = reader.changes_after(0)
        assert found == 1 and payload["windows"]["rows"][0][2:5] == ["N1", "noise", 3]
    finally:
        reader.close()


@pytest.mark.usefixtures("live_backend")
def test_a_rebuild_empties_the_store_and_gives_it_a_new_identity(tmp_path):
    path = tmp_path / "tiny.sqlite"
    store = LiveStore(path)
    store.set_meta(city="tiny")
    before = store.meta()[lv.STORE_ID]
    store.close()
    backend.remove_store(path)
    store = LiveStore(path)
    try:
        assert "city" not in store.meta() and store.meta()[lv.STORE_ID] != before
    finally:
        store.close()


def test_writers_of_one_store_on_a_server_take_turns(tmp_path, postgres_server, monkeypatch):
    """Two writers committing at once (as the streams of requests and votes do) never interleave:
    the change ids stay dense, as on SQLite where writers are serialised."""
    monkeypatch.setenv(backend.LIVE_STORE_URL_ENV, postgres_server.new_database())
    path = tmp_path / "tiny.sqlite"
    LiveStore(path).close()

    def write(offset: int) -> None:
        store = LiveStore(path)
        for number in range(40):
            store.commit(window_commit(offset + number, {("15m", START + number, "N1", "noise"): WindowStats(new=1)}))
        store.close()

    threads = [threading.Thread(target=write, args=(offset,)) for offset in (0, 1_000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader = LiveStoreReader.open(path)
    try:
        assert reader.last_change_id() == 80
        assert [found for found, _ in reader.changes_after(0, limit=100)] == list(range(1, 81))
    finally:
        reader.close()


def test_readers_on_a_server_cannot_write(tmp_path, postgres_server, monkeypatch):
    monkeypatch.setenv(backend.LIVE_STORE_URL_ENV, postgres_server.new_database())
    path = tmp_path / "tiny.sqlite"
    LiveStore(path).close()
    reader = LiveStoreReader.open(path)
    try:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            reader.db.execute("DELETE FROM meta")
    finally:
        reader.close()


def test_no_live_column_is_a_word_postgresql_reserves_unquoted(postgres_server):
    from plumbing.live_store.postgres import _all_tables

    with psycopg.connect(postgres_server.url()) as db:
        reserved = {word for (word,) in db.execute("SELECT word FROM pg_get_keywords() WHERE catcode IN ('R', 'T')")}
    names = {c for table in _all_tables() for c in (*table.columns, table.name)}
    assert names & reserved == set(RESERVED_COLUMNS)


def test_an_unreachable_server_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(backend.LIVE_STORE_URL_ENV, "postgresql://urbanpulse:secret@127.0.0.1:9/none")
    with pytest.raises(StoreServerError) as refused:
        LiveStore(tmp_path / "tiny.sqlite")
    assert "cannot reach the live store's PostgreSQL server" in str(refused.value)
    assert "secret" not in str(refused.value) and "unset URBANPULSE_LIVE_STORE_URL" in str(refused.value)


def test_a_setting_that_is_not_a_postgresql_url_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(backend.LIVE_STORE_URL_ENV, "mysql://db/urbanpulse")
    with pytest.raises(StoreServerError, match="is not a PostgreSQL URL"):
        LiveStore(tmp_path / "tiny.sqlite")
