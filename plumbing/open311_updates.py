"""Service request updates from a file: the back office's status changes, landed as new versions.

A CSV or JSON file (an array of objects, or an Open311 `servicerequestupdates` JSON answer) with
`service_request_id`, `status`, optionally `status_notes` (or FixMyStreet's `description`) and
`updated_datetime` (W3C; default now). Each row becomes a new version of the request it names
(`open311_intake.update_row`) in the landing source `open311`, all in one segment, which the
stream applies like a POSTed update. A row that names a request the live store does not know,
or a status outside `schemas.open311.UPDATE_STATUSES`, or an unreadable time, is refused with
its reason; the rest are landed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from plumbing.landing import LandingLog
from plumbing.live_store.backend import describe, store_exists
from plumbing.live_store.open311 import requests_by_id
from plumbing.live_store.reader import LiveStoreReader
from plumbing.open311_intake import raw_table, update_row
from plumbing.workspace import Workspace
from schemas import open311 as o3
from schemas import requests as rq

UPDATE_FILE_ORIGIN = "open311-updates-file"


@dataclass
class UpdateImport:
    landed: int = 0
    segment: int | None = None
    refused: list[tuple[int, str]] = field(default_factory=list)  # (row number from 1, reason)


def read_update_file(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise ValueError(f"{path} is not valid JSON ({error}); give an array of update objects") from None
        if isinstance(document, dict):
            document = document.get(o3.UPDATES_ROOT, document.get(o3.UPDATE_ELEMENT))
        if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
            raise ValueError(f"{path}: expected an array of update objects with service_request_id and status")
        return [{k: (None if v is None else str(v)) for k, v in item.items()} for item in document]
    frame = pl.read_csv(path, infer_schema=False)
    missing = [c for c in (rq.SERVICE_REQUEST_ID, rq.STATUS) if c not in frame.columns]
    if missing:
        raise ValueError(f"{path} has no column(s) {missing}; it has {frame.columns}")
    return frame.to_dicts()


def _when(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(text.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def import_updates(workspace: Workspace, city: str, path: Path) -> UpdateImport:
    records = read_update_file(Path(path))
    store_path = workspace.live_store(city)
    if not store_exists(store_path):
        raise ValueError(f"city {city!r} has no live store yet ({describe(store_path)}): start the stream first")
    reader = LiveStoreReader.open(store_path)
    try:
        ids = [r.get(rq.SERVICE_REQUEST_ID) or "" for r in records]
        views = {v[rq.SERVICE_REQUEST_ID]: v for v in requests_by_id(reader.db, ids).to_dicts()}
    finally:
        reader.close()
    result, rows = UpdateImport(), []
    for number, record in enumerate(records, 1):
        status = (record.get(rq.STATUS) or "").strip().lower()
        view = views.get(record.get(rq.SERVICE_REQUEST_ID) or "")
        if view is None:
            result.refused.append((number, f"no service request {record.get(rq.SERVICE_REQUEST_ID)!r}"))
            continue
        if status not in o3.UPDATE_STATUSES:
            result.refused.append((number, f"status {status!r} is none of {', '.join(o3.UPDATE_STATUSES)}"))
            continue
        try:
            when = _when(record.get(rq.UPDATED_DATETIME))
        except ValueError:
            result.refused.append((number, f"updated_datetime {record.get(rq.UPDATED_DATETIME)!r} is not W3C"))
            continue
        notes = record.get(rq.STATUS_NOTES) or record.get(o3.UPDATE_DESCRIPTION)
        rows.append(update_row(view, status, notes, when))
    if rows:
        (result.segment,) = LandingLog(workspace.landing(city), o3.SOURCE).create().append(
            raw_table(rows), origin=f"{UPDATE_FILE_ORIGIN}:{Path(path).name}")
        result.landed = len(rows)
    return result
