"""Every UrbanPulse deployment, in one place: schedules, parameters, tags and concurrency.

    ingest-<stream>-<city>    every 15 min   the exports dropped into <home>/inbox/<city>/<stream>/
                                             (requests, votes, surveys, sensors)
    backfill-requests-<city>  on demand      a date range of daily exports (`start`, `end`, `pattern`)
    stream-requests-<city>    hourly         the live path for 59 min: a crashed stream restarts at
                                             the next hour, exactly-once by the live store's offsets
    replay-requests-<city>    on demand      the landing log again (after a fix), `rebuild` optional
    train-classifier-<city>   Sundays 03:00  the city's labelled history (paused until it exists)
    poll-open311-<city>-<src> every N s      an Open311 endpoint the city follows, one poll cycle a
                                             run (listed in <home>/poll/open311.toml, `flows.poll_open311`)
    verify-datasets           daily 04:30    every published file against its checksum

Ingests of one city, of any stream and any deployment, hold the city's global concurrency limit
(`flows.scheduled.one_ingest_per_city`), so they queue rather than overlap (a run that finds no new
export takes no slot); the live stream, replay, training and verification deployments run one
flow run at a time each. Tasks that touch files or the API retry with exponential backoff;
the pipeline tasks retry what a second attempt can fix (`flows.ingest.worth_retrying`).
`serve_deployments` serves them from this process (`urbanpulse serve-flows`); the same
`deployments()` can be `prefect.deploy`-ed to a work pool whose workers run on other machines.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

from flows import scheduled, stream
from flows.poll_open311 import poll_feeds, poll_open311_flow

EVERY_15_MINUTES, HOURLY, WEEKLY, DAILY = "*/15 * * * *", "0 * * * *", "0 3 * * 0", "30 4 * * *"
STREAM_RUN_SECONDS = 59 * 60
ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


@dataclass(frozen=True)
class DeploymentPlan:
    """What to serve: the home, its cities and streams; `interval` replaces every schedule (tests)."""

    home: Path
    cities: tuple[str, ...]
    streams: tuple[str, ...] = tuple(scheduled.STREAMS)
    interval: timedelta | None = None
    only: tuple[str, ...] = field(default=())  # deployment-name prefixes to keep; empty: all
    beam_args: tuple[str, ...] = ()  # e.g. ("--runner=DaskRunner", "--dask_address=host:8786")

    def inbox(self, city: str, stream_name: str) -> Path:
        return self.home / "inbox" / city / stream_name


def cities_of(home: Path) -> tuple[str, ...]:
    """The city packs in the home folder."""
    folder = home / "cities"
    return tuple(sorted(p.name for p in folder.iterdir() if p.is_dir())) if folder.is_dir() else ()


def deployments(plan: DeploymentPlan) -> list:
    """The RunnerDeployments of `plan` (serve them, or `prefect.deploy` them to a work pool)."""
    home = str(plan.home)
    found = []

    def add(flow, name: str, schedule: str | timedelta | None, parameters: dict, tags: list[str],
            paused: bool = False, limit: ConcurrencyLimitConfig | None = ONE_AT_A_TIME):
        """`schedule`: a cron line, an interval, or None (on demand only)."""
        if plan.only and not name.startswith(plan.only):
            return
        timing = {}
        if schedule is not None and (plan.interval or isinstance(schedule, timedelta)):
            timing = {"interval": plan.interval or schedule}
        elif schedule is not None:
            timing = {"cron": schedule}
        found.append(flow.to_deployment(name=name, parameters=parameters, tags=["urbanpulse", *tags],
                                        concurrency_limit=limit, paused=paused,
                                        description=_first_line(flow.description), **timing))

    for city in plan.cities:
        for stream_name in plan.streams:
            folder = plan.inbox(city, stream_name)
            folder.mkdir(parents=True, exist_ok=True)
            add(scheduled.ingest_drop_folder, f"ingest-{stream_name}-{city}", EVERY_15_MINUTES,
                {"home": home, "city": city, "stream": stream_name, "folder": str(folder),
                 "beam_args": list(plan.beam_args)}, [f"city:{city}", f"stream:{stream_name}", "ingest"], limit=None)
        add(scheduled.backfill_requests, f"backfill-requests-{city}", None,
            {"home": home, "city": city, "pattern": str(plan.home / "exports" / city / "requests-{day:%Y-%m-%d}.csv"),
             "beam_args": list(plan.beam_args)}, [f"city:{city}", "stream:requests", "backfill"], limit=None)
        add(stream.stream_requests, f"stream-requests-{city}", HOURLY,
            {"home": home, "city": city, "run_seconds": STREAM_RUN_SECONDS}, [f"city:{city}", "live"])
        add(stream.replay_requests, f"replay-requests-{city}", None, {"home": home, "city": city},
            [f"city:{city}", "live", "replay"])
        history = plan.home / "exports" / city / "labelled.parquet"
        add(scheduled.train_request_classifier, f"train-classifier-{city}", WEEKLY,
            {"home": home, "data": str(history), "city": city}, [f"city:{city}", "train"],
            paused=not history.is_file())
    for feed in poll_feeds(plan.home):  # one cycle at a time per feed: a cycle resumes the last one's cursor
        if feed.city in plan.cities:
            add(poll_open311_flow, f"poll-open311-{feed.city}-{feed.source}", timedelta(seconds=feed.every_seconds),
                feed.parameters(home), [f"city:{feed.city}", "stream:requests", "poll", "open311"])
    add(scheduled.verify_published_datasets, "verify-datasets", DAILY, {"home": home}, ["publish"])
    return found


def _first_line(text: str | None) -> str | None:
    return text.strip().splitlines()[0] if text and text.strip() else None


def serve_deployments(plan: DeploymentPlan, limit: int | None = None) -> None:
    """Serves the plan's deployments until stopped (Ctrl-C): runs fire on their schedules."""
    from prefect import serve

    serve(*deployments(plan), limit=limit, print_starting_message=True)


class LocalServer:
    """`prefect server start` on loopback with its SQLite database in `prefect_home`."""

    def __init__(self, prefect_home: Path, port: int, extra_env: dict[str, str] | None = None) -> None:
        self.prefect_home, self.port, self.extra_env = prefect_home, port, extra_env or {}
        self.process: subprocess.Popen | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self, timeout: float = 120.0) -> LocalServer:
        import httpx

        self.prefect_home.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PREFECT_HOME": str(self.prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "DO_NOT_TRACK": "1", "PREFECT_API_URL": self.api_url, **self.extra_env}
        log = open(self.prefect_home / "server.log", "ab")  # noqa: SIM115  (the server's, closed with it)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Prefect server stopped at start; see {self.prefect_home / 'server.log'}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"the Prefect server on port {self.port} did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
