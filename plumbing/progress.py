"""How far a run has got: written by the steps doing the work, read by whoever shows it.

Every writer (one per Beam DoFn instance) keeps its own small JSON record in the run's progress
folder, so workers in other processes never overwrite each other's counts; a record is replaced
atomically (temporary file, rename) and at most a few times a second. `read_progress` merges the
records of the newest run in the folder into one `Progress`: the latest stage reached, rows
read, rates and an estimate of the time the stage still needs. Progress is advisory: nothing
else reads these files, and a missing or stale record only makes the estimate rougher.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

# The stages of an ingest run, in the order a run goes through them.
READING = "reading"  # read, validate and enrich (fused): `done`/`total` are bytes of the inputs
PUBLISHING = "publishing partitions"  # merge into the dataset: `done`/`total` are months
AGGREGATING = "aggregating"  # daily aggregates over the published partitions: `done` partitions
STAGES = (READING, PUBLISHING, AGGREGATING)
UNITS = {READING: "bytes", PUBLISHING: "months", AGGREGATING: "partition groups"}
MIN_WRITE_SECONDS = 0.25
MIN_ETA_FRACTION = 0.05
_SUFFIX = ".json"


@dataclass(frozen=True)
class ProgressRecord:
    """One writer's share of one stage; `total` 0 means "not known (yet)"."""

    run_id: str
    stage: str
    started: float  # wall-clock seconds (records come from several processes)
    updated: float
    rows: int = 0
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class Progress:
    """All writers of a run merged: the current stage, and the rows the reading stage has read."""

    run_id: str
    stage: str
    rows: int
    done: int
    total: int
    stage_started: float
    updated: float
    reading_seconds: float  # so far, or all of it once the run is past reading

    @property
    def fraction(self) -> float | None:
        return min(self.done / self.total, 1.0) if self.total else None

    @property
    def rows_per_second(self) -> float | None:
        return self.rows / self.reading_seconds if self.rows and self.reading_seconds > 0 else None

    def eta_seconds(self, now: float) -> float | None:
        """Time the current stage still needs at its rate so far, counted down since the last record."""
        if not self.total or self.done < self.total * MIN_ETA_FRACTION:
            return None  # the first few units say little about the rest
        spent = self.updated - self.stage_started
        if spent <= 0:
            return None
        left = spent * max(self.total - self.done, 0) / self.done
        return max(left - (now - self.updated), 0.0)


class ProgressWriter:
    """One writer's record of one stage, written at most every `min_seconds` unless forced."""

    def __init__(self, folder: Path, run_id: str, stage: str, total: int = 0,
                 min_seconds: float = MIN_WRITE_SECONDS, clock: Callable[[], float] = time.time) -> None:
        self.path = folder / f"{STAGES.index(stage)}-{uuid.uuid4().hex}{_SUFFIX}"
        self.clock, self.min_seconds = clock, min_seconds
        now = clock()
        self.record = ProgressRecord(run_id, stage, started=now, updated=now, total=total)
        self._written_at: float | None = None
        self._pending = False

    def report(self, rows: int = 0, done: int = 0, total: int | None = None, force: bool = False) -> bool:
        """Add `rows` and `done` to the record; True when it was written now."""
        self.record = replace(
            self.record, rows=self.record.rows + rows, done=self.record.done + done,
            total=self.record.total if total is None else total,
        )
        self._pending = True
        now = self.clock()
        if not force and self._written_at is not None and now - self._written_at < self.min_seconds:
            return False
        self.record = replace(self.record, updated=now)
        write_record(self.path, self.record)
        self._written_at, self._pending = now, False
        return True

    def flush(self) -> None:
        """Write what the throttle held back (at the end of a bundle or a file)."""
        if self._pending:
            self.report(force=True)


def write_record(path: Path, record: ProgressRecord) -> None:
    """Replace the record atomically: a reader sees the previous one or this one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_text(json.dumps(asdict(record)), encoding="utf-8")
    os.replace(temporary, path)


def read_records(folder: Path) -> list[ProgressRecord]:
    records = []
    for path in sorted(folder.glob(f"*{_SUFFIX}")) if folder.is_dir() else []:
        try:
            records.append(ProgressRecord(**json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):  # gone meanwhile, or not one of ours: skip it
            continue
    return records


def merge_records(records: list[ProgressRecord], now: float) -> Progress | None:
    """The newest run's records as one `Progress` (a retried run leaves its first attempt's)."""
    if not records:
        return None
    run_id = max(records, key=lambda r: r.started).run_id
    mine = [r for r in records if r.run_id == run_id and r.stage in STAGES]
    if not mine:
        return None
    # a stage is reached when work of it is done; a record that only knows a total (the dates
    # to publish, counted while reading) does not move the run on
    working = [r.stage for r in mine if r.rows or r.done]
    stage = max(working, key=STAGES.index) if working else min((r.stage for r in mine), key=STAGES.index)
    current = [r for r in mine if r.stage == stage]
    reading = [r for r in mine if r.stage == READING]
    reading_end = now if stage == READING else max((r.updated for r in reading), default=now)
    return Progress(
        run_id=run_id,
        stage=stage,
        rows=sum(r.rows for r in reading),
        done=sum(r.done for r in current),
        total=max(r.total for r in current),  # writers of one stage see the same total, or part of it
        stage_started=min(r.started for r in current),
        updated=max(r.updated for r in current),
        reading_seconds=reading_end - min((r.started for r in reading), default=reading_end),
    )


def read_progress(folder: Path, now: float | None = None) -> Progress | None:
    return merge_records(read_records(folder), time.time() if now is None else now)


def progress_line(progress: Progress | None, elapsed: float, now: float) -> str:
    """One line for a terminal, most telling first (a narrow terminal cuts the end), e.g.
    `[0:12] reading 34% of 52.4 MB, ETA 0:23 | 204,800 rows, 17,066 rows/s`."""
    if progress is None:
        return f"[{_clock(elapsed)}] starting"
    stage = f"[{_clock(elapsed)}] {progress.stage}"
    if progress.stage == READING and progress.fraction is not None:
        stage += f" {progress.fraction:.0%} of {_megabytes(progress.total)}"
    elif progress.stage != READING and progress.total:
        stage += f" {progress.done:,}/{progress.total:,} {UNITS[progress.stage]}"
    elif progress.stage != READING and progress.done:
        stage += f" {progress.done:,} {UNITS[progress.stage]}"
    eta = progress.eta_seconds(now)
    if eta is not None:
        stage += f", ETA {_clock(eta)}"
    rows = f"{progress.rows:,} rows"
    if progress.rows_per_second is not None:
        rows += f", {progress.rows_per_second:,.0f} rows/s"
    return f"{stage} | {rows}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


@dataclass(frozen=True)
class RunProgress:
    """Where one run reports (picklable: Beam ships it to the workers that write)."""

    folder: str
    run_id: str

    def writer(self, stage: str, total: int = 0) -> ProgressWriter:
        return ProgressWriter(Path(self.folder), self.run_id, stage, total)
