"""Shared fixtures: a tiny two-okrug city and raw request batches built from plain rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from postgres_fixtures import BACKENDS, live_store_on, postgres_server, store_url  # noqa: F401

from models.cities.pack import CityPack
from schemas import requests as rq
from schemas.taxonomy import TaxonomyEntry


def square(west: float, south: float, size: float) -> dict:
    ring = [[west, south], [west + size, south], [west + size, south + size], [west, south + size], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


TINY_CITY = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"code": "N1", "title": "North One", "okrug": "N", "okrug_name": "North"},
         "geometry": square(37.0, 55.1, 0.1)},
        {"type": "Feature", "properties": {"code": "N2", "title": "North Two", "okrug": "N", "okrug_name": "North"},
         "geometry": square(37.1, 55.1, 0.1)},
        {"type": "Feature", "properties": {"code": "S1", "title": "South One", "okrug": "S", "okrug_name": "South"},
         "geometry": square(37.0, 55.0, 0.1)},
    ],
}
TINY_TAXONOMY = [
    TaxonomyEntry("road_damage", "roads", 8, "Pothole", "Яма"),
    TaxonomyEntry("noise", "police", 1, "Noise", "Шум"),
]


def build_tiny_pack(home: Path) -> CityPack:
    """The tiny city as the pack `tiny` of the UrbanPulse home `home` (for module-scoped fixtures too)."""
    return CityPack.create(
        "tiny", home / "cities" / "tiny", TINY_CITY, name_field="title", id_field="code",
        parent_field="okrug", parent_name_field="okrug_name", taxonomy=TINY_TAXONOMY,
        timezone="Europe/Moscow",
    )


@pytest.fixture()
def tiny_pack(tmp_path: Path) -> CityPack:
    return build_tiny_pack(tmp_path)


PREFECT_SETTINGS = ("PREFECT_HOME", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS",
                    "PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK", "PREFECT_LOGGING_LEVEL")


def forget_prefect_settings(patch: pytest.MonkeyPatch) -> None:
    """Unset the Prefect settings the CLI sets for its process; `patch`'s undo restores them exactly.

    (`setenv` first, so that undo also removes a setting that was absent and the CLI then set.)
    """
    for name in PREFECT_SETTINGS:
        patch.setenv(name, "")
        patch.delenv(name)


def raw_batch(rows: list[dict], source: str = "test", source_file: str = "inline.csv") -> pa.RecordBatch:
    """A RAW_REQUEST batch: every Open311 field as text, positions in row order."""
    columns = {name: [row.get(name) for row in rows] for name in rq.OPEN311_FIELDS}
    columns[rq.SOURCE] = [source] * len(rows)
    columns[rq.SOURCE_FILE] = [source_file] * len(rows)
    columns[rq.SOURCE_POSITION] = list(range(len(rows)))
    columns[rq.UNREADABLE_RECORD] = [row.get(rq.UNREADABLE_RECORD) for row in rows]
    columns[rq.GUESSED_ENCODING] = [row.get(rq.GUESSED_ENCODING) for row in rows]
    return pa.RecordBatch.from_pydict(columns, schema=rq.RAW_REQUEST)


def frame_of(rows: list[dict]) -> pl.DataFrame:
    return pl.from_arrow(raw_batch(rows))


def enriched_frame(rows: list[dict]) -> pl.DataFrame:
    """An ENRICHED_REQUEST frame: every published column, the given values, null elsewhere."""
    empty = dict.fromkeys(rq.ENRICHED_REQUEST.names)
    return pl.DataFrame([empty | row for row in rows], schema=pl.Schema(rq.ENRICHED_REQUEST), strict=False)


@pytest.fixture(params=BACKENDS)
def live_backend(request: pytest.FixtureRequest) -> str:
    """Runs the test once on each live store: the embedded SQLite file and a real PostgreSQL
    server (a fresh database, the setting in this process and the ones it starts)."""
    with live_store_on(store_url(request, request.param)):
        yield request.param


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--live-store", choices=BACKENDS, default="sqlite",
                     help="the live store every test module writes and reads: the embedded SQLite file "
                          "(default) or a real PostgreSQL server started for the session (a database per module)")


@pytest.fixture(scope="module", autouse=True)
def live_store_of_module(request: pytest.FixtureRequest):
    """With `--live-store=postgresql`, each test module (its module-scoped homes included) reads
    and writes its live stores on a fresh database of the PostgreSQL server."""
    if request.config.getoption("--live-store") == "sqlite":
        yield
        return
    with live_store_on(request.getfixturevalue("postgres_server").new_database()):
        yield
