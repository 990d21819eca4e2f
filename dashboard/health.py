"""GET /health: is the live path keeping up with what landed in the city's landing logs?

For each landed source the feed compares the log's end with what the stream committed (the
furthest of its windows and dead-letter readers) and asks how long the oldest segment the stream
has not committed has been waiting. A stream that keeps up commits a segment within seconds of
its landing, so a wait beyond `FeedLimits.lag_alarm_seconds` means it is stopped, stuck or slower
than the intake. Measuring the oldest waiting segment (not the time since the last commit) keeps
a quiet city healthy when one new segment has just landed, and flags a stream that commits all
the time but falls further behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Response

from dashboard.changes import ChangeHub
from dashboard.store import open_store
from plumbing.landing import LandingLog, landed_ends
from plumbing.live_store.backend import store_exists
from plumbing.workspace import Workspace
from schemas import ledger
from schemas import live as lv

OK, WAITING, LAGGING, NOT_FOLLOWING = "ok", "waiting", "lagging", "not_following"
UNHEALTHY = 503  # what load balancers and uptime checks read as "take me out / alert"


@dataclass
class LivePathState:
    """How far behind the stream is, per landed source, and what that makes the feed's status."""

    behind_seconds: dict[str, float] = field(default_factory=dict)  # age of the oldest uncommitted segment
    lagging: list[str] = field(default_factory=list)  # committed before, now waiting too long
    not_following: list[str] = field(default_factory=list)  # never committed, waiting too long

    @property
    def status(self) -> str:
        return NOT_FOLLOWING if self.not_following else LAGGING if self.lagging else OK


def live_path_state(landing: Path, landed: dict[str, int], committed: dict[str, int] | None,
                    alarm_seconds: float, now: datetime) -> LivePathState:
    """`committed`: per source, the first segment the stream has not committed (None: no store yet)."""
    state = LivePathState()
    for source, end in landed.items():
        first = (committed or {}).get(source)
        if end == 0 or (first is not None and first >= end):
            state.behind_seconds[source] = 0.0
            continue
        waited = (now - LandingLog(landing, source).landed_at(first or 0)).total_seconds()
        state.behind_seconds[source] = round(max(waited, 0.0), 1)
        if waited > alarm_seconds:
            (state.not_following if first is None else state.lagging).append(source)
    return state


def _detail(state: LivePathState, city: str) -> str:
    command = f"`urbanpulse stream requests --city {city}`"
    parts = []
    if state.not_following:
        names = ", ".join(f"{s!r} ({state.behind_seconds[s]:.0f} s)" for s in state.not_following)
        parts.append(f"landed but never committed: {names}; start {command} if it does not run, or "
                     "restart it (a stream started with --source follows only those sources)")
    if state.lagging:
        names = ", ".join(f"{s!r} (oldest uncommitted segment {state.behind_seconds[s]:.0f} s old)"
                          for s in state.lagging)
        parts.append(f"behind: {names}; check that {command} runs and keeps up, or restart it")
    return "; ".join(parts)


def health_router(workspace: Workspace, city: str, hub: ChangeHub) -> APIRouter:
    router = APIRouter()
    store_path, landing = workspace.live_store(city), workspace.landing(city)
    alarm = hub.limits.lag_alarm_seconds

    @router.get("/health")
    def health(response: Response) -> dict:
        """Is the live path keeping up: per landing log of the city, how far the stream got, how far
        behind it is, and for how long; the live store's ledger and open event streams.

        `status` is `ok` (200) when every landed source is committed up to its end or its oldest
        uncommitted segment landed less than the alarm time ago (`serve --lag-alarm-seconds`);
        `waiting` (200) when there is no live store yet and nothing has waited that long;
        `lagging` (503) when a source the stream committed before has a segment waiting longer;
        `not_following` (503) when a source has waited that long with nothing committed at all
        (no stream runs, or it does not follow that source). `detail` names the sources and
        what to do. 503 is what load balancers and uptime checks take for "alert".
        """
        landed = landed_ends(landing)
        streams = {"open": hub.streams, "max": hub.limits.max_streams}
        now = datetime.now(UTC)
        if not store_exists(store_path):
            state = live_path_state(landing, landed, None, alarm, now)
            status = state.status if state.status != OK else WAITING
            response.status_code = 200 if status == WAITING else UNHEALTHY
            return {"status": status, "city": city, "detail": _detail(state, city) or (
                f"no live store yet; it appears once `urbanpulse stream requests --city {city}` commits"),
                    "landed": landed, "behind_seconds": state.behind_seconds,
                    "not_following": state.not_following, "streams": streams}
        store = open_store(store_path)
        try:
            offsets, dead = store.offsets(), store.offsets(lv.DEAD_LETTERS_READER)
            counts, last = store.ledger(), store.last_commit()
        finally:
            store.close()
        # a segment of invalid records only moves the dead-letter reader
        handled = {s: max(offsets.get(s, 0), dead.get(s, 0)) for s in {*offsets, *dead}}
        state = live_path_state(landing, landed, handled, alarm, now)
        if state.status != OK:
            response.status_code = UNHEALTHY
        return {
            "status": state.status, "city": city, "detail": _detail(state, city),
            "landed": landed, "committed": offsets,
            "lag_segments": {s: end - handled.get(s, 0) for s, end in landed.items()},
            "behind_seconds": state.behind_seconds, "lagging": state.lagging,
            "not_following": state.not_following, "lag_alarm_seconds": alarm,
            "last_commit_at": last.isoformat() if last else None,
            "ledger": {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in counts.items()},
            ledger.ACCOUNTING_OK: ledger.balances(counts), "streams": streams,
        }

    return router
