"""Batch pipeline: participatory-budget vote files -> tallies, both outcomes, turnout, dead letters.

    read (.pb, CONSUL) -> elections (rules, projects)    side input of validation
                       -> ballot batches -> ValidateBallots -> dead letters (reason per ballot)
    elections + their valid ballots -> DecideElections (one ballot per voter, pseudonymised, placed,
                                       tallied; greedy, equal shares, turnout, suppression)
                                    -> WriteElections: pb_elections, pb_projects, pb_project_groups,
                                       pb_turnout + restricted ballots
    dead letters -> WriteDeadLetters (published without payload, restricted with it)

Everything is written into the city's publishing transaction and becomes visible in one step
when the pipeline has finished, like the request ingest (`pipelines.ingest_requests`). An
election is decided from all its ballots at once: the rules (MES above all) need every voter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions

from models.participation.election import election_from_pabulib
from models.participation.outcomes import COMPLETIONS
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
from pipelines.sinks.participation import WriteElections, install_ballots
from pipelines.sources.errors import SourceFormatError
from pipelines.sources.participation.consul import read_consul
from pipelines.sources.participation.pabulib import read_pabulib
from pipelines.transforms.participation.composites import (
    BALLOTS,
    DEAD,
    DECIDED,
    ELECTIONS,
    DecideElections,
    KeyedFrame,
    ValidateBallots,
)
from plumbing.atomic import staging_dir
from plumbing.paths import partition_value
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import ledger
from schemas import participation as pb

LOG = logging.getLogger("urbanpulse")
FORMATS = ("pabulib", "consul")  # consul: one election per run (its export and supports together)
VOTE_COUNTERS = (ledger.RECORDS_IN, ledger.RECORDS_OUT, ledger.DEAD_LETTERS)
VOTE_DATASETS = (ds.PB_ELECTIONS, ds.PB_PROJECTS, ds.PB_PROJECT_GROUPS, ds.PB_TURNOUT, ds.DEAD_LETTERS)


class VoteOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--vote_input", action="append", default=None, help="vote file (repeatable)")
        parser.add_argument("--vote_format", default="pabulib", help="pabulib | consul")
        parser.add_argument("--vote_budget", default=None, help="the election's budget, where the file has none")
        parser.add_argument("--election", default=None, help="election id (default: each file's name stem)")
        parser.add_argument("--repeated_voter", default=None, help="latest | refuse (default: the file's META, else latest)")
        parser.add_argument("--mes_completion", default=None, help="none | add1 (default: add1 when META's rule says so)")
        parser.add_argument("--vote_encoding", default=None)
        parser.add_argument("--vote_city", default=None)
        parser.add_argument("--vote_home", default=None)
        parser.add_argument("--ballot_rows", type=int, default=250_000)


@dataclass
class VoteReport(IngestReport):
    elections: list[str] = field(default_factory=list)


def election_id_of(path: str, given: str | None) -> str:
    """`--election`, else the name of the election's (first) file without its extension."""
    return given or Path(path).stem


def vote_file_groups(inputs: list[str], fmt: str) -> list[list[str]]:
    """The files that make one election: each Pabulib file alone; CONSUL's export and its
    supports together."""
    return [inputs] if fmt == "consul" else [[path] for path in inputs]


class _ReadVoteFile(beam.DoFn):
    def __init__(self, options: VoteOptions) -> None:
        self.election, self.repeated, self.fmt = options.election, options.repeated_voter, options.vote_format
        self.encoding, self.rows, self.budget = options.vote_encoding, options.ballot_rows, options.vote_budget
        self.completion = options.mes_completion
        self.records_in = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_IN)

    def process(self, paths: list[str]):
        overrides = {pb.BUDGET: self.budget} if self.budget else {}
        if self.fmt == "consul":
            parsed = read_consul([Path(p) for p in paths], self.encoding, overrides)
        else:
            parsed = read_pabulib(Path(paths[0]), self.encoding)
            parsed.meta.update(overrides)
        election_id = election_id_of(paths[0], self.election)
        election = election_from_pabulib(election_id, parsed.meta, parsed.projects, str(parsed.path), self.repeated,
                                         self.completion)
        yield beam.pvalue.TaggedOutput(ELECTIONS, (election_id, election))
        for batch in parsed.ballot_batches(self.rows):
            self.records_in.inc(batch.height)
            yield election_id, batch
        if not parsed.ballots.height:
            yield election_id, parsed.ballots  # an export without ballots is decided by its own counts


def build_pipeline(pipeline: beam.Pipeline, inputs: list[str], options: VoteOptions, workspace: Workspace,
                   transaction, input_ids: dict[str, str], staged: Path, started: datetime) -> None:
    read = (
        pipeline
        | "ListVoteFiles" >> beam.Create(vote_file_groups(inputs, options.vote_format))
        | "ReadVoteFiles" >> beam.ParDo(_ReadVoteFile(options)).with_output_types(KeyedFrame)
        .with_outputs(ELECTIONS, main=BALLOTS)
    )
    elections = beam.pvalue.AsMultiMap(read[ELECTIONS])
    validated = read[BALLOTS] | "ValidateBallots" >> ValidateBallots(elections, options.vote_format, started)
    file_order = {path: number for number, path in enumerate(inputs)}
    decided = validated[BALLOTS] | "DecideElections" >> DecideElections(
        elections, workspace, options.vote_city, file_order, started)
    _ = decided[DECIDED] | "WriteElections" >> WriteElections(transaction, staged)
    _ = (
        (validated[DEAD], decided[DEAD])
        | "AllDeadLetters" >> beam.Flatten()
        | "WriteDeadLetters" >> WriteDeadLetters(
            transaction.dataset(ds.DEAD_LETTERS), workspace.restricted_dead_letters(options.vote_city), input_ids
        )
    )


def vote_argv(paths: list[str], city: str, home: str, fmt: str = "pabulib", election: str | None = None,
              repeated_voter: str | None = None, encoding: str | None = None,
              beam_args: list[str] | None = None, budget: str | None = None,
              mes_completion: str | None = None) -> list[str]:
    argv = [f"--vote_input={p}" for p in paths] + [f"--vote_city={city}", f"--vote_home={home}",
                                                   f"--vote_format={fmt}"]
    argv += [f"--election={election}"] if election else []
    argv += [f"--repeated_voter={repeated_voter}"] if repeated_voter else []
    argv += [f"--vote_encoding={encoding}"] if encoding else []
    argv += [f"--vote_budget={budget}"] if budget else []
    argv += [f"--mes_completion={mes_completion}"] if mes_completion else []
    return argv + list(beam_args or [])


def run(argv: list[str] | None = None) -> VoteReport:
    options = PipelineOptions(argv)
    votes = options.view_as(VoteOptions)
    if votes.mes_completion not in (None, *COMPLETIONS):
        raise ValueError(f"--mes-completion {votes.mes_completion!r} is not one of {', '.join(COMPLETIONS)}")
    if votes.vote_format not in FORMATS:
        raise SourceFormatError(f"--format {votes.vote_format!r} is not a vote format; use one of {', '.join(FORMATS)}")
    workspace = Workspace.resolve(votes.vote_home)
    inputs, input_ids = distinct_inputs(checked_inputs(votes.vote_input))
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    runner = batch_runner(options)
    workspace.make_restricted()
    restricted_ballots = workspace.restricted_ballots(votes.vote_city)
    staged = staging_dir(restricted_ballots) / f"ballots-{partition_value(run_id)}"
    with publishing_run(workspace, votes.vote_city, run_id, f"vote ingest {run_id}", input_ids, staged) as transaction:
        pipeline = beam.Pipeline(runner=runner, options=options)
        build_pipeline(pipeline, inputs, votes, workspace, transaction, input_ids, staged, started)
        result = pipeline.run()
        result.wait_until_finish()
        report = VoteReport(
            run_id=run_id, city=votes.vote_city, inputs=inputs, counters=run_counters(result, VOTE_COUNTERS),
            datasets=workspace.published_datasets(votes.vote_city, VOTE_DATASETS),
            started_at=started.isoformat(), seconds=(datetime.now(UTC) - started).total_seconds(),
            elections=sorted({election_id_of(group[0], votes.election)
                              for group in vote_file_groups(inputs, votes.vote_format)}),
        )
        check_accounting(report, workspace.runs)
    install_ballots(staged, restricted_ballots)
    if report.records_in == 0 and votes.vote_format != "consul":  # a CONSUL export alone has no ballots
        raise SuspiciousInputError(f"read 0 ballots from {', '.join(Path(p).name for p in inputs)}: "
                                   "is the VOTES section empty?")
    return report
