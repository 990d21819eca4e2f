"""The `urbanpulse` command end to end on a small generated feed (no Prefect server needed)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from conftest import build_tiny_pack, forget_prefect_settings
from polars.testing import assert_frame_equal

from flows.cli import main
from pipelines.sinks.requests.dataset import published_requests
from plumbing.landing import LandingLog
from plumbing.workspace import Workspace
from schemas import dead_letters as dl
from schemas import requests as rq


@pytest.fixture(autouse=True)
def isolated_prefect_settings(monkeypatch):
    """The CLI sets Prefect's environment for its process; keep it from leaking into other tests."""
    forget_prefect_settings(monkeypatch)  # restored after the test, whatever the CLI sets


def test_city_generate_ingest(tmp_path: Path, capsys):
    home = ["--home", str(tmp_path)]
    assert main([*home, "city", "demo"]) == 0
    assert "47 districts" in capsys.readouterr().out

    feed = tmp_path / "feed.jsonl"
    assert main([*home, "generate", "requests", "--count", "3000", "--seed", "5", "--out", str(feed)]) == 0
    records = pl.read_ndjson(feed, infer_schema_length=None)
    assert records.height == 3000

    assert main([*home, "ingest", "requests", str(feed), "--city", "demo", "--format", "jsonl", "--no-prefect"]) == 0
    out = capsys.readouterr().out
    assert "records in 3,000" in out and "accounting ok: True" in out

    workspace = Workspace(tmp_path)
    published = pl.scan_parquet(workspace.requests_dataset / "**" / "*.parquet").collect()
    dead = pl.scan_parquet(workspace.dead_letters_dataset / "**" / "*.parquet").collect()
    assert published[rq.SERVICE_REQUEST_ID].n_unique() == published.height
    kept = records.with_row_index(rq.SOURCE_POSITION).filter(
        ~pl.col(rq.SOURCE_POSITION).is_in(dead[rq.SOURCE_POSITION].to_list())
    )
    assert dead.height > 0 and set(dead[dl.REASON]) <= {dl.Reason.MISSING_ID, dl.Reason.BAD_TIMESTAMP}
    assert published.height == kept[rq.SERVICE_REQUEST_ID].n_unique()
    assert published[rq.DISTRICT_ID].is_not_null().mean() > 0.7


def test_unknown_city_is_a_clear_error(tmp_path: Path, capsys):
    feed = tmp_path / "x.csv"
    feed.write_text("service_request_id,requested_datetime\n1,2026-10-01T00:00:00Z\n")
    code = main(["--home", str(tmp_path), "ingest", "requests", str(feed), "--city", "atlantis", "--no-prefect"])
    assert code == 2
    assert "no city pack" in capsys.readouterr().err


def test_missing_input_is_a_clear_error(tmp_path: Path, capsys):
    main(["--home", str(tmp_path), "city", "demo"])
    code = main(["--home", str(tmp_path), "ingest", "requests", str(tmp_path / "nope.csv"), "--city", "demo",
                 "--no-prefect"])
    assert code == 2
    assert "not found" in capsys.readouterr().err


FORMAT_SUFFIXES = {"csv": ".csv", "parquet": ".parquet", "open311-json": ".json"}
# Provenance that legitimately differs between the same records ingested from two formats:
#   source_file  - the path of the input file, whose name ends in each format's suffix;
#   ingested_at  - the start time of each ingestion run (one stamp per run).
# Everything else (ids, texts, timestamps, coordinates, source, source_position, every enrichment
# column, the partition date) must come out the same whatever format carried the records.
PER_FORMAT_PROVENANCE = [rq.SOURCE_FILE, rq.INGESTED_AT]


def ingested_feed(home: Path, feed: Path, fmt: str) -> pl.DataFrame:
    """`feed` (generated in `fmt`) ingested into `home` under one source name; its request rows by id."""
    args = ["--home", str(home)]
    assert main([*args, "city", "demo"]) == 0
    # one source name for every format (Open311 JSON would otherwise be named after its format)
    assert main([*args, "ingest", "requests", str(feed), "--city", "demo", "--format", fmt, "--source", "city311",
                 "--no-prefect"]) == 0
    published = pl.concat(list(published_requests(Workspace(home).city_dataset("requests", "demo"))))
    return published.sort(rq.SERVICE_REQUEST_ID)


@pytest.fixture(scope="module")
def generated_feeds(tmp_path_factory) -> dict[str, Path]:
    """The same 500 generated records (seed 9), written once in each format."""
    folder = tmp_path_factory.mktemp("feeds")
    with pytest.MonkeyPatch.context() as patch:
        forget_prefect_settings(patch)
        assert main(["--home", str(folder), "city", "demo"]) == 0
        for fmt, suffix in FORMAT_SUFFIXES.items():
            assert main(["--home", str(folder), "generate", "requests", "--count", "500", "--seed", "9",
                         "--out", str(folder / f"feed{suffix}"), "--format", fmt]) == 0
    return {fmt: folder / f"feed{suffix}" for fmt, suffix in FORMAT_SUFFIXES.items()}


@pytest.fixture(scope="module")
def csv_published(generated_feeds: dict[str, Path], tmp_path_factory) -> pl.DataFrame:
    with pytest.MonkeyPatch.context() as patch:
        forget_prefect_settings(patch)
        return ingested_feed(tmp_path_factory.mktemp("csv-home"), generated_feeds["csv"], "csv")


@pytest.mark.parametrize("fmt", ["parquet", "open311-json"])
def test_generated_formats_ingest_identically(
    generated_feeds: dict[str, Path], csv_published: pl.DataFrame, tmp_path: Path, fmt: str
) -> None:
    """The same records as Parquet or Open311 JSON publish exactly the rows the CSV publishes."""
    published = ingested_feed(tmp_path, generated_feeds[fmt], fmt)
    assert 450 < csv_published.height < 500  # a few records of the feed are dead letters
    assert published[rq.SOURCE_FILE].unique().to_list() == [str(generated_feeds[fmt])]
    assert_frame_equal(published.drop(PER_FORMAT_PROVENANCE), csv_published.drop(PER_FORMAT_PROVENANCE))


def test_city_create_from_any_geojson_with_taxonomy(tmp_path: Path, capsys):
    import json

    from conftest import TINY_CITY

    from models.cities.pack import CityPack

    boundaries = tmp_path / "districts.geojson"
    boundaries.write_text(json.dumps(TINY_CITY), encoding="utf-8")
    taxonomy = tmp_path / "taxonomy.csv"
    taxonomy.write_text("category,department,sla_days\npothole,roads,5\nnoise,police,\n", encoding="utf-8")
    code = main(["--home", str(tmp_path), "city", "create", "tiny", "--boundaries", str(boundaries),
                 "--name-field", "title", "--id-field", "code", "--parent-field", "okrug",
                 "--parent-name-field", "okrug_name", "--taxonomy", str(taxonomy), "--timezone", "Europe/Moscow"])
    assert code == 0
    assert "3 districts, 2 parent areas, 2 taxonomy categories" in capsys.readouterr().out
    pack = CityPack.load(Workspace(tmp_path).city("tiny"))
    assert pack.district_ids == ["N1", "N2", "S1"] and pack.parent_names == ["North", "North", "South"]
    from schemas.taxonomy import TAXONOMY_SLA_DAYS

    assert pack.taxonomy[TAXONOMY_SLA_DAYS].to_list() == [5.0, 8.0]  # a blank SLA falls back to the brief's 8 days
    assert pack.timezone == "Europe/Moscow"


def test_city_create_names_the_missing_property(tmp_path: Path, capsys):
    import json

    from conftest import TINY_CITY

    boundaries = tmp_path / "districts.geojson"
    boundaries.write_text(json.dumps(TINY_CITY), encoding="utf-8")
    code = main(["--home", str(tmp_path), "city", "create", "x", "--boundaries", str(boundaries),
                 "--name-field", "BoroName"])
    assert code == 2
    err = capsys.readouterr().err
    assert "'BoroName'" in err and "title" in err


def test_land_requests_with_a_named_encoding(tmp_path: Path, capsys):
    """`--encoding` reads a cp1251 export as cp1251 (not a guess), for the file and its inbox."""
    export = tmp_path / "moscow.csv"
    export.write_bytes("service_request_id,requested_datetime,description\n1,2026-11-01T10:00:00Z,Яма\n"
                       .encode("cp1251"))
    home = ["--home", str(tmp_path)]
    assert main([*home, "land", "requests", str(export), "--source", "moscow", "--encoding", "cp1251"]) == 0
    assert "segments 0..0" in capsys.readouterr().out
    log = LandingLog(Workspace(tmp_path).landing("demo"), "moscow")
    records = log.read(0).records
    assert records[rq.DESCRIPTION].to_pylist() == ["Яма"] and records[rq.GUESSED_ENCODING].to_pylist() == [None]
    assert log.settings()["encoding"] == "cp1251"


def test_unknown_encoding_is_a_clear_error(tmp_path: Path, capsys):
    feed = tmp_path / "x.csv"
    feed.write_text("service_request_id,requested_datetime\n1,2026-10-01T00:00:00Z\n")
    code = main(["--home", str(tmp_path), "land", "requests", str(feed), "--source", "x", "--encoding", "klingon"])
    assert code == 2
    assert "unknown text encoding 'klingon'" in capsys.readouterr().err


def test_ingest_requests_with_a_named_encoding(tmp_path: Path, capsys):
    build_tiny_pack(tmp_path)
    export = tmp_path / "moscow.csv"
    export.write_bytes("service_request_id,requested_datetime,description,lat,long\n"
                       "1,2026-10-01T10:00:00Z,Яма на дороге,55.15,37.05\n".encode("cp1251"))
    code = main(["--home", str(tmp_path), "ingest", "requests", str(export), "--city", "tiny",
                 "--encoding", "cp1251", "--no-prefect"])
    assert code == 0 and "accounting ok: True" in capsys.readouterr().out
    published = published_requests(Workspace(tmp_path).city_dataset("requests", "tiny"), [rq.DESCRIPTION, rq.QUALITY_FLAGS])
    row = pl.concat(list(published)).row(0, named=True)
    assert row[rq.DESCRIPTION] == "Яма на дороге" and rq.QualityFlag.DECODED_BY_GUESS not in row[rq.QUALITY_FLAGS]
