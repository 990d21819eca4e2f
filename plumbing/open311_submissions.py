"""What submitters tell the Open311 server about themselves, kept apart from everything published.

`POST requests` takes a submitter's email, names, phone, device and account ids, and the
report's attribute values and media URL. None of these is a field of the landing log (so none
can reach the stream, the live store, the datasets or a `GET` answer): they go to one owner-only
SQLite file per city in the restricted store, keyed by the request id and the key that sent it,
for the city's back office to contact the resident. `tokens` maps the token a POST answer
carries to its request id (`GET tokens/{token}`).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

from plumbing.paths import partition_value
from plumbing.private_db import open_owner_only
from plumbing.transactions import write_transaction
from plumbing.workspace import Workspace
from schemas import open311 as o3
from schemas import requests as rq

_COLUMNS = (rq.SERVICE_REQUEST_ID, o3.TOKEN, o3.KEY_ID, "submitted_at", *o3.SUBMITTER_FIELDS, o3.MEDIA_URL,
            o3.ATTRIBUTES)


def submissions_path(workspace: Workspace, city: str) -> Path:
    return workspace.restricted / "open311_submitters" / f"{partition_value(city)}.sqlite"


class SubmissionStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = open_owner_only(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(f"CREATE TABLE IF NOT EXISTS submissions ({', '.join(_COLUMNS)}, "
                        f"PRIMARY KEY ({rq.SERVICE_REQUEST_ID}))")
        self.db.execute(f"CREATE INDEX IF NOT EXISTS submissions_by_token ON submissions ({o3.TOKEN})")
        self.lock = threading.Lock()

    @classmethod
    def of(cls, workspace: Workspace, city: str) -> SubmissionStore:
        workspace.make_restricted()
        return cls(submissions_path(workspace, city))

    def close(self) -> None:
        self.db.close()

    def add_many(self, submissions: list[dict]) -> None:
        """One transaction for a group of reports (the lander's batch)."""
        now = datetime.now(UTC).isoformat()
        rows = [tuple(json.dumps(s.get(c)) if c == o3.ATTRIBUTES else (now if c == "submitted_at" else s.get(c))
                      for c in _COLUMNS) for s in submissions]
        with self.lock, write_transaction(self.db):
            self.db.executemany(f"INSERT INTO submissions VALUES ({', '.join('?' * len(_COLUMNS))})", rows)

    def request_of_token(self, token: str) -> str | None:
        with self.lock:
            row = self.db.execute(f"SELECT {rq.SERVICE_REQUEST_ID} FROM submissions WHERE {o3.TOKEN} = ?",
                                  (token,)).fetchone()
        return row[0] if row else None

    def get(self, service_request_id: str) -> dict | None:
        with self.lock:
            row = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM submissions WHERE "
                                  f"{rq.SERVICE_REQUEST_ID} = ?", (service_request_id,)).fetchone()
        if row is None:
            return None
        found = dict(zip(_COLUMNS, row, strict=True))
        found[o3.ATTRIBUTES] = json.loads(found[o3.ATTRIBUTES] or "null")
        return found

    def count(self) -> int:
        with self.lock:
            return self.db.execute("SELECT count(*) FROM submissions").fetchone()[0]
