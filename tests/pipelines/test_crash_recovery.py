"""A batch ingest killed at any point, run out of disk, or meeting a damaged partition: nothing
half-published, one clear line, and a re-run that ends exactly where a clean run ends."""

from __future__ import annotations

import csv
import random
import resource
import signal
import subprocess
import time
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from flows.cli_steps import urbanpulse_command
from models.cities.pack import CityPack
from plumbing.publishing import WORK, current_snapshot, verify
from plumbing.workspace import Workspace
from schemas import dead_letters as dl
from schemas import requests as rq

ROWS = 6_000
KILLS = 3
RUN_DEPENDENT = [rq.INGESTED_AT, dl.FAILED_AT]  # when a row was ingested or failed: differs between runs


def _export(path: Path) -> Path:
    """Requests over 40 days of two months, with a few rows that become dead letters."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([rq.SERVICE_REQUEST_ID, rq.DESCRIPTION, rq.REQUESTED_DATETIME, rq.LAT, rq.LONG])
        for number in range(ROWS):
            day, minute = divmod(number, 150)
            requested = f"2026-10-{1 + day % 31:02d}T{8 + minute // 60:02d}:{minute % 60:02d}:00Z"
            if day >= 31:
                requested = f"2026-11-{day - 30:02d}T{8 + minute // 60:02d}:{minute % 60:02d}:00Z"
            writer.writerow([f"req-{number}", "Яма на дороге у дома", requested, "55.15", "37.05"])
        for number in range(5):
            writer.writerow([f"bad-{number}", "no time", "", "55.15", "37.05"])
    return path


def _ingest(home: Path, export: Path, **popen) -> subprocess.Popen:
    command = urbanpulse_command(home, "ingest", "requests", str(export), "--city", "tiny", "--format", "csv",
                                 "--no-prefect", "--progress", "never")
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def _published(home: Path) -> dict[str, pl.DataFrame]:
    datasets = Workspace(home).datasets
    requests = pl.read_parquet(datasets / "requests" / "**" / "*.parquet", hive_partitioning=True)
    dead = pl.read_parquet(datasets / "dead_letters" / "**" / "*.parquet", hive_partitioning=True)
    return {
        "requests": requests.drop(RUN_DEPENDENT, strict=False).sort(rq.SERVICE_REQUEST_ID),
        "request_daily": pl.read_parquet(datasets / "request_daily" / "**" / "*.parquet"),
        "dead_letters": dead.drop(RUN_DEPENDENT, strict=False).sort(rq.SOURCE_POSITION),
    }


def _copy_pack(pack: CityPack, home: Path) -> None:
    subprocess.run(["cp", "-r", str(pack.root), str(Workspace(home).city("tiny"))], check=True)


def test_kill_9_at_random_points_then_a_rerun_equals_a_clean_run(tmp_path: Path, tiny_pack: CityPack) -> None:
    export = _export(tmp_path / "export.csv")
    clean_home = tiny_pack.root.parents[1]
    clean = _ingest(clean_home, export)
    out, err = clean.communicate(timeout=600)
    assert clean.returncode == 0, err

    home = tmp_path / "killed"
    Workspace(home).cities.mkdir(parents=True)
    _copy_pack(tiny_pack, home)
    chances = random.Random(20261202)
    for _ in range(KILLS):
        run = _ingest(home, export)
        time.sleep(chances.uniform(1.0, 8.0))
        run.send_signal(signal.SIGKILL)
        run.communicate(timeout=60)
        snapshot = current_snapshot(Workspace(home))
        if snapshot is not None:  # a kill after the commit: that run is whole, never half
            assert verify(Workspace(home)) == []
    rerun = _ingest(home, export)
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err

    clean_data, recovered = _published(clean_home), _published(home)
    for name in clean_data:
        assert_frame_equal(recovered[name], clean_data[name], check_row_order=name != "request_daily")
    assert clean_data["requests"].height == ROWS
    assert list((Workspace(home).snapshots / WORK).iterdir()) == []  # no staging left behind
    assert not list(Workspace(home).restricted.rglob("*.tmp"))


def _limit_file_size(limit: int):
    def limit_in_child() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limit_in_child


def test_a_full_disk_gives_one_line_and_publishes_nothing(tmp_path: Path, tiny_pack: CityPack) -> None:
    home = tiny_pack.root.parents[1]
    export = _export(tmp_path / "export.csv")
    run = _ingest(home, export, preexec_fn=_limit_file_size(200_000))
    _, err = run.communicate(timeout=600)
    assert run.returncode == 74, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "is full" in lines[0] and "nothing of this run was published" in lines[0], err
    assert current_snapshot(Workspace(home)) is None
    assert not Workspace(home).datasets.exists()
    again = _ingest(home, export)  # space again: the run publishes
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert _published(home)["requests"].height == ROWS


def test_a_damaged_partition_stops_the_run_with_the_repair_command(tmp_path: Path, tiny_pack: CityPack) -> None:
    home = tiny_pack.root.parents[1]
    export = _export(tmp_path / "export.csv")
    first = _ingest(home, export)
    assert first.wait(timeout=600) == 0
    partition = sorted((Workspace(home).requests_dataset / "city=tiny").glob("date=*/part-0.parquet"))[3]
    data = bytearray(partition.read_bytes())
    data[200:220] = bytes(20)
    partition.write_bytes(bytes(data))

    again = _ingest(home, export)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 2
    assert "does not match its checksum" in err and "urbanpulse datasets repair" in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1, err

    repair = subprocess.run(urbanpulse_command(home, "datasets", "repair"), capture_output=True, text=True,
                            timeout=120)
    assert repair.returncode == 0, repair.stderr
    assert "checksum mismatch" in repair.stdout and "re-ingest the inputs of run" in repair.stdout
    assert str(export) in repair.stdout
    fixed = _ingest(home, export)
    assert fixed.wait(timeout=600) == 0
    assert _published(home)["requests"].height == ROWS
    check = subprocess.run(urbanpulse_command(home, "datasets", "verify"), capture_output=True, text=True,
                           timeout=120)
    assert check.returncode == 0 and "matches its checksum" in check.stdout


@pytest.mark.parametrize("city", ["nyc", "sf"])
def test_cities_publish_side_by_side(tmp_path: Path, tiny_pack: CityPack, city: str) -> None:
    """Two city packs in one home: each city's rows under its own partition, the other's intact."""
    home = tiny_pack.root.parents[1]
    export = _export(tmp_path / "export.csv")
    subprocess.run(["cp", "-r", str(tiny_pack.root), str(Workspace(home).city(city))], check=True)
    runs = [subprocess.Popen(urbanpulse_command(home, "ingest", "requests", str(export), "--city", name,
                                                "--format", "csv", "--no-prefect", "--progress", "never"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name in ("tiny", city)]
    errors = [run.communicate(timeout=600)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    requests = pl.read_parquet(Workspace(home).requests_dataset / "**" / "*.parquet", hive_partitioning=True)
    assert requests.group_by("city").len().sort("city").rows() == sorted([("tiny", ROWS), (city, ROWS)])
    assert verify(Workspace(home)) == []
