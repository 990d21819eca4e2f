"""A survey's results into the city's publishing transaction; its answers into the restricted store.

    datasets/survey_results/city=<city>/survey=<id>/part-0.parquet          SURVEY_RESULT rows
    restricted/survey_answers/city=<city>/survey=<id>/part-0.parquet        pseudonymised answers

A survey is recomputed from all of its answers in every run that ingests it, so its files are
replaced as a whole (a re-run of the same files gives the same results). The restricted answers
are written into the run's staging folder and moved in place only after the commit
(`install_answers`), so a failed run leaves the answers of the published results, as the
vote sink does with ballots (`pipelines.sinks.participation`). `WriteSurveys` is the Beam step:
it counts a survey's answers as records out once they are written.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import apache_beam as beam
import polars as pl
from apache_beam.metrics import Metrics

from plumbing.atomic import PART_FILE, write_atomic
from plumbing.paths import city_folder, partition_value
from plumbing.publishing import CityTransaction
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import ledger
from schemas import surveys as sv


def survey_folder(dataset: Path, survey_id: str) -> Path:
    return dataset / f"{sv.SURVEY_PARTITION}={partition_value(survey_id)}"


def restricted_answers(workspace: Workspace, city: str) -> Path:
    """A city's counted survey answers, pseudonymised, one folder per survey (never published)."""
    return workspace.restricted / sv.SURVEY_ANSWERS / city_folder(city)


def write_survey(transaction: CityTransaction, staged_answers: Path, survey_id: str, results: pl.DataFrame,
                 answers: pl.DataFrame) -> str:
    """Write the survey's results (synced at the commit) and its restricted answers (durably,
    into `staged_answers`); the published path, for the report."""
    dataset = transaction.dataset(ds.SURVEY_RESULTS)
    target = survey_folder(dataset, survey_id) / PART_FILE
    write_atomic(results.to_arrow().cast(sv.SURVEY_RESULT), target, dataset, sync=False)
    rows = answers.with_columns(pl.lit(survey_id).alias(sv.SURVEY_ID)).select(sv.SURVEY_ANSWER.names)
    write_atomic(rows.to_arrow().cast(sv.SURVEY_ANSWER), survey_folder(staged_answers, survey_id) / PART_FILE,
                 staged_answers)
    return str(target)


class _Write(beam.DoFn):
    def __init__(self, transaction: CityTransaction, staged: Path) -> None:
        self.transaction, self.staged = transaction, str(staged)
        self.records_out = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_OUT)

    def process(self, tallied):
        survey_id, results, answers = tallied
        yield write_survey(self.transaction, Path(self.staged), survey_id, results, answers)
        self.records_out.inc(answers.height)  # counted once its answers are written


class WriteSurveys(beam.PTransform):
    """(survey id, results, counted answers) in; the published file paths out."""

    def __init__(self, transaction: CityTransaction, staged: Path) -> None:
        super().__init__()
        self.transaction, self.staged = transaction, staged

    def expand(self, tallied):
        return tallied | "WriteSurvey" >> beam.ParDo(_Write(self.transaction, self.staged))


def install_answers(staged_answers: Path, restricted: Path) -> None:
    """After the commit: each staged survey's answers replace the restricted ones."""
    if not staged_answers.is_dir():
        return
    for folder in sorted(p for p in staged_answers.iterdir() if p.is_dir()):
        target = restricted / folder.name / PART_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(folder / PART_FILE, target)
    shutil.rmtree(staged_answers, ignore_errors=True)
