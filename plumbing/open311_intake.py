"""Reports and status updates posted to the Open311 server, as landing-log rows, landed in groups.

A POSTed report becomes one raw request row (`schemas.requests.RAW_REQUEST`, text like any
source's) of the landing source `open311`; the running stream validates, classifies, geocodes
(an `address_string` through the forward geocoder) and commits it like any other record. A
service request update becomes a new version of the request it names: the published fields of
its kept version with the new status, notes and `updated_datetime` (closed statuses also close
it), which the stream's version rules accept as the newer state.

`GroupLander` is a group commit: concurrent POSTs wait a few milliseconds and land as one
segment (one fsync, one rename) with their submitters' restricted rows written just before, so
a server answers many reports a second without a segment each. A POST is answered only after
its row is durable in the log.
"""

from __future__ import annotations

import queue
import secrets
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from plumbing.landing import LandingLog
from plumbing.open311_submissions import SubmissionStore
from schemas import open311 as o3
from schemas import requests as rq

POST_ORIGIN = "open311-post"
GROUP_WAIT_SECONDS = 0.005  # how long a POST waits for others to land with it
GROUP_ROWS = 2_000


def new_request_id(now: datetime) -> str:
    """Unique without coordination: date, then random (sortable by day, never guessable)."""
    return f"o311-{now:%Y%m%d}-{secrets.token_hex(6)}"


def w3c(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def update_row(view: dict, status: str, notes: str | None, updated: datetime) -> dict:
    """A new version of the request `view` (its `open311_requests` row) with a status change."""
    closed = w3c(updated) if status in o3.CLOSED_STATUSES else None
    return {
        rq.SERVICE_REQUEST_ID: view[rq.SERVICE_REQUEST_ID], rq.STATUS: status, rq.STATUS_NOTES: notes,
        rq.SERVICE_CODE: view[rq.SERVICE_CODE], rq.SERVICE_NAME: view[rq.SERVICE_NAME],
        rq.DESCRIPTION: view[rq.DESCRIPTION], rq.AGENCY_RESPONSIBLE: view[rq.AGENCY_RESPONSIBLE],
        rq.REQUESTED_DATETIME: w3c(view[rq.REQUESTED_DATETIME]), rq.UPDATED_DATETIME: w3c(updated),
        rq.EXPECTED_DATETIME: w3c(view[rq.EXPECTED_DATETIME]), rq.CLOSED_DATETIME: closed,
        rq.ADDRESS: view[rq.ADDRESS],
        rq.LAT: None if view[rq.LAT] is None else repr(view[rq.LAT]),
        rq.LONG: None if view[rq.LONG] is None else repr(view[rq.LONG]),
    }


def raw_table(rows: list[dict]) -> pa.Table:
    """RAW_REQUEST rows of posted reports or updates (missing fields null)."""
    columns = {name: [row.get(name) for row in rows] for name in rq.OPEN311_FIELDS}
    columns |= {rq.SOURCE: [o3.SOURCE] * len(rows), rq.SOURCE_FILE: [POST_ORIGIN] * len(rows),
                rq.SOURCE_POSITION: list(range(len(rows))), rq.UNREADABLE_RECORD: [None] * len(rows),
                rq.GUESSED_ENCODING: [None] * len(rows)}
    return pa.table(columns, schema=rq.RAW_REQUEST)


@dataclass
class _Pending:
    row: dict
    submission: dict | None
    done: Future


class GroupLander:
    """Lands rows given from many threads in groups (see the module docstring)."""

    def __init__(self, log: LandingLog, submissions: SubmissionStore | None,
                 wait_seconds: float = GROUP_WAIT_SECONDS) -> None:
        self.log, self.submissions, self.wait_seconds = log.create(), submissions, wait_seconds
        self.queue: queue.Queue[_Pending | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="urbanpulse-open311-lander", daemon=True)
        self.thread.start()

    def submit(self, row: dict, submission: dict | None = None) -> Future:
        """A future that resolves to (landing segment, row in it), once the row is durable."""
        done: Future = Future()
        self.queue.put(_Pending(row, submission, done))
        return done

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            group, stop = [first], False
            deadline = datetime.now(UTC).timestamp() + self.wait_seconds
            while len(group) < GROUP_ROWS:
                left = deadline - datetime.now(UTC).timestamp()
                try:
                    item = self.queue.get(timeout=max(left, 0)) if left > 0 else self.queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                group.append(item)
            self._land(group)
            if stop:
                return

    def _land(self, group: list[_Pending]) -> None:
        try:
            submissions = [p.submission for p in group if p.submission is not None]
            if submissions and self.submissions is not None:
                self.submissions.add_many(submissions)
            (seq,) = self.log.append(raw_table([p.row for p in group]), origin=POST_ORIGIN)
        except Exception as error:  # noqa: BLE001  (every waiting POST gets the failure)
            for pending in group:
                pending.done.set_exception(error)
            return
        for position, pending in enumerate(group):
            pending.done.set_result((seq, position))
