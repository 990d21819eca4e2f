"""The flows that deployments run on a schedule (`flows.deployments`), thin like every flow:

- `one_ingest_per_city(flow)`: the same ingest flow, holding the city's Prefect global
  concurrency limit (`ingest-<city>`, one slot) for its whole run, so two ingests of one city,
  of any stream, queue instead of overlapping (the city lock of `plumbing.publishing` would
  refuse the second one);
- `ingest_drop_folder`: every export file an operator (or an upstream job) dropped into a folder,
  through the stream's ingest flow, then moved to `ingested/` beside them;
- `backfill_requests`: the exports of each day of a date range, found by a file-name pattern;
- `train_request_classifier` and `verify_published_datasets`.
"""

from __future__ import annotations

import functools
import inspect
import shutil
from datetime import date, timedelta
from pathlib import Path

from prefect import Flow, flow, task
from prefect.concurrency.sync import concurrency
from prefect.tasks import exponential_backoff

from flows import ingest, sensors, votes

CITY_SLOT_WAIT_SECONDS = 6 * 3600  # an ingest waits this long for the city's running ingest
IO_RETRIES = {"retries": 3, "retry_delay_seconds": exponential_backoff(backoff_factor=10), "retry_jitter_factor": 0.5}


def city_limit(city: str) -> str:
    return f"ingest-{city}"


@task(**IO_RETRIES)
def ensure_city_limit(city: str) -> str:
    """The city's one-slot global concurrency limit, created on first use (API I/O: retried)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(city_limit(city))
        except ObjectNotFound:  # first ingest of the city: create it (a racing creator is fine)
            client.upsert_global_concurrency_limit_by_name(city_limit(city), 1)
    return city_limit(city)


def one_ingest_per_city(inner: Flow) -> Flow:
    """`inner` under the same name and parameters, run while holding its city's slot."""
    signature = inspect.signature(inner.fn)

    @functools.wraps(inner.fn)
    def serialised(*args, **kwargs):
        city = signature.bind(*args, **kwargs).arguments["city"]
        with concurrency(ensure_city_limit(city), occupy=1, strict=True, timeout_seconds=CITY_SLOT_WAIT_SECONDS):
            return inner.fn(*args, **kwargs)

    serialised.__module__ = __name__  # the deployment's entrypoint is this module's attribute
    return flow(serialised, name=inner.name, log_prints=True, description=inner.description)


ingest_requests = one_ingest_per_city(ingest.ingest_requests)
ingest_votes = one_ingest_per_city(votes.ingest_votes)
ingest_surveys = one_ingest_per_city(votes.ingest_surveys)
ingest_sensors = one_ingest_per_city(sensors.ingest_sensors)
STREAMS = {"requests": ingest_requests, "votes": ingest_votes, "surveys": ingest_surveys, "sensors": ingest_sensors}


@task(**IO_RETRIES)
def new_exports(folder: str) -> list[str]:
    """The files waiting in `folder` (not hidden, not partial uploads), oldest name first."""
    found = [p for p in Path(folder).glob("*") if p.is_file() and not p.name.startswith((".", "~"))
             and not p.name.endswith((".part", ".tmp"))]
    return [str(p.resolve()) for p in sorted(found)]


@task(**IO_RETRIES)
def archive_exports(paths: list[str]) -> list[str]:
    """Moves ingested files to `ingested/` beside them: the next run does not read them again."""
    moved = []
    for path in map(Path, paths):
        target = path.parent / "ingested" / path.name
        target.parent.mkdir(exist_ok=True)
        shutil.move(path, target)
        moved.append(str(target))
    return moved


def _stream_inputs(stream: str, paths: list[str], city: str, home: str, fmt: str | None,
                   mapping: str | None, beam_args: list[str] | None) -> tuple[tuple, dict]:
    if stream == "requests":
        return (paths, city, fmt or "csv", home), {"mapping": mapping, "beam_args": beam_args}
    if stream == "votes":
        return (paths, city, home, fmt or "pabulib"), {"beam_args": beam_args}
    if stream == "surveys":
        return (paths, city, home, fmt or "csv"), {"mapping": mapping, "beam_args": beam_args}
    if stream == "sensors":
        return (paths, city, home, fmt or "uci"), {"mapping": mapping, "beam_args": beam_args}
    raise ValueError(f"stream {stream!r} is not one of {', '.join(STREAMS)}")


@flow(name="ingest_drop_folder", log_prints=True)
def ingest_drop_folder(home: str, city: str, stream: str, folder: str, fmt: str | None = None,
                       mapping: str | None = None, beam_args: list[str] | None = None) -> dict:
    """Whatever landed in `folder` since the last run -> the stream's datasets (nothing: a no-op)."""
    paths = new_exports(folder)
    if not paths:
        print(f"no new {stream} exports in {folder}")
        return {"stream": stream, "city": city, "inputs": [], "report": None}
    args, kwargs = _stream_inputs(stream, paths, city, home, fmt, mapping, beam_args)
    report = STREAMS[stream](*args, **kwargs)
    return {"stream": stream, "city": city, "inputs": archive_exports(paths), "report": report}


@flow(name="backfill_requests", log_prints=True)
def backfill_requests(home: str, city: str, pattern: str, start: date, end: date, fmt: str = "csv",
                      mapping: str | None = None, beam_args: list[str] | None = None) -> dict:
    """The request exports of every day from `start` to `end` (both included) in one run:
    `pattern` names a day's file, e.g. `/exports/nyc/{day:%Y-%m-%d}.csv`; missing days are said."""
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    paths = [p for p in (pattern.format(day=day) for day in days) if Path(p).is_file()]
    missing = len(days) - len(paths)
    if missing:
        print(f"{missing} of {len(days)} days have no export matching {pattern}")
    if not paths:
        raise FileNotFoundError(f"no export matches {pattern} between {start} and {end}")
    return ingest_requests(paths, city, fmt, home, mapping=mapping, beam_args=beam_args)


@task(retries=1, retry_delay_seconds=30)
def train_from_file(home: str, data: str, text: str, label: str, city: str | None) -> dict:
    from models.classification.training import train_classifier_from_file
    from plumbing.workspace import Workspace

    return train_classifier_from_file(Workspace(Path(home)), Path(data), text, label, city=city)


@flow(name="train_request_classifier", log_prints=True)
def train_request_classifier(home: str, data: str, text: str = "description", label: str = "service_code",
                             city: str | None = None) -> dict:
    """The city's labelled history -> a new classifier artifact with its model card."""
    return train_from_file(home, data, text, label, city)


@flow(name="verify_published_datasets", log_prints=True)
def verify_published_datasets(home: str) -> dict:
    """Every published file against its checksum: a damaged snapshot fails the run (and alerts)."""
    from plumbing.publishing import verify
    from plumbing.workspace import Workspace

    problems = verify(Workspace(Path(home)))
    if problems:
        raise RuntimeError(f"{len(problems)} published files fail their checksum; run `urbanpulse datasets "
                           "repair`")
    return {"problems": 0}
