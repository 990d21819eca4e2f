"""Open311 API keys: created once, stored only as a salted scrypt hash, listed, revoked, rate-limited.

A key reads `up_<key id>_<secret>`. The key id is public (it names the key in lists and logs);
the secret is shown once at creation and never stored: the store keeps a random salt and
`hashlib.scrypt(key, salt)` (the standard library's memory-hard KDF, parameters below), in an
owner-only SQLite file of the restricted store. Checking a key costs one scrypt (tens of ms), so
a server keeps the keys it verified in memory, keyed by a SHA-256 of the key, and checks
revocation against the store at most every `RECHECK_SECONDS`. A failed attempt is logged with
the reason, the client and the key id when the key has one, never with the key itself.

The per-key rate limit is a token bucket per server process (`RateLimiter`): `rate_per_minute`
reports a minute, bursts up to a minute's worth.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from plumbing.private_db import open_owner_only
from plumbing.workspace import Workspace
from schemas import open311 as o3

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MiB, ~30-50 ms a check
SALT_BYTES, HASH_BYTES = 16, 32
RECHECK_SECONDS = 5.0
KEY_PREFIX = "up"
_KEY = re.compile(r"^up_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{32,64})$")
log = logging.getLogger("urbanpulse.open311.keys")


class ApiKeyError(ValueError):
    """A key command that cannot be done (unknown key id, bad name or rate)."""


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    role: str
    rate_per_minute: int
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def key_store_path(workspace: Workspace) -> Path:
    return workspace.restricted / "keys" / "open311_keys.sqlite"


def _hash(key: str, salt: bytes) -> bytes:
    return hashlib.scrypt(key.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=HASH_BYTES)


class KeyStore:
    """The city's (one server's) API keys in `restricted/keys/open311_keys.sqlite`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = open_owner_only(self.path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS keys (key_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, "
            "rate_per_minute INTEGER NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL, created_at TEXT NOT NULL, "
            "revoked_at TEXT)"
        )
        self.lock = threading.Lock()

    @classmethod
    def of(cls, workspace: Workspace) -> KeyStore:
        workspace.make_restricted()
        return cls(key_store_path(workspace))

    def close(self) -> None:
        self.db.close()

    def create(self, name: str, role: str = o3.ROLE_REPORTER,
               rate_per_minute: int = o3.DEFAULT_RATE_PER_MINUTE) -> tuple[ApiKey, str]:
        """A new key: (its record, the key itself, which is not kept anywhere)."""
        if not name.strip() or len(name) > 200:
            raise ApiKeyError(f"key name {name!r}: give a non-empty name of at most 200 characters")
        if role not in o3.ROLES:
            raise ApiKeyError(f"key role {role!r}: use one of {', '.join(o3.ROLES)}")
        if rate_per_minute < 1:
            raise ApiKeyError(f"rate {rate_per_minute}: a key takes at least 1 report a minute")
        key_id = secrets.token_hex(6)
        key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        salt = secrets.token_bytes(SALT_BYTES)
        now = datetime.now(UTC)
        with self.lock:
            self.db.execute("INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                            (key_id, name.strip(), role, rate_per_minute, salt, _hash(key, salt), now.isoformat()))
        return ApiKey(key_id, name.strip(), role, rate_per_minute, now, None), key

    def list(self) -> list[ApiKey]:
        with self.lock:
            rows = self.db.execute(
                "SELECT key_id, name, role, rate_per_minute, created_at, revoked_at FROM keys ORDER BY created_at"
            ).fetchall()
        return [_record(row) for row in rows]

    def get(self, key_id: str) -> ApiKey | None:
        with self.lock:
            row = self.db.execute("SELECT key_id, name, role, rate_per_minute, created_at, revoked_at FROM keys "
                                  "WHERE key_id = ?", (key_id,)).fetchone()
        return _record(row) if row else None

    def revoke(self, key_id: str) -> ApiKey:
        found = self.get(key_id)
        if found is None:
            raise ApiKeyError(f"no API key with id {key_id!r}; `urbanpulse keys list` shows them")
        if found.active:
            with self.lock:
                self.db.execute("UPDATE keys SET revoked_at = ? WHERE key_id = ?",
                                (datetime.now(UTC).isoformat(), key_id))
        return self.get(key_id)  # type: ignore[return-value]

    def check(self, key: str) -> ApiKey | None:
        """The active key `key` is, or None (a wrong, unknown or revoked key)."""
        match = _KEY.match(key)
        if match is None:
            return None
        with self.lock:
            row = self.db.execute("SELECT salt, hash FROM keys WHERE key_id = ?", (match["id"],)).fetchone()
        if row is None or not hmac.compare_digest(_hash(key, row[0]), row[1]):
            return None
        found = self.get(match["id"])
        return found if found is not None and found.active else None


def _record(row: tuple) -> ApiKey:
    key_id, name, role, rate, created, revoked = row
    return ApiKey(key_id, name, role, int(rate), datetime.fromisoformat(created),
                  datetime.fromisoformat(revoked) if revoked else None)


def key_id_of(key: str) -> str | None:
    """The public id inside a key, if it has the key's form (for logs)."""
    match = _KEY.match(key)
    return match["id"] if match else None


class KeyChecker:
    """A server's view of the keys: verified keys cached by digest, revocations seen within
    `RECHECK_SECONDS`, failed attempts logged without the key."""

    def __init__(self, store: KeyStore, recheck_seconds: float = RECHECK_SECONDS) -> None:
        self.store, self.recheck_seconds = store, recheck_seconds
        self.cache: dict[bytes, tuple[ApiKey, float]] = {}
        self.lock = threading.Lock()

    def check(self, key: str | None, client: str = "") -> ApiKey | None:
        if not key:
            log.warning("open311: request without api_key from %s", client or "a client")
            return None
        digest = hashlib.sha256(key.encode()).digest()
        now = time.monotonic()
        with self.lock:
            cached = self.cache.get(digest)
        if cached is not None and now - cached[1] < self.recheck_seconds:
            return cached[0]
        if cached is not None:
            fresh = self.store.get(cached[0].key_id)
            found = fresh if fresh is not None and fresh.active else None
        else:
            found = self.store.check(key)
        with self.lock:
            if found is None:
                self.cache.pop(digest, None)
            else:
                self.cache[digest] = (found, now)
        if found is None:
            key_id = key_id_of(key)
            log.warning("open311: refused an api_key from %s (%s)", client or "a client",
                        f"key id {key_id}: wrong, unknown or revoked" if key_id else "not an UrbanPulse key")
        return found


class RateLimiter:
    """Token buckets per key id: `rate_per_minute` a minute, bursts of as many."""

    def __init__(self) -> None:
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def take(self, key: ApiKey) -> float:
        """0 when the key may go on; else the seconds until it may."""
        rate = key.rate_per_minute / 60.0
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(key.key_id, (float(key.rate_per_minute), now))
            tokens = min(float(key.rate_per_minute), tokens + (now - last) * rate)
            if tokens >= 1:
                self.buckets[key.key_id] = (tokens - 1, now)
                return 0.0
            self.buckets[key.key_id] = (tokens, now)
            return (1 - tokens) / rate
