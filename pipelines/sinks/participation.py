"""An election's tables into the city's publishing transaction; its ballots into the restricted store.

    datasets/pb_elections/city=<city>/election=<id>/part-0.parquet      one row
    datasets/pb_projects/city=<city>/election=<id>/part-0.parquet       one row per project
    datasets/pb_project_groups/city=<city>/election=<id>/part-0.parquet
    datasets/pb_turnout/city=<city>/election=<id>/part-0.parquet
    restricted/ballots/city=<city>/election=<id>/part-0.parquet         pseudonymised ballots

An election is recomputed from all of its ballots in every run that ingests it, so its files are
replaced as a whole (a re-run of the same files gives the same tables). The restricted ballots
are written into the run's staging folder and moved in place only after the commit
(`install_ballots`), so a failed run leaves the ballots of the published tables.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import apache_beam as beam
import polars as pl
from apache_beam.metrics import Metrics

from plumbing.atomic import PART_FILE, write_atomic
from plumbing.paths import partition_value
from plumbing.publishing import CityTransaction
from schemas import datasets as ds
from schemas import ledger
from schemas import participation as pb


def election_folder(dataset: Path, election_id: str) -> Path:
    return dataset / f"{ds.ELECTION_PARTITION}={partition_value(election_id)}"


def write_election(transaction: CityTransaction, staged_ballots: Path, election_id: str,
                   tables: dict[str, pl.DataFrame], ballots: pl.DataFrame) -> list[str]:
    """Write the election's published tables (synced at the commit) and its restricted ballots
    (durably, into `staged_ballots`); the published paths, for the report."""
    written = []
    for name, frame in tables.items():
        dataset = transaction.dataset(name)
        target = election_folder(dataset, election_id) / PART_FILE
        write_atomic(frame.to_arrow(), target, dataset, sync=False)
        written.append(str(target))
    rows = ballots.select([f.name for f in pb.BALLOT]).to_arrow().cast(pb.BALLOT)
    write_atomic(rows, election_folder(staged_ballots, election_id) / PART_FILE, staged_ballots)
    return written


class _Write(beam.DoFn):
    def __init__(self, transaction: CityTransaction, staged: Path) -> None:
        self.transaction, self.staged = transaction, str(staged)
        self.records_out = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_OUT)

    def process(self, decided):
        election_id, tables, ballots = decided
        yield from write_election(self.transaction, Path(self.staged), election_id, tables, ballots)
        self.records_out.inc(ballots.height)  # counted once its ballots are written


class WriteElections(beam.PTransform):
    """(election id, tables, ballots) in; the published file paths out."""

    def __init__(self, transaction: CityTransaction, staged: Path) -> None:
        super().__init__()
        self.transaction, self.staged = transaction, staged

    def expand(self, decided):
        return decided | "WriteElection" >> beam.ParDo(_Write(self.transaction, self.staged))


def install_ballots(staged_ballots: Path, restricted_ballots: Path) -> None:
    """After the commit: each staged election's ballots replace the restricted ones."""
    if not staged_ballots.is_dir():
        return
    for folder in sorted(p for p in staged_ballots.iterdir() if p.is_dir()):
        target = restricted_ballots / folder.name / PART_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(folder / PART_FILE, target)
    shutil.rmtree(staged_ballots, ignore_errors=True)
