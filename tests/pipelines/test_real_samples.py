"""Real city exports through the whole batch pipeline (skipped when ../shared/data is absent)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from samples import SAMPLES

from models.cities.pack import CityPack
from pipelines import ingest_requests
from plumbing.workspace import Workspace
from schemas import requests as rq
from schemas.requests import GeocodeIssue

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"real samples not found at {SAMPLES}")
BOROUGH_CODES = {"MANHATTAN": 1, "BRONX": 2, "BROOKLYN": 3, "QUEENS": 4, "STATEN ISLAND": 5}


def published(workspace: Workspace) -> pl.DataFrame:
    return pl.scan_parquet(workspace.requests_dataset / "**" / "*.parquet", hive_partitioning=True).collect()


def test_nyc_districts_agree_with_community_board(tmp_path: Path):
    workspace = Workspace(tmp_path)
    boundaries = SAMPLES / "boundaries"
    CityPack.create(
        "nyc", workspace.city("nyc"), boundaries / "nyc_community_districts.geojson", name_field="BoroCD",
        parents=boundaries / "nyc_boroughs.geojson", parent_field="BoroCode", parent_name_field="BoroName",
        timezone="America/New_York",
    )
    export = SAMPLES / "requests" / "nyc311_2023-02-28_sample_5k.csv"
    report = ingest_requests.run([f"--input={export}", "--city=nyc", "--format=nyc311", f"--home={tmp_path}"])
    assert report.records_in == 4_999 and report.accounting_ok

    boards = pl.read_csv(export, infer_schema=False).select(
        pl.col("Unique Key").alias(rq.SERVICE_REQUEST_ID), pl.col("Community Board").alias("board")
    )
    board = pl.col("board").str.extract(r"^(\d\d) (.+)$", 1).cast(pl.Int64, strict=False)
    borough = pl.col("board").str.extract(r"^(\d\d) (.+)$", 2).replace_strict(BOROUGH_CODES, default=None)
    joined = published(workspace).join(boards, on=rq.SERVICE_REQUEST_ID).with_columns(
        (borough * 100 + board).cast(pl.String).alias("expected")
    )
    comparable = joined.filter(pl.col("expected").is_not_null() & pl.col(rq.DISTRICT_ID).is_not_null())
    agreement = (comparable[rq.DISTRICT_ID] == comparable["expected"]).mean()
    assert comparable.height > 4_500
    assert agreement >= 0.98, f"district agrees with Community Board in {agreement:.1%} of rows"
    manhattan = joined.filter(pl.col(rq.DISTRICT_ID) == "104")
    assert set(manhattan[rq.PARENT_NAME].to_list()) == {"Manhattan"}
    # the sample has close times before request times: kept, flagged, no negative durations
    odd = joined.filter(pl.col(rq.QUALITY_FLAGS).list.contains(rq.QualityFlag.CLOSED_BEFORE_REQUESTED))
    assert odd.height > 0 and odd[rq.HOURS_TO_CLOSE].null_count() == odd.height
    assert joined.filter(pl.col(rq.QUALITY_FLAGS).list.contains(rq.QualityFlag.MOJIBAKE_REPAIRED)).height > 0


def test_sf_null_island_is_never_placed(tmp_path: Path):
    workspace = Workspace(tmp_path)
    CityPack.create("sf", workspace.city("sf"), SAMPLES / "boundaries" / "sf_planning_neighborhoods.geojson",
                    name_field="name", timezone="America/Los_Angeles")
    export = SAMPLES / "requests" / "sf311_service_requests_sample_10k.csv"
    report = ingest_requests.run([f"--input={export}", "--city=sf", "--format=sf311", f"--home={tmp_path}"])
    assert report.records_in == 10_000 and report.accounting_ok
    rows = published(workspace)
    island = rows.filter(pl.col(rq.GEOCODE_ISSUE) == GeocodeIssue.NULL_ISLAND)
    assert island.height / rows.height > 0.4
    assert island[rq.DISTRICT_ID].null_count() == island.height
    real_points = rows.filter(pl.col(rq.LAT).is_not_null() & (pl.col(rq.LAT) != 0))
    assert real_points[rq.DISTRICT_ID].is_not_null().mean() > 0.99


@pytest.mark.parametrize(
    ("name", "fmt"), [("bloomington_requests.json", "open311-json"), ("san_francisco_requests.xml", "open311-xml")]
)
def test_open311_exports_ingest_with_accounting(tmp_path: Path, tiny_pack: CityPack, name: str, fmt: str):
    export = SAMPLES / "open311" / name
    report = ingest_requests.run([f"--input={export}", "--city=tiny", f"--format={fmt}", f"--home={tmp_path}"])
    assert report.records_in > 0 and report.accounting_ok
    rows = published(Workspace(tmp_path))
    assert rows[rq.SERVICE_REQUEST_ID].n_unique() == rows.height
    assert rows.height + report.dead_letters + report.counters["versions_superseded"] == report.records_in
