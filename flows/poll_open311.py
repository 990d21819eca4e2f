"""Following a city's Open311 endpoint on a schedule: one Prefect flow run per poll cycle.

`poll_open311_flow` lands what changed since the saved cursor (`pipelines.poll_open311`); the
network step retries on its own (backoff inside the poller), and the task retries a failed cycle
once more a little later. `flows.deployments` schedules one deployment per listed feed, every
`every_seconds` (`urbanpulse poll open311 --every` runs the same cycles in a loop instead).

The endpoints a home follows are listed in `<home>/poll/open311.toml`, one table per feed, for
`flows.deployments` to schedule:

    [[feed]]
    city = "sf"                                   # the city pack the requests belong to
    source = "sf311"                              # the landing source they land into
    url = "https://mobile311.sfgov.org/open311/v2"
    every_seconds = 300                           # optional, default 300
    format = "json"                               # optional: json or xml
    lookback_days = 7                             # optional: re-read this much before the cursor
    api_key_env = "SF311_API_KEY"                 # optional: the environment variable holding the key

The key itself never goes into the file or the deployment's parameters (the Prefect UI shows
those): the flow reads it from the named variable when it runs.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from prefect import flow, task

from pipelines.poll_open311 import Open311Poller, PollState, poll_state_path
from plumbing.landing import LandingLog
from plumbing.workspace import Workspace
from schemas import open311 as o3


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
                      fmt: str = "json", lookback_days: float = 7.0, api_key_env: str | None = None) -> dict:
    """New and changed requests of the endpoint `root` into the landing source `source` of `city`."""
    if api_key is None and api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise ValueError(f"the Open311 feed {source!r} of city {city!r} needs its API key in the environment "
                             f"variable {api_key_env}, which is not set where this flow runs")
    return poll_cycle(home, city, root, source, api_key, fmt, lookback_days)


POLL_FEEDS_FILE = Path("poll") / "open311.toml"
DEFAULT_EVERY_SECONDS = 300.0


@dataclass(frozen=True)
class PollFeed:
    """One Open311 endpoint a home follows (a `[[feed]]` of `<home>/poll/open311.toml`)."""

    city: str
    source: str
    url: str
    every_seconds: float = DEFAULT_EVERY_SECONDS
    format: str = "json"
    lookback_days: float = 7.0
    api_key_env: str | None = None

    def parameters(self, home: str) -> dict:
        return {"home": home, "city": self.city, "root": self.url, "source": self.source, "fmt": self.format,
                "lookback_days": self.lookback_days, "api_key_env": self.api_key_env}


def poll_feeds(home: Path) -> list[PollFeed]:
    """The feeds listed in the home's `poll/open311.toml` (none without the file); a file that
    cannot be followed raises ValueError naming the file, the feed and what to fix."""
    path = Path(home) / POLL_FEEDS_FILE
    if not path.is_file():
        return []
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid TOML ({error}); see `flows.poll_open311` for its layout") from None
    known = set(PollFeed.__dataclass_fields__)
    feeds = []
    for number, table in enumerate(document.get("feed", []), start=1):
        where = f"{path}, feed {number}"
        if not isinstance(table, dict):
            raise ValueError(f"{where}: each feed is a [[feed]] table")  # noqa: TRY004 (a user's file)
        missing = [k for k in ("city", "source", "url") if not table.get(k)]
        if missing:
            raise ValueError(f"{where}: give {', '.join(missing)}")
        unknown = sorted(set(table) - known)
        if unknown:
            raise ValueError(f"{where}: unknown keys {', '.join(unknown)}; the keys are {', '.join(sorted(known))}")
        feed = PollFeed(**table)
        if not str(feed.url).startswith(("http://", "https://")):
            raise ValueError(f"{where}: url {feed.url!r} is not an http(s) address")
        if feed.format not in o3.FORMATS:
            raise ValueError(f"{where}: format {feed.format!r} is not one of {', '.join(o3.FORMATS)}")
        if not float(feed.every_seconds) > 0:
            raise ValueError(f"{where}: every_seconds must be more than 0")
        feeds.append(feed)
    if len({(f.city, f.source) for f in feeds}) < len(feeds):
        raise ValueError(f"{path}: two feeds land into the same city and source; give each its own source")
    return feeds
