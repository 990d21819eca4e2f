"""What every Open311 route shares: the city, its stores, the argument checks and the error wrapper."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request

from dashboard.open311.render import error_answer
from plumbing.api_keys import KeyChecker, KeyStore, RateLimiter
from plumbing.landing import LandingLog
from plumbing.live_store.backend import store_exists
from plumbing.live_store.reader import LiveStoreReader
from plumbing.open311_intake import GroupLander
from plumbing.open311_services import Open311Problem, Service, city_services
from plumbing.open311_submissions import SubmissionStore
from plumbing.pack_files import pack_timezone
from plumbing.workspace import Workspace
from schemas import open311 as o3


@dataclass
class Open311Context:
    workspace: Workspace
    city: str
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _keys: KeyChecker | None = None
    _lander: GroupLander | None = None
    _submissions: SubmissionStore | None = None
    limiter: RateLimiter = field(default_factory=RateLimiter)

    @property
    def pack_root(self) -> Path:
        return self.workspace.city(self.city)

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(pack_timezone(self.pack_root))

    def services(self) -> dict[str, Service]:
        return city_services(self.pack_root)

    def service(self, code: str) -> Service:
        found = self.services().get(code)
        if found is None:
            raise Open311Problem(404, f"service_code {code!r} is not a service of {self.city!r}; "
                                      f"GET {o3.ROOT}/services.json lists them")
        return found

    @property
    def keys(self) -> KeyChecker:
        """Opened at the first request that needs it (a read-only feed never creates the key store)."""
        with self._lock:
            if self._keys is None:
                self._keys = KeyChecker(KeyStore.of(self.workspace))
            return self._keys

    @property
    def submissions(self) -> SubmissionStore:
        with self._lock:
            if self._submissions is None:
                self._submissions = SubmissionStore.of(self.workspace, self.city)
            return self._submissions

    @property
    def lander(self) -> GroupLander:
        submissions = self.submissions
        with self._lock:
            if self._lander is None:
                self._lander = GroupLander(LandingLog(self.workspace.landing(self.city), o3.SOURCE), submissions)
            return self._lander

    def close(self) -> None:
        if self._lander is not None:
            self._lander.close()

    @contextmanager
    def store(self) -> Iterator[LiveStoreReader | None]:
        path = self.workspace.live_store(self.city)
        if not store_exists(path):
            yield None
            return
        reader = LiveStoreReader.open(path, cache_kib=8_192)
        try:
            yield reader
        finally:
            reader.close()

    def check_jurisdiction(self, request: Request, values: dict[str, str] | None = None) -> None:
        given = (values or {}).get(o3.JURISDICTION_ID) or request.query_params.get(o3.JURISDICTION_ID)
        if given and given != self.city:
            raise Open311Problem(404, f"jurisdiction_id {given!r} is not served here: this server serves "
                                      f"only {self.city!r} (leave jurisdiction_id out, or use {self.city!r})")

    def local(self, moment: datetime | None) -> str | None:
        """A W3C datetime in the city's time, with its offset."""
        return None if moment is None else moment.astimezone(self.timezone).isoformat(timespec="seconds")


def check_format(fmt: str) -> str:
    if fmt not in o3.FORMATS:
        raise Open311Problem(400, f"format {fmt!r}: end the path with .json or .xml")
    return fmt


def w3c_datetime(name: str, text: str | None) -> datetime | None:
    if text is None or text == "":
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "+", 1)
                                        if "T" in text else text.strip())
    except ValueError:
        raise Open311Problem(400, f"{name}: {text[:40]!r} is not a W3C datetime (e.g. 2026-01-31T08:00:00Z)") \
            from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def date_window(start_text: str | None, end_text: str | None) -> tuple[datetime, datetime]:
    """start_date / end_date: default the last 90 days, at most 90 days, start before end."""
    start, end = w3c_datetime(o3.START_DATE, start_text), w3c_datetime(o3.END_DATE, end_text)
    span = timedelta(days=o3.MAX_WINDOW_DAYS)
    if start is None and end is None:
        end = datetime.now(UTC)
    if start is None:
        start = end - span
    if end is None:
        end = start + span
    if start > end:
        raise Open311Problem(400, f"start_date {start_text} is after end_date {end_text}")
    if end - start > span:
        raise Open311Problem(400, f"start_date to end_date spans {(end - start).days} days; at most "
                                  f"{o3.MAX_WINDOW_DAYS} (ask for several windows)")
    return start, end


def comma_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def open311_errors(handler):
    """Answer an `Open311Problem` raised by `handler` in the spec's envelope, in the path's format."""
    @functools.wraps(handler)
    async def wrapped(*args, **kwargs):
        try:
            return await handler(*args, **kwargs)
        except Open311Problem as problem:
            return error_answer(kwargs.get("fmt", "json"), problem.status, problem.message, problem.headers)
    return wrapped
