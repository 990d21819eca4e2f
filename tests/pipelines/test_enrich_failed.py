"""One record a step after validation cannot enrich becomes one dead letter, never a failed batch.

The planted failure is a geocoder that raises whenever request r2 is in the frame it is given,
as a bug triggered by one resident's record would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from messy_requests import MESSY_ROWS, write_messy_csv

from models.cities.pack import CityPack
from pipelines import ingest_requests
from pipelines.land_requests import land_file
from pipelines.stream_requests import LiveSettings, replay
from pipelines.transforms.guard import MAX_FAILED_PER_BATCH, EnrichStepBroken, enrich_guarded
from pipelines.transforms.requests import geocode
from plumbing.dead_letters import split_enrich_failures
from plumbing.landing import LandingLog
from plumbing.live_store.reader import LiveStoreReader
from plumbing.workspace import Workspace
from schemas import dead_letters as dl
from schemas import ledger
from schemas import requests as rq

PLANTED = "r2"
VALID_IDS = sorted({row[0] for row in MESSY_ROWS if row[0] and row[0] not in ("r7", "r8")})


@pytest.fixture()
def planted_geocoder_bug(monkeypatch):
    original = geocode._GeocodeBatch.geocode

    def geocode_unless_planted(self, frame: pl.DataFrame) -> pl.DataFrame:
        if PLANTED in frame[rq.SERVICE_REQUEST_ID].to_list():
            raise ZeroDivisionError("planted: this record breaks the geocoder")
        return original(self, frame)

    monkeypatch.setattr(geocode._GeocodeBatch, "geocode", geocode_unless_planted)


def _double(frame: pl.DataFrame) -> pl.DataFrame:
    if (frame["x"] < 0).any():
        raise ValueError("negative x")
    return frame.with_columns((pl.col("x") * 2).alias("doubled"))


def test_a_step_that_succeeds_is_called_once_and_adds_no_columns() -> None:
    calls = []
    frame = pl.DataFrame({"x": [1, 2, 3]})
    out = enrich_guarded("double", lambda f: calls.append(f.height) or _double(f), frame)
    assert out.columns == ["x", "doubled"] and calls == [3]


def test_the_failing_row_is_marked_and_the_others_enriched() -> None:
    frame = pl.DataFrame({"x": [1, -5, 3, 4], rq.SERVICE_REQUEST_ID: ["a", "b", "c", "d"]}).with_columns(
        pl.lit("s").alias(rq.SOURCE), pl.lit("f.csv").alias(rq.SOURCE_FILE),
        pl.int_range(4, dtype=pl.Int64).alias(rq.SOURCE_POSITION),
    )
    enriched = enrich_guarded("double", _double, frame)
    # a later step skips the marked row and keeps its mark
    enriched = enrich_guarded("again", lambda f: f.with_columns(pl.col("x") + 1), enriched)
    good, dead = split_enrich_failures(enriched, datetime(2026, 12, 1, tzinfo=UTC))
    assert sorted(good["x"].to_list()) == [2, 4, 5]
    assert sorted(good["doubled"].to_list()) == [2, 6, 8]
    assert dead.select(dl.STAGE, dl.REASON, dl.DETAIL, rq.SOURCE_POSITION).rows() == [
        ("double", dl.Reason.ENRICH_FAILED, "ValueError: negative x", 1)
    ]


def test_a_step_failing_on_too_many_records_stops_the_run() -> None:
    frame = pl.DataFrame({"x": [-1] * (MAX_FAILED_PER_BATCH * 3)})
    with pytest.raises(EnrichStepBroken, match="'double' failed on more than"):
        enrich_guarded("double", _double, frame)


def test_batch_ingest_dead_letters_the_planted_record(tmp_path: Path, tiny_pack: CityPack,
                                                      planted_geocoder_bug) -> None:
    workspace = Workspace(tmp_path)
    source = write_messy_csv(tmp_path / "messy.csv")
    report = ingest_requests.run([f"--input={source}", "--city=tiny", "--format=csv", f"--home={workspace.root}"])
    assert report.accounting_ok and report.records_in == len(MESSY_ROWS)
    assert report.counters[ledger.ENRICH_FAILED] == 1
    published = pl.read_parquet(workspace.requests_dataset / "**" / "*.parquet")
    assert sorted(published[rq.SERVICE_REQUEST_ID].unique().to_list()) == [i for i in VALID_IDS if i != PLANTED]
    dead = pl.read_parquet(workspace.restricted_dead_letters("tiny") / "**" / "*.parquet")  # with raw payloads
    failed = dead.filter(pl.col(dl.REASON) == dl.Reason.ENRICH_FAILED)
    assert failed.height == 1 and failed[dl.STAGE][0] == geocode.STEP
    published_dead = pl.read_parquet(workspace.dead_letters_dataset / "**" / "*.parquet")
    assert published_dead.drop(dl.RAW_PAYLOAD, strict=False).equals(dead.drop(dl.RAW_PAYLOAD))
    assert failed[dl.DETAIL][0] == "ZeroDivisionError: planted: this record breaks the geocoder"
    assert f'"{rq.SERVICE_REQUEST_ID}":"{PLANTED}"' in failed[dl.RAW_PAYLOAD][0]


def test_live_path_commits_the_planted_record_as_a_dead_letter(tmp_path: Path, tiny_pack: CityPack,
                                                               planted_geocoder_bug) -> None:
    workspace = Workspace(tiny_pack.root.parents[1])
    log = LandingLog(workspace.landing("tiny"), "city311").create("csv")
    land_file(log, write_messy_csv(tmp_path / "messy.csv"), "csv")
    # the messy rows are from October: allow them in, so only the planted record is a dead letter
    report = replay(LiveSettings(workspace, "tiny", lateness=timedelta(days=3650), handover_seconds=0.0))
    assert report.counters[ledger.ENRICH_FAILED] == 1
    assert report.counters[ledger.RECORDS_IN] == len(MESSY_ROWS)
    store = LiveStoreReader.open(workspace.live_store("tiny"))
    try:
        counts, dead = store.ledger(), store.dead_letter_frame()
    finally:
        store.close()
    assert ledger.balances(counts) and counts[ledger.ENRICH_FAILED] == 1
    failed = dead.filter(pl.col(dl.REASON) == dl.Reason.ENRICH_FAILED)
    assert failed.height == 1 and failed[dl.STAGE][0] == geocode.STEP
    published = pl.read_parquet(workspace.requests_dataset / "**" / "*.parquet")
    assert sorted(published[rq.SERVICE_REQUEST_ID].unique().to_list()) == [i for i in VALID_IDS if i != PLANTED]
    assert counts[ledger.TOO_LATE] == 0
