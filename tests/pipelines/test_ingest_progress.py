"""The batch pipeline reports its progress: every record read, every month published, every
group of partitions aggregated, in the run's progress folder."""

from __future__ import annotations

from pathlib import Path

from messy_requests import write_messy_csv

from models.cities.pack import CityPack
from pipelines import ingest_requests
from pipelines.sinks.requests.dataset import FILES_PER_READ, published_partitions
from plumbing.progress import AGGREGATING, PUBLISHING, READING, read_records
from plumbing.workspace import Workspace
from schemas import datasets as ds


def test_the_progress_records_add_up_to_the_run(tmp_path: Path, tiny_pack: CityPack) -> None:
    workspace = Workspace(tmp_path)
    feed = write_messy_csv(tmp_path / "messy.csv")
    folder = workspace.runs / "progress-test"
    report = ingest_requests.run([f"--input={feed}", "--city=tiny", "--format=csv", f"--home={tmp_path}",
                                  f"--progress_dir={folder}", "--batch_rows=3"])
    records = read_records(folder)
    assert {r.run_id for r in records} == {report.run_id}
    by_stage = {stage: [r for r in records if r.stage == stage] for stage in (READING, PUBLISHING, AGGREGATING)}
    reading = by_stage[READING]
    assert sum(r.rows for r in reading) == report.records_in
    assert sum(r.done for r in reading) == max(r.total for r in reading) == feed.stat().st_size
    partitions = published_partitions(Path(workspace.published_datasets("tiny")[ds.REQUESTS]))
    months = len({p.parent.name.split("=", 1)[1][:7] for p in partitions})
    assert sum(r.done for r in by_stage[PUBLISHING]) == max(r.total for r in by_stage[PUBLISHING]) == months
    assert sum(r.done for r in by_stage[AGGREGATING]) == -(-len(partitions) // FILES_PER_READ)


def test_without_a_progress_folder_nothing_is_written(tmp_path: Path, tiny_pack: CityPack) -> None:
    feed = write_messy_csv(tmp_path / "messy.csv")
    ingest_requests.run([f"--input={feed}", "--city=tiny", "--format=csv", f"--home={tmp_path}"])
    assert [p.name for p in Workspace(tmp_path).runs.iterdir() if not p.name.endswith(".json")] == []
