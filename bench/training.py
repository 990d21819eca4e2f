"""Train both classifiers on the same labelled history and time them.

UrbanPulse trains through `models.classification.training.train_classifier` (80% of the rows by time, scored on
the latest 20%, model card written, made the demo city's default); it runs in this process, so
its time excludes interpreter start and imports. The peer trains on all the rows it is given,
in its own process (start-up, parquet read and pickling included).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from bench.measure import OtherCpu, run_measured
from bench.workload import DEMO_CITY, REPO_ROOT, BenchPaths, write_peer_training
from models.classification.training import train_classifier
from schemas import requests as rq

CLASSIFIER_NAME = f"{DEMO_CITY}-classifier"


@dataclass(frozen=True)
class TrainingResult:
    seconds: float
    rows: int
    details: dict


def train_urbanpulse(paths: BenchPaths, history: pl.DataFrame) -> TrainingResult:
    with OtherCpu() as others:
        started = time.perf_counter()
        card = train_classifier(
            paths.workspace,
            history,
            rq.DESCRIPTION,
            rq.CATEGORY,
            CLASSIFIER_NAME,
            city=DEMO_CITY,
            time=rq.REQUESTED_DATETIME,
        )
        seconds = time.perf_counter() - started
    return TrainingResult(seconds, history.height, card | {"other_cpu_seconds": others.seconds})


def train_peer(paths: BenchPaths, history: pl.DataFrame, peer_script: Path) -> TrainingResult:
    rows = write_peer_training(history, paths.peer_train)
    command = [
        sys.executable,
        str(peer_script),
        "train",
        str(paths.peer_train),
        str(paths.peer_model),
    ]
    measured = run_measured(command, REPO_ROOT, paths.logs / "peer_train")
    details = {"peak_rss_mb": measured.peak_rss_mb, "other_cpu_seconds": measured.other_cpu_seconds}
    return TrainingResult(measured.seconds, rows, details)
