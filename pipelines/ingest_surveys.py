"""Batch pipeline: survey and single-question e-vote answer files -> survey results, dead letters.

    read (CSV / JSONL / Parquet, TOML mapping) -> answer batches -> ValidateAnswers -> dead letters
    valid answers -> TallySurveys, per survey: question types, one answer per respondent and
                     question, pseudonyms, places, scrubbed free text, post-stratification
                     weights; shares, Wilson intervals, weighted shares, instant runoff,
                     suppression
                  -> WriteSurveys: survey_results + restricted survey answers
    dead letters -> WriteDeadLetters (published without payload, restricted with it)

Everything is written into the city's publishing transaction and becomes visible in one step
when the pipeline has finished, like the vote ingest (`pipelines.ingest_votes`); records in =
records out + dead letters, or nothing is published. A survey is tallied from all its answers
at once: a respondent's latest answer and the weights need every answer. Respondents'
pseudonyms are keyed by city and survey (`plumbing.pseudonyms`), so one resident's answers
to two surveys, or their ballot, cannot be linked through them. Beam's options are global to
a process, so every option here is named `--survey_...`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
import polars as pl
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions

from models.cities.errors import CityPackError
from models.cities.pack import CityPack
from pipelines.batch_runs import (
    IngestReport,
    SuspiciousInputError,
    check_accounting,
    checked_inputs,
    distinct_inputs,
    new_run_id,
    publishing_run,
    run_counters,
)
from pipelines.runners import batch_runner
from pipelines.sinks.dead_letters import WriteDeadLetters
from pipelines.sinks.survey import WriteSurveys, install_answers, restricted_answers, survey_folder
from pipelines.sources.participation.survey import DEFAULT_ROWS, read_population, read_survey
from pipelines.sources.participation.survey_mapping import SurveyMapping, load_survey_mapping
from pipelines.transforms.participation.survey_composites import (
    ANSWERS,
    DEAD,
    TALLIED,
    KeyedFrame,
    SurveySettings,
    TallySurveys,
    ValidateAnswers,
)
from pipelines.transforms.participation.survey_weights import population_cells
from plumbing.atomic import PART_FILE, staging_dir
from plumbing.paths import partition_value
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import ledger
from schemas import surveys as sv

SURVEY_COUNTERS = (ledger.RECORDS_IN, ledger.RECORDS_OUT, ledger.DEAD_LETTERS)
SURVEY_DATASETS = (ds.SURVEY_RESULTS, ds.DEAD_LETTERS)


class SurveyOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--survey_input", action="append", default=None, help="answer file (repeatable)")
        parser.add_argument("--survey_format", default="auto", help="csv | jsonl | parquet | auto (by extension)")
        parser.add_argument("--survey_mapping", default=None, help="TOML column mapping")
        parser.add_argument("--survey_id", default=None, help="survey id (default: each file's name stem)")
        parser.add_argument("--survey_population", default=None, help="CSV district?,age_band,sex,population")
        parser.add_argument("--survey_encoding", default=None)
        parser.add_argument("--survey_city", default=None)
        parser.add_argument("--survey_home", default=None)
        parser.add_argument("--survey_rows", type=int, default=DEFAULT_ROWS)


@dataclass
class SurveyReport(IngestReport):
    surveys: list[str] = field(default_factory=list)
    weighting: dict[str, str] = field(default_factory=dict)  # survey id -> how its shares were weighted


def survey_id_of(path: str, given: str | None) -> str:
    return given or Path(path).stem


class _ReadSurveyFile(beam.DoFn):
    def __init__(self, mapping: SurveyMapping, options: SurveyOptions, timezone: str) -> None:
        self.mapping, self.timezone = mapping, timezone
        self.survey, self.format, self.rows = options.survey_id, options.survey_format, options.survey_rows
        self.records_in = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_IN)

    def process(self, path: str):
        for batch in read_survey(Path(path), self.mapping, self.format, self.rows, self.timezone):
            self.records_in.inc(batch.height)
            yield survey_id_of(path, self.survey), batch


def build_pipeline(pipeline: beam.Pipeline, inputs: list[str], options: SurveyOptions, mapping: SurveyMapping,
                   workspace: Workspace, transaction, input_ids: dict[str, str], staged: Path,
                   population: pl.DataFrame | None, timezone: str, started: datetime) -> None:
    validated = (
        pipeline
        | "ListSurveyFiles" >> beam.Create(inputs)
        | "ReadSurveyFiles" >> beam.ParDo(_ReadSurveyFile(mapping, options, timezone)).with_output_types(KeyedFrame)
        | "ValidateAnswers" >> ValidateAnswers(started)
    )
    settings = SurveySettings(mapping.question_types, mapping.ranked_separator, population,
                              {path: number for number, path in enumerate(inputs)}, started)
    tallied = validated[ANSWERS] | "TallySurveys" >> TallySurveys(workspace, options.survey_city, settings)
    _ = tallied[TALLIED] | "WriteSurveys" >> WriteSurveys(transaction, staged)
    _ = (
        (validated[DEAD], tallied[DEAD])
        | "AllDeadLetters" >> beam.Flatten()
        | "WriteDeadLetters" >> WriteDeadLetters(
            transaction.dataset(ds.DEAD_LETTERS), workspace.restricted_dead_letters(options.survey_city), input_ids
        )
    )


def _pack(workspace: Workspace, city: str) -> CityPack | None:
    try:
        return CityPack.load(workspace.city(city))
    except CityPackError:
        return None  # no districts: groups by age band and sex only


def survey_argv(paths: list[str], city: str, home: str, fmt: str = "auto", mapping: str | None = None,
                survey: str | None = None, population: str | None = None, encoding: str | None = None,
                beam_args: list[str] | None = None) -> list[str]:
    argv = [f"--survey_input={p}" for p in paths] + [f"--survey_city={city}", f"--survey_home={home}",
                                                     f"--survey_format={fmt}"]
    argv += [f"--survey_mapping={mapping}"] if mapping else []
    argv += [f"--survey_id={survey}"] if survey else []
    argv += [f"--survey_population={population}"] if population else []
    argv += [f"--survey_encoding={encoding}"] if encoding else []
    return argv + list(beam_args or [])


def _prepared(surveys: SurveyOptions, workspace: Workspace) -> tuple[SurveyMapping, pl.DataFrame | None, str]:
    """(mapping, population cells, the city's time zone), every one checked before anything runs."""
    mapping = load_survey_mapping(Path(surveys.survey_mapping) if surveys.survey_mapping else None)
    if surveys.survey_encoding:
        mapping = replace(mapping, encoding=surveys.survey_encoding)
    pack = _pack(workspace, surveys.survey_city)
    table = read_population(Path(surveys.survey_population)) if surveys.survey_population else None
    return mapping, population_cells(table, pack), pack.timezone if pack else "UTC"


def run(argv: list[str] | None = None) -> SurveyReport:
    options = PipelineOptions(argv)
    surveys = options.view_as(SurveyOptions)
    workspace = Workspace.resolve(surveys.survey_home)
    inputs, input_ids = distinct_inputs(checked_inputs(surveys.survey_input))
    mapping, population, timezone = _prepared(surveys, workspace)
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    workspace.make_restricted()
    restricted = restricted_answers(workspace, surveys.survey_city)
    staged = staging_dir(restricted) / f"answers-{partition_value(run_id)}"
    with publishing_run(workspace, surveys.survey_city, run_id, f"survey ingest {run_id}", input_ids,
                        staged) as transaction:
        report = _run_pipeline(options, inputs, mapping, workspace, transaction, input_ids, staged, population,
                               timezone, started, run_id)
    install_answers(staged, restricted)
    if report.records_in == 0:
        raise SuspiciousInputError(f"read 0 answers from {', '.join(Path(p).name for p in inputs)}: "
                                   "are the files empty?")
    return report


def _run_pipeline(options: PipelineOptions, inputs: list[str], mapping: SurveyMapping, workspace: Workspace,
                  transaction, input_ids: dict[str, str], staged: Path, population: pl.DataFrame | None,
                  timezone: str, started: datetime, run_id: str) -> SurveyReport:
    surveys = options.view_as(SurveyOptions)
    runner = batch_runner(options)
    pipeline = beam.Pipeline(runner=runner, options=options)
    build_pipeline(pipeline, inputs, surveys, mapping, workspace, transaction, input_ids, staged, population,
                   timezone, started)
    result = pipeline.run()
    result.wait_until_finish()
    ids = sorted({survey_id_of(p, surveys.survey_id) for p in inputs})
    report = SurveyReport(
        run_id=run_id, city=surveys.survey_city, inputs=inputs, counters=run_counters(result, SURVEY_COUNTERS),
        datasets=workspace.published_datasets(surveys.survey_city, SURVEY_DATASETS),
        started_at=started.isoformat(), seconds=(datetime.now(UTC) - started).total_seconds(),
        surveys=ids, weighting=_weightings(transaction, ids),
    )
    check_accounting(report, workspace.runs)
    return report


def _weightings(transaction, ids: list[str]) -> dict[str, str]:
    """Survey id -> how its shares were weighted, from the results this run wrote."""
    found = {}
    for survey_id in ids:
        path = survey_folder(transaction.dataset(ds.SURVEY_RESULTS), survey_id) / PART_FILE
        if path.exists():
            weighting = pl.read_parquet(path, columns=[sv.WEIGHTING]).head(1)[sv.WEIGHTING]
            found[survey_id] = weighting[0] if weighting.len() else sv.Weighting.SAMPLE
    return found
