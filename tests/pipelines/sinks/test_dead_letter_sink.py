"""WriteDeadLetters: one Parquet file per source and input file, named by the input's content hash;
published without raw payloads, kept whole in the restricted store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
import polars as pl
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from conftest import raw_batch
from polars.testing import assert_frame_equal

from pipelines.sinks.dead_letters import WriteDeadLetters, dead_letter_path
from pipelines.transforms.requests.validate import validate_frame
from schemas import dead_letters as dl
from schemas import requests as rq

NOW = datetime(2026, 11, 1, tzinfo=UTC)
INPUT_IDS = {"a.csv": "0a1b2c3d4e5f60718293", "b.csv": "ffeeddccbbaa99887766", "c.json": "1234567890abcdef1234"}


def dead_letters_of(rows: list[dict], source: str, source_file: str) -> pl.DataFrame:
    """The dead letters validation makes of `rows` (each row here is invalid)."""
    valid, dead = validate_frame(pl.from_arrow(raw_batch(rows, source, source_file)), NOW)
    assert valid.height == 0 and dead.height == len(rows)
    return dead


def bad_rows(count: int) -> list[dict]:
    """`count` records with an id but an unreadable request time (reason: bad timestamp)."""
    return [{rq.SERVICE_REQUEST_ID: f"r{i}", rq.REQUESTED_DATETIME: "31/02/2026 25:61"} for i in range(count)]


def dead_frames() -> list[pl.DataFrame]:
    """Dead letters of three inputs of two sources; a.csv's arrive in two batches, out of order."""
    a = dead_letters_of(bad_rows(5), "city311", "a.csv")
    return [a.slice(3), dead_letters_of(bad_rows(2), "city311", "b.csv"), a.slice(0, 3),
            dead_letters_of([{rq.UNREADABLE_RECORD: "{broken"}], "open311", "c.json")]


def restricted_of(dataset: Path) -> Path:
    return dataset.parent.parent / "restricted" / "dead_letters"


def write(dataset: Path, frames: list[pl.DataFrame]) -> list[str]:
    expected = [str(dead_letter_path(dataset, source, INPUT_IDS[name]))
                for source, name in (("city311", "a.csv"), ("city311", "b.csv"), ("open311", "c.json"))]
    with TestPipeline(runner=FnApiRunner()) as pipeline:
        written = pipeline | "Frames" >> beam.Create(frames) | WriteDeadLetters(dataset, restricted_of(dataset), INPUT_IDS)
        assert_that(written, equal_to(expected))
    return expected


def files_in(dataset: Path) -> list[str]:
    return sorted(str(p) for p in dataset.rglob("*.parquet"))


def test_one_file_per_input_hash_in_source_order(tmp_path: Path) -> None:
    dataset = tmp_path / "datasets" / "dead_letters"
    frames = dead_frames()
    written = write(dataset, frames)
    assert files_in(dataset) == sorted(written)
    everything = pl.concat(frames)
    for path, name in zip(written, ("a.csv", "b.csv", "c.json"), strict=True):
        expected = everything.filter(pl.col(rq.SOURCE_FILE) == name).sort(rq.SOURCE_POSITION).drop(rq.SOURCE)
        # the source is the folder, not a column; the raw payload is only in the restricted store
        assert_frame_equal(pl.read_parquet(path), expected.drop(dl.RAW_PAYLOAD))
        restricted = restricted_of(dataset) / Path(path).relative_to(dataset)
        assert_frame_equal(pl.read_parquet(restricted), expected)
    assert pl.read_parquet(written[0])[dl.REASON].to_list() == [dl.Reason.BAD_TIMESTAMP] * 5
    assert pl.read_parquet(written[2])[dl.REASON].to_list() == [dl.Reason.UNREADABLE_ROW]


def test_the_same_input_twice_never_doubles_a_dead_letter(tmp_path: Path) -> None:
    dataset = tmp_path / "datasets" / "dead_letters"
    write(dataset, dead_frames())
    first = pl.read_parquet(dataset / "**" / "*.parquet", hive_partitioning=True)
    written = write(dataset, dead_frames())
    assert files_in(dataset) == sorted(written)
    again = pl.read_parquet(dataset / "**" / "*.parquet", hive_partitioning=True)
    assert again.height == first.height == 8
    assert_frame_equal(again, first)
    sort = [rq.SOURCE_FILE, rq.SOURCE_POSITION]
    published = [n for n in dl.DEAD_LETTER.names if n != dl.RAW_PAYLOAD]
    assert_frame_equal(again.select(published).sort(sort), pl.concat(dead_frames()).select(published).sort(sort))
