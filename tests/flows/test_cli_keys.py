"""`urbanpulse keys create|list|revoke`: a key printed once, kept only as a salted scrypt hash,
checked, revoked; failed attempts logged without the key."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from conftest import forget_prefect_settings

from flows.cli import main
from plumbing.api_keys import KeyChecker, KeyStore, RateLimiter, key_store_path
from plumbing.workspace import Workspace
from schemas import open311 as o3


@pytest.fixture(autouse=True)
def isolated_prefect_settings(monkeypatch):
    forget_prefect_settings(monkeypatch)


def _created(home, capsys, *options: str) -> str:
    assert main(["--home", str(home), "keys", "create", "--name", "Citizen App", *options]) == 0
    lines = capsys.readouterr().out.splitlines()
    return next(line for line in lines if line.startswith("up_"))


def test_a_created_key_is_printed_once_and_stored_only_as_a_salted_hash(tmp_path, capsys):
    first, second = _created(tmp_path, capsys), _created(tmp_path, capsys, "--rate", "5")
    path = key_store_path(Workspace(tmp_path))
    assert (path.stat().st_mode & 0o777) == 0o600 and (path.parent.stat().st_mode & 0o777) == 0o700
    raw = path.read_bytes()
    assert first.encode() not in raw and first.split("_")[2].encode() not in raw
    rows = sqlite3.connect(path).execute("SELECT salt, hash, rate_per_minute FROM keys ORDER BY created_at").fetchall()
    assert len(rows) == 2 and rows[0][0] != rows[1][0] and len(rows[0][1]) == 32 and rows[1][2] == 5
    store = KeyStore(path)
    assert store.check(first).name == "Citizen App" and store.check(second).rate_per_minute == 5
    assert store.check(first[:-1] + ("A" if first[-1] != "A" else "B")) is None
    assert store.check("not a key") is None


def test_list_and_revoke(tmp_path, capsys):
    key = _created(tmp_path, capsys, "--back-office")
    key_id = key.split("_")[1]
    assert main(["--home", str(tmp_path), "keys", "list"]) == 0
    listed = capsys.readouterr().out
    assert key_id in listed and o3.ROLE_BACK_OFFICE in listed and key not in listed
    store = KeyStore(key_store_path(Workspace(tmp_path)))
    checker = KeyChecker(store, recheck_seconds=0.0)
    assert checker.check(key).role == o3.ROLE_BACK_OFFICE
    assert main(["--home", str(tmp_path), "keys", "revoke", key_id]) == 0
    assert "revoked" in capsys.readouterr().out
    assert checker.check(key) is None and store.check(key) is None  # a server sees the revocation
    assert main(["--home", str(tmp_path), "keys", "revoke", "000000000000"]) == 2
    assert "no API key with id" in capsys.readouterr().err
    assert main(["--home", str(tmp_path), "keys", "create", "--name", "x", "--rate", "0"]) == 2


def test_failed_attempts_are_logged_without_the_key(tmp_path, capsys, caplog):
    key = _created(tmp_path, capsys)
    checker = KeyChecker(KeyStore(key_store_path(Workspace(tmp_path))))
    wrong = key[:-4] + "zzzz"
    with caplog.at_level(logging.WARNING, logger="urbanpulse.open311.keys"):
        assert checker.check(wrong, "10.0.0.7") is None
        assert checker.check("guess-1234567890", "10.0.0.8") is None
        assert checker.check(None, "10.0.0.9") is None
    logged = caplog.text
    assert "10.0.0.7" in logged and key.split("_")[1] in logged and "10.0.0.9" in logged
    assert wrong not in logged and wrong.split("_")[2] not in logged and "guess-1234567890" not in logged


def test_the_rate_limit_is_per_key(tmp_path):
    store = KeyStore(key_store_path(Workspace(tmp_path)))
    slow, _ = store.create("slow", rate_per_minute=3)
    fast, _ = store.create("fast", rate_per_minute=100)
    limiter = RateLimiter()
    assert [limiter.take(slow) == 0 for _ in range(4)] == [True, True, True, False]
    assert 0 < limiter.take(slow) <= 20
    assert all(limiter.take(fast) == 0 for _ in range(50))
