"""Integrity of what ingests publish: concurrent writers lose nothing, data never names a path.

Regressions of the integrity probe at f906a3d: four concurrent ingests of disjoint files with the
same date lost 24-49% of their rows while each reported "accounting ok", and a `source` value
`../../../../escaped` wrote a dead-letter file outside the home folder.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow.dataset as pads

from flows.cli_steps import urbanpulse_command
from models.cities.pack import CityPack
from pipelines import ingest_requests
from plumbing.locks import exclusive
from plumbing.workspace import Workspace
from schemas import dead_letters as dl
from schemas import requests as rq

CONCURRENT = 3
ROWS_EACH = 2_000
HEADER = [rq.SERVICE_REQUEST_ID, rq.SOURCE, rq.DESCRIPTION, rq.REQUESTED_DATETIME, rq.LAT, rq.LONG]


def _export(path: Path, ids: range, source: str = "city311", broken: int = 0) -> Path:
    """Requests of one day (2026-11-20, Moscow), plus `broken` rows without an id."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for number in ids:
            hour, minute = divmod(number % 600, 60)
            requested = f"2026-11-20T{6 + hour:02d}:{minute:02d}:00Z"
            writer.writerow([f"req-{number}", source, "Яма на дороге", requested, "55.15", "37.05"])
        for _ in range(broken):
            writer.writerow(["", source, "no id", "2026-11-20T08:00:00Z", "55.15", "37.05"])
    return path


def test_concurrent_ingests_of_one_date_publish_every_row(tmp_path: Path, tiny_pack: CityPack) -> None:
    home = tiny_pack.root.parents[1]
    exports = [_export(tmp_path / f"part-{n}.csv", range(n * ROWS_EACH, (n + 1) * ROWS_EACH))
               for n in range(CONCURRENT)]
    runs = [subprocess.Popen(urbanpulse_command(home, "ingest", "requests", str(path), "--city", "tiny",
                                                "--format", "csv", "--no-prefect"),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for path in exports]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0] * CONCURRENT, outputs
    published = pl.read_parquet(Path(home) / "datasets" / "requests" / "**" / "*.parquet")
    assert published.height == CONCURRENT * ROWS_EACH
    assert published[rq.SERVICE_REQUEST_ID].n_unique() == CONCURRENT * ROWS_EACH
    run_files = list(Workspace(home).runs.glob("*.json"))
    assert len({json.loads(f.read_text())["run_id"] for f in run_files}) == CONCURRENT


def test_a_second_writer_waits_and_says_who_holds_the_datasets(tmp_path: Path) -> None:
    lock = tmp_path / "state" / "locks" / "datasets.lock"
    waiter = [sys.executable, "-c", (
        "import sys; from pathlib import Path; from plumbing.locks import exclusive\n"
        f"with exclusive(Path({str(lock)!r}), 'second'):\n    print('got it', flush=True)"
    )]
    with exclusive(lock, "first writer"):
        second = subprocess.Popen(waiter, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  cwd=Path(__file__).resolve().parents[2])
        time.sleep(1.5)
        assert second.poll() is None  # still waiting while the first holds the lock
    out, err = second.communicate(timeout=30)
    assert out.strip() == "got it"
    assert "waiting for the datasets: first writer (pid" in err


def test_a_source_value_never_leaves_the_dataset_folder(tmp_path: Path, tiny_pack: CityPack) -> None:
    home = tiny_pack.root.parents[1]
    hostile = "../../../../escaped"
    source = _export(tmp_path / "hostile.csv", range(3), source=hostile, broken=2)
    report = ingest_requests.run([f"--input={source}", "--city=tiny", "--format=csv", f"--home={home}"])
    assert report.dead_letters == 2 and report.accounting_ok
    dead_letters = Workspace(home).dead_letters_dataset
    folders = (dead_letters.resolve(), Workspace(home).restricted_dead_letters("tiny"))
    written = [p for p in Path(home).parent.rglob("*") if "escaped" in p.name or "escaped" in p.parent.name]
    assert written and all(any(p.resolve().is_relative_to(f) for f in folders) for p in written), written
    assert not (Path(home).parent / "escaped").exists() and not (tmp_path.parent / "escaped").exists()
    table = pads.dataset(dead_letters, format="parquet", partitioning="hive").to_table()
    assert set(table.column(rq.SOURCE).to_pylist()) == {hostile}
    assert set(table.column(dl.REASON).to_pylist()) == {dl.Reason.MISSING_ID}


def test_the_same_content_given_twice_is_ingested_once(tmp_path: Path, tiny_pack: CityPack) -> None:
    """Regression: identical inputs with --source reported 2 dead letters and stored 1."""
    home = tiny_pack.root.parents[1]
    first = _export(tmp_path / "a.csv", range(5), broken=1)
    second = tmp_path / "b.csv"
    second.write_bytes(first.read_bytes())
    report = ingest_requests.run([f"--input={first}", f"--input={second}", "--city=tiny", "--format=csv",
                                  "--source=city311", f"--home={home}"])
    assert (report.records_in, report.records_out, report.dead_letters) == (6, 5, 1)
    assert report.inputs == [str(first.resolve())]
    dead = pl.read_parquet(Workspace(home).dead_letters_dataset / "**" / "*.parquet")
    assert dead.height == report.dead_letters
