"""Prefect flow `demo`: the synthetic demo city end to end, offline, on the embedded defaults.

build the demo city -> train its classifier on generated labelled history -> generate this
month's requests -> ingest them with the Beam pipeline -> summarise the published datasets;
then a generated city-wide participatory-budget vote (200,000 approval ballots) -> its tallies,
the greedy and equal-shares outcomes and the turnout by okrug; then 20 generated air-quality and
noise stations with 60 days of hourly observations (planted faults) -> quality control, hourly
and daily figures in their districts; then the requests of environmental categories against the
sensor anomalies near them, and requests per 1,000 residents.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from prefect import flow, task

from flows.cross import cross_streams
from flows.ingest import ingest_requests
from flows.sensors import ingest_sensors
from flows.summary import dataset_summary
from flows.votes import ingest_votes
from models.cities.pack import CityPack
from models.classification.training import train_classifier as train_text_classifier
from plumbing.workspace import Workspace
from schemas.requests import CATEGORY, DESCRIPTION, REQUESTED_DATETIME, SOURCE_POSITION
from synthetic.demo_city import build_demo_city
from synthetic.participation.generator import generate_votes, write_pabulib
from synthetic.requests.generator import generate_requests, truth_path, write_requests
from synthetic.sensors import (
    generate_observations,
    generate_stations,
    write_long_csv,
    write_stations_csv,
)

DEMO_CITY = "demo"
HISTORY_SEED_OFFSET = 1_000
DEMO_NOW = datetime(2026, 11, 1, tzinfo=UTC)
DEMO_BALLOTS = 200_000
DEMO_ELECTION = "demo-pb-2026"  # fixed, so the demo gives the same numbers every run
DEMO_STATIONS = 20
DEMO_SENSOR_DAYS = 60


@task(retries=1)
def build_city(home: str) -> str:
    workspace = Workspace.resolve(home)
    return str(build_demo_city(workspace.city(DEMO_CITY)).root)


@task(retries=1)
def generate_feed(home: str, count: int, seed: int, name: str, days_back: int) -> str:
    """Write a generated export (and its ground truth) into the workspace feeds folder."""
    workspace = Workspace.resolve(home)
    pack = CityPack.load(workspace.city(DEMO_CITY))
    start = DEMO_NOW - timedelta(days=days_back)
    records, truth = generate_requests(pack, count, seed, start=start, days=60)
    path = workspace.feeds / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_requests(records, path, "csv", truth=truth)
    return str(path)


@task
def train_classifier(home: str, history_path: str) -> dict:
    """Labels come from the generator's answer key, joined to the records by position."""
    records = pl.read_csv(history_path, infer_schema=False).with_row_index(SOURCE_POSITION)
    truth = pl.read_parquet(truth_path(Path(history_path))).select(SOURCE_POSITION, CATEGORY)
    labelled = records.with_columns(pl.col(SOURCE_POSITION).cast(pl.Int64)).join(
        truth.with_columns(pl.col(SOURCE_POSITION).cast(pl.Int64)), on=SOURCE_POSITION
    )
    return train_text_classifier(
        Workspace.resolve(home), labelled, DESCRIPTION, CATEGORY, f"{DEMO_CITY}-classifier",
        city=DEMO_CITY, time=REQUESTED_DATETIME,
    )


@task(retries=1)
def generate_vote(home: str, ballots: int, seed: int) -> str:
    """A city-wide approval vote of the demo city as a Pabulib file in the feeds folder."""
    workspace = Workspace.resolve(home)
    vote = generate_votes(CityPack.load(workspace.city(DEMO_CITY)), ballots, seed, "approval")
    return str(write_pabulib(vote, workspace.feeds / f"{DEMO_ELECTION}.pb"))


@task(retries=1)
def generate_sensor_feed(home: str, stations: int, seed: int) -> tuple[str, str]:
    """The demo stations (a CSV list) and their hourly observations (the long CSV) in the feeds folder."""
    workspace = Workspace.resolve(home)
    pack = CityPack.load(workspace.city(DEMO_CITY))
    placed = generate_stations(pack, stations, seed=seed)
    start = DEMO_NOW - timedelta(days=DEMO_SENSOR_DAYS)
    generated = generate_observations(pack, placed, start, 24 * DEMO_SENSOR_DAYS, seed=seed)
    return (str(write_stations_csv(placed, workspace.feeds / "demo-stations.csv")),
            str(write_long_csv(generated.observations, workspace.feeds / "demo-sensors.csv")))


@flow(name="demo", log_prints=True)
def demo(home: str, count: int = 200_000, seed: int = 2026, ballots: int = DEMO_BALLOTS,
         stations: int = DEMO_STATIONS) -> dict:
    """Everything `make demo` shows: a city, a model, a month of requests, published datasets,
    a participatory-budget vote decided under two rules, and air-quality stations."""
    build_city(home)
    history = generate_feed(home, max(count // 4, 20_000), seed + HISTORY_SEED_OFFSET, "history", 120)
    train_classifier(home, history)
    feed = generate_feed(home, count, seed, "requests", 60)
    report = ingest_requests([feed], DEMO_CITY, "csv", home)
    summary = dataset_summary(Workspace.resolve(home), DEMO_CITY)
    votes = ingest_votes([generate_vote(home, ballots, seed)], DEMO_CITY, home) if ballots else None
    sensors, stations_file = None, None
    if stations:
        stations_file, observations = generate_sensor_feed(home, stations, seed)
        sensors = ingest_sensors([observations], DEMO_CITY, home, "csv", stations=stations_file)
    cross = cross_streams(DEMO_CITY, home) if stations else None
    return {"report": report, "summary": summary, "votes": votes, "sensors": sensors, "cross": cross,
            "stations_file": stations_file, "next_request_id": next_request_id(count)}


def next_request_id(count: int) -> int:
    """The first id after a generated feed of `count` requests (numbered from 1, `generate_requests`):
    where the live part's requests start, so none reuses an id of the batch part."""
    return count + 1
