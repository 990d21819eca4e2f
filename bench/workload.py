"""The bench's inputs: the demo city, a labelled history, and one feed in both tools' formats.

UrbanPulse reads the generator's own CSV (Open311 field names, timestamps as source text). The
peer reads the columns its docstring names; it parses `created_at` strictly as ISO 8601, so a
request time the generator garbled on purpose is written empty there (the peer's own source
would not export text that is not a time). Nothing else is changed: the peer sees every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from models.cities.pack import CityPack
from models.geocoding.reverse import ReverseGeocoder
from plumbing.workspace import Workspace
from schemas import requests as rq
from synthetic.demo_city import build_demo_city
from synthetic.requests.event_frames import TIMESTAMP_TEXT
from synthetic.requests.generator import (
    generate_requests,
    truth_path,
    write_requests,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_CITY = "demo"
FEED_END = datetime(2026, 11, 1, tzinfo=UTC)
FEED_DAYS = 60

# The peer's input vocabulary (see the docstring of /work/shared/bench/peer_pandas.py).
PEER_ID = "id"
PEER_CREATED = "created_at"
PEER_CLOSED = "closed_at"
PEER_TEXT = "text"
PEER_LAT = "latitude"
PEER_LONG = "longitude"
PEER_LABEL = "category"
PEER_DISTRICT = "district"


@dataclass(frozen=True)
class BenchPaths:
    """Every file the bench writes, under one output folder."""

    out: Path

    @property
    def workspace(self) -> Workspace:
        return Workspace.resolve(self.out / "home")

    @property
    def history(self) -> Path:
        return self.workspace.feeds / "history.csv"

    @property
    def feed(self) -> Path:
        return self.workspace.feeds / "requests.csv"

    @property
    def peer(self) -> Path:
        return self.out / "peer"

    @property
    def peer_train(self) -> Path:
        return self.peer / "train.parquet"

    @property
    def peer_model(self) -> Path:
        return self.peer / "model.pkl"

    @property
    def peer_input(self) -> Path:
        return self.peer / "requests.csv"

    @property
    def peer_output(self) -> Path:
        return self.peer / "output"

    @property
    def logs(self) -> Path:
        return self.out / "logs"

    @property
    def stage_scratch(self) -> Path:
        return self.out / "stage_scratch"

    @property
    def districts(self) -> Path:
        from schemas.citypack import PACK_DISTRICTS_FILE

        return self.workspace.city(DEMO_CITY) / PACK_DISTRICTS_FILE


def build_city(workspace: Workspace) -> CityPack:
    """Build the demo city and its geocoder grid cache, so no timed run pays for either."""
    pack = build_demo_city(workspace.city(DEMO_CITY))
    ReverseGeocoder(pack)
    return pack


def write_feed(pack: CityPack, path: Path, count: int, seed: int, days_back: int, days: int = FEED_DAYS) -> Path:
    """Generate `count` requests over `days` days starting `days_back` days before FEED_END; a feed
    longer than FEED_DAYS starts earlier, so it ends where the default one does."""
    start = FEED_END - timedelta(days=days_back + days - FEED_DAYS)
    records, truth = generate_requests(pack, count, seed, start=start, days=days)
    write_requests(records, path, "csv", truth=truth)
    return path


def labelled_history(path: Path) -> pl.DataFrame:
    """The feed's records with the generator's category, joined by position (as flows/demo does)."""
    records = pl.read_csv(path, infer_schema=False).with_row_index(rq.SOURCE_POSITION)
    truth = pl.read_parquet(truth_path(path)).select(rq.SOURCE_POSITION, rq.CATEGORY)
    return records.with_columns(pl.col(rq.SOURCE_POSITION).cast(pl.Int64)).join(
        truth.with_columns(pl.col(rq.SOURCE_POSITION).cast(pl.Int64)), on=rq.SOURCE_POSITION
    )


def write_peer_training(history: pl.DataFrame, path: Path) -> int:
    """The same labelled rows, in the peer's `text, category` layout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = history.select(
        pl.col(rq.DESCRIPTION).alias(PEER_TEXT), pl.col(rq.CATEGORY).alias(PEER_LABEL)
    )
    frame.write_parquet(path)
    return frame.height


def _iso_or_null(column: str) -> pl.Expr:
    parsed = pl.col(column).str.strptime(pl.Datetime("us", "UTC"), TIMESTAMP_TEXT, strict=False)
    return parsed.dt.strftime(TIMESTAMP_TEXT)


def write_peer_input(feed: Path, target: Path) -> int:
    """The feed's rows in the peer's format, same order; returns how many times were blanked."""
    records = pl.read_csv(feed, infer_schema=False)
    peer = records.select(
        pl.col(rq.SERVICE_REQUEST_ID).alias(PEER_ID),
        _iso_or_null(rq.REQUESTED_DATETIME).alias(PEER_CREATED),
        _iso_or_null(rq.CLOSED_DATETIME).alias(PEER_CLOSED),
        pl.col(rq.DESCRIPTION).alias(PEER_TEXT),
        pl.col(rq.LAT).cast(pl.Float64).alias(PEER_LAT),
        pl.col(rq.LONG).cast(pl.Float64).alias(PEER_LONG),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    peer.write_csv(target)
    return peer[PEER_CREATED].null_count() - records[rq.REQUESTED_DATETIME].null_count()
