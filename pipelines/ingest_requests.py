"""Batch pipeline: request exports -> enriched requests, daily aggregates and dead letters.

    read -> ValidateRequests -> NormaliseRequests -> ClassifyRequests -> GeocodeRequests
         -> ComputeSla -> ScrubPersonalData -> SplitEnrichFailures
         -> MergeRequestsIntoDataset (latest version per id, repeats linked, upsert, one row per id)
    published requests (after the merge) -> AggregateDaily -> WriteRequestDaily
    dead letters (invalid, and records a step could not enrich) -> WriteDeadLetters

Everything is written into the city's publishing transaction (`plumbing.publishing`) and
becomes visible in one step when the pipeline has finished; a failed or killed run publishes
nothing. `run()` only parses options and wires the steps; the domain logic lives in the composites.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
import polars as pl
from apache_beam.options.pipeline_options import PipelineOptions

from models.cities.pack import CityPack
from models.classification.request_classifier import default_model_dir
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
from pipelines.sinks.dead_letters import (
    WriteDeadLetters,
    dead_letter_reasons,
)
from pipelines.sinks.requests.daily import WriteRequestDaily
from pipelines.sinks.requests.dataset import (
    MONTHS,
    ROWS,
    MergeRequestsIntoDataset,
    published_requests,
)
from pipelines.sources.requests import (
    load_mapping,
    read_raw_batches,
    timestamp_formats_tried,
    with_encoding,
)
from pipelines.sources.requests.estimate import estimated_records
from pipelines.transforms.guard import ENRICHED, FAILED, SplitEnrichFailures
from pipelines.transforms.progress import ReportDone, ReportMonthsToPublish
from pipelines.transforms.requests.aggregate import INPUT_COLUMNS, AggregateDaily
from pipelines.transforms.requests.classify import ClassifyRequests
from pipelines.transforms.requests.geocode import GeocodeRequests
from pipelines.transforms.requests.normalise import NormaliseRequests
from pipelines.transforms.requests.scrub import ScrubPersonalData
from pipelines.transforms.requests.sla import ComputeSla
from pipelines.transforms.requests.validate import DEAD, ValidateRequests
from plumbing.paths import city_folder
from plumbing.progress import AGGREGATING, PUBLISHING, READING, RunProgress
from plumbing.publishing import CityTransaction
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import ledger

LOG = logging.getLogger("urbanpulse")


class IngestOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        # Not `required`: Beam registers option classes globally, so every later pipeline would need it.
        parser.add_argument("--input", action="append", default=None, help="export file (repeatable)")
        parser.add_argument("--format", default="csv", help="source format, see `urbanpulse formats`")
        parser.add_argument("--mapping", default=None, help="TOML column mapping for csv/jsonl/parquet")
        parser.add_argument("--encoding", default=None,
                            help="text encoding of the inputs (default: UTF-8, else guessed and flagged)")
        parser.add_argument("--source", default=None, help="source name stored with every record")
        parser.add_argument("--city", default="demo", help="city pack name in the workspace")
        parser.add_argument("--home", default=None, help="UrbanPulse home folder")
        parser.add_argument("--model", default=None, help="classifier artifact folder (default: city's)")
        parser.add_argument("--batch_rows", type=int, default=100_000)
        parser.add_argument("--progress_dir", default=None,
                            help="folder the run reports its progress into (plumbing.progress)")


def pipeline_argv(paths: list[str], city: str, fmt: str, home: str, mapping: str | None = None,
                  source: str | None = None, model: str | None = None,
                  beam_args: list[str] | None = None, encoding: str | None = None) -> list[str]:
    argv = [f"--input={p}" for p in paths] + [f"--city={city}", f"--format={fmt}", f"--home={home}"]
    argv += [f"--mapping={mapping}"] if mapping else []
    argv += [f"--encoding={encoding}"] if encoding else []
    argv += [f"--source={source}"] if source else []
    argv += [f"--model={model}"] if model else []
    return argv + list(beam_args or [])


class _ReadRawRequests(beam.DoFn):
    """Reports progress (when asked) after each batch has gone through the fused enrich steps,
    in bytes of the inputs: a file's share by its estimated record count, all of it when done."""

    def __init__(self, fmt: str, source: str | None, mapping: str | None, batch_rows: int,
                 encoding: str | None = None, progress: RunProgress | None = None,
                 total_bytes: int = 0) -> None:
        self.fmt, self.source, self.mapping, self.batch_rows = fmt, source, mapping, batch_rows
        self.encoding, self.progress, self.total_bytes = encoding, progress, total_bytes
        self.records_in = beam.metrics.Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_IN)

    def setup(self) -> None:
        self.writer = self.progress.writer(READING, self.total_bytes) if self.progress else None
        if self.writer:
            self.writer.report(force=True)  # the run is reading from now on

    def process(self, path: str):
        mapping = with_encoding(load_mapping(Path(self.mapping)) if self.mapping else None, self.encoding)
        size, expected = Path(path).stat().st_size, estimated_records(Path(path), self.fmt)
        rows = reported = 0
        for batch in read_raw_batches(Path(path), self.fmt, self.source, mapping, self.batch_rows):
            self.records_in.inc(batch.num_rows)
            yield pl.from_arrow(batch)
            rows += batch.num_rows
            if self.writer:
                share = int(size * min(rows / expected, 0.99)) if expected else 0
                self.writer.report(rows=batch.num_rows, done=share - reported)
                reported = share
        if self.writer:
            self.writer.report(done=size - reported, force=True)

    def finish_bundle(self) -> None:
        if self.writer:
            self.writer.flush()


def _published_for_aggregation(dataset: str, _rows_after_merge: int):
    """Every partition of the city, read after the merge (the side input orders the stages)."""
    yield from published_requests(Path(dataset), INPUT_COLUMNS)


def build_pipeline(pipeline: beam.Pipeline, inputs: list[str], options: IngestOptions,
                   workspace: Workspace, transaction: CityTransaction, pack: CityPack,
                   model_dir: Path | None, input_ids: dict[str, str], run_id: str,
                   ingested_at: datetime) -> None:
    progress = RunProgress(options.progress_dir, run_id) if options.progress_dir else None
    raw = (
        pipeline
        | "ListInputs" >> beam.Create(inputs)
        | "ReadRawRequests" >> beam.ParDo(
            _ReadRawRequests(options.format, options.source, options.mapping, options.batch_rows,
                             options.encoding, progress, sum(Path(p).stat().st_size for p in inputs))
        ).with_output_types(pl.DataFrame)
    )
    mapping = load_mapping(Path(options.mapping)) if options.mapping else None
    formats_tried = timestamp_formats_tried(options.format, mapping, options.mapping)
    validated = raw | "ValidateRequests" >> ValidateRequests(formats_tried)
    enriched = (
        validated.valid
        | "NormaliseRequests" >> NormaliseRequests(pack.timezone, ingested_at)
        | "ClassifyRequests" >> ClassifyRequests(pack.root, model_dir)
        | "GeocodeRequests" >> GeocodeRequests(pack.root)
        | "ComputeSla" >> ComputeSla()
        | "ScrubPersonalData" >> ScrubPersonalData(public=pack.public_contacts())
        | "SplitEnrichFailures" >> SplitEnrichFailures()
    )
    requests = transaction.dataset(ds.REQUESTS)
    published_files = transaction.published_files(ds.REQUESTS)
    merge = enriched[ENRICHED] | "MergeRequestsIntoDataset" >> MergeRequestsIntoDataset(
        requests, run_id, published_files
    )
    merge_done = merge[ROWS]
    _ = (
        (validated[DEAD], enriched[FAILED])
        | "AllDeadLetters" >> beam.Flatten()
        | "WriteDeadLetters" >> WriteDeadLetters(
            transaction.dataset(ds.DEAD_LETTERS), workspace.restricted_dead_letters(options.city), input_ids
        )
    )
    published = (
        pipeline
        | "RequestDataset" >> beam.Create([str(requests)])
        | "ReadPublishedRequests" >> beam.FlatMap(
            _published_for_aggregation, beam.pvalue.AsSingleton(merge_done)
        ).with_output_types(pl.DataFrame)
    )
    _ = (
        published
        | "AggregateDaily" >> AggregateDaily(pack.timezone)
        | "WriteRequestDaily" >> WriteRequestDaily(transaction.dataset(ds.REQUEST_DAILY))
    )
    if progress:
        _ = enriched[ENRICHED] | "ReportMonthsToPublish" >> ReportMonthsToPublish(progress)
        _ = merge[MONTHS] | "ReportMonthsPublished" >> ReportDone(progress, PUBLISHING)
        _ = published | "ReportPartitionsAggregated" >> ReportDone(progress, AGGREGATING)


def run(argv: list[str] | None = None) -> IngestReport:
    options = PipelineOptions(argv)
    ingest = options.view_as(IngestOptions)
    workspace = Workspace.resolve(ingest.home)
    pack = CityPack.load(workspace.city(ingest.city))
    model_dir = Path(ingest.model) if ingest.model else default_model_dir(workspace, ingest.city)
    inputs, input_ids = distinct_inputs(checked_inputs(ingest.input))
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    runner = batch_runner(options)
    workspace.make_restricted()
    # one writer per city at a time (concurrent merges of a partition would lose rows); the run
    # publishes in one commit at the end of the block, or not at all
    with publishing_run(workspace, ingest.city, run_id, f"ingest run {run_id}", input_ids) as transaction:
        pipeline = beam.Pipeline(runner=runner, options=options)
        build_pipeline(pipeline, inputs, ingest, workspace, transaction, pack, model_dir, input_ids,
                       run_id, started)
        result = pipeline.run()
        result.wait_until_finish()
        report = IngestReport(
            run_id=run_id, city=ingest.city, inputs=inputs,
            counters=run_counters(result, ledger.BATCH_COUNTERS),
            datasets=workspace.published_datasets(ingest.city, ds.REQUEST_DATASETS),
            started_at=started.isoformat(), seconds=(datetime.now(UTC) - started).total_seconds(),
        )
        check_accounting(report, workspace.runs)
    _refuse_suspicious_outcome(report, ingest, workspace, list(input_ids.values()))
    return report


def _refuse_suspicious_outcome(report: IngestReport, ingest: IngestOptions, workspace: Workspace,
                               input_ids: list[str]) -> None:
    """A run that read nothing, or turned every record into a dead letter, is almost always the
    wrong --format or --mapping: say so (after publishing the dead letters, to look at)."""
    files = ", ".join(Path(p).name for p in report.inputs)
    if report.records_in == 0:
        raise SuspiciousInputError(
            f"read 0 records from {files} as --format {ingest.format}: is it the right format, "
            "and a text export rather than a binary file?"
        )
    if report.records_out == 0:
        dead_letters = workspace.dead_letters_dataset / city_folder(ingest.city)
        reasons = dead_letter_reasons(dead_letters, input_ids)
        hint = (f"check the timestamps and columns of the mapping {ingest.mapping}" if ingest.mapping
                else f"check --format {ingest.format} and whether the file needs a --mapping")
        raise SuspiciousInputError(
            f"all {report.records_in:,} records of {files} became dead letters "
            f"({', '.join(f'{r}: {n:,}' for r, n in reasons.items())}); {hint}; they are in "
            f"{dead_letters} and a re-run replaces them"
        )
