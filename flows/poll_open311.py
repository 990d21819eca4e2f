"""Following a city's Open311 endpoint on a schedule: one Prefect flow run per poll cycle.

`poll_open311_flow` lands what changed since the saved cursor (`pipelines.poll_open311`); the
network step retries on its own (backoff inside the poller), and the task retries a failed cycle
once more a little later. `poll_open311_deployment` gives the deployment to serve it every
`every_seconds` (`urbanpulse poll open311 --every` runs the same cycles in a loop instead).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from prefect import flow, task

from pipelines.poll_open311 import Open311Poller, PollState, poll_state_path
from plumbing.landing import LandingLog
from plumbing.workspace import Workspace


@task(retries=1, retry_delay_seconds=30)
def poll_cycle(home: str, city: str, root: str, source: str, api_key: str | None, fmt: str,
               lookback_days: float) -> dict:
    workspace = Workspace(Path(home))
    state = PollState(poll_state_path(workspace.state, city, source))
    try:
        poller = Open311Poller(root, LandingLog(workspace.landing(city), source), state, api_key=api_key, fmt=fmt,
                               lookback=timedelta(days=lookback_days))
        report = poller.poll()
    finally:
        state.close()
    return {"windows": report.windows, "fetched": report.fetched, "landed": report.landed,
            "unchanged": report.unchanged, "segments": report.segments,
            "cursor": report.cursor.isoformat() if report.cursor else None}


@flow(name="poll-open311")
def poll_open311_flow(home: str, city: str, root: str, source: str, api_key: str | None = None,
                      fmt: str = "json", lookback_days: float = 7.0) -> dict:
    """New and changed requests of the endpoint `root` into the landing source `source` of `city`."""
    return poll_cycle(home, city, root, source, api_key, fmt, lookback_days)


def poll_open311_deployment(home: str, city: str, root: str, source: str, every_seconds: float = 300.0,
                            api_key: str | None = None):
    """The scheduled deployment (`prefect.serve(poll_open311_deployment(...))`)."""
    return poll_open311_flow.to_deployment(
        name=f"poll-open311-{city}-{source}", interval=timedelta(seconds=every_seconds),
        parameters={"home": home, "city": city, "root": root, "source": source, "api_key": api_key},
    )
