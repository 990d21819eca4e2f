"""One writer per stream kind and city: a second stream of the same kind fails at once, others share."""

from __future__ import annotations

import multiprocessing

import pytest

from plumbing.live_store.writer import StreamBusyError, writing_store

pytestmark = pytest.mark.usefixtures("live_backend")  # SQLite lock files and PostgreSQL advisory locks


def _try_to_hold(store_path, lock_suffix, answers) -> None:
    try:
        with writing_store(store_path, lock_suffix, "busy: the votes of city 'tiny' are streaming"):
            answers.put("held")
    except StreamBusyError as error:
        answers.put(f"refused: {error}")


def _held_elsewhere(store_path, lock_suffix) -> str:
    """What a second process gets when it asks for the store (fcntl locks are per process)."""
    answers = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(target=_try_to_hold, args=(store_path, lock_suffix, answers))
    process.start()
    answer = answers.get(timeout=60)
    process.join(timeout=30)
    return answer


def test_a_second_stream_of_the_same_kind_is_refused_with_its_message(tmp_path):
    store_path = tmp_path / "live" / "tiny.sqlite"
    with writing_store(store_path, ".votes.lock", "unused") as store:
        store.set_meta(city="tiny")
        assert _held_elsewhere(store_path, ".votes.lock") == "refused: busy: the votes of city 'tiny' are streaming"
        assert _held_elsewhere(store_path, ".sensors.lock") == "held"  # another kind shares the store
    assert _held_elsewhere(store_path, ".votes.lock") == "held"  # released with the first holder


def test_fresh_starts_an_empty_store(tmp_path):
    store_path = tmp_path / "tiny.sqlite"
    with writing_store(store_path, ".lock", "busy") as store:
        store.set_meta(city="tiny")
    with writing_store(store_path, ".lock", "busy") as store:
        assert store.meta().get("city") == "tiny"
    with writing_store(store_path, ".lock", "busy", fresh=True) as store:
        assert "city" not in store.meta()


