"""The vote pipeline's Beam composites: validate ballot batches, then count and decide each election.

    (election id, ballot batch) + elections  -> ValidateBallots  -> (election id, valid batch), dead letters
    (election id, valid batch) + elections   -> DecideElections  -> (election id, tables, ballots), dead letters

An election is decided from all its ballots at once (the rules, equal shares above all, need
every voter): one ballot per voter, pseudonymised, placed in the city pack's districts,
tallied and decided. Writing is the sinks' job (`pipelines.sinks.participation.WriteElections`).
"""

from __future__ import annotations

from datetime import datetime

import apache_beam as beam
import polars as pl

from models.cities.errors import CityPackError
from models.cities.pack import CityPack
from models.participation.election import Election, ElectionRulesError
from pipelines.transforms.participation.decide import decide
from pipelines.transforms.participation.places import place_by_name, place_projects, populations
from pipelines.transforms.participation.tally import with_groups
from pipelines.transforms.participation.validate import count_repeated_voters, validate_ballots
from plumbing.pseudonyms import pseudonyms, voter_secret
from plumbing.workspace import Workspace
from schemas import participation as pb

ELECTIONS, BALLOTS, DEAD, DECIDED = "elections", "ballots", "dead_letters", "decided"
KeyedFrame = tuple[str, pl.DataFrame]  # (election id, a batch of its ballots)
# (election id, its tables by dataset name, its counted ballots): typed, so that Beam measures the
# ballots with the frame coder instead of pickling a million rows to learn their size
Decided = tuple[str, dict[str, pl.DataFrame], pl.DataFrame]

def the_election(definitions: list[Election], election_id: str) -> Election:
    """Files of one election (`--election` over several files) must agree on its projects."""
    first = definitions[0]
    for other in definitions[1:]:
        if other.project_ids != first.project_ids or other.budget != first.budget:
            raise ElectionRulesError(f"the files of election {election_id!r} differ in their projects or budget: "
                                     "give each its own --election, or ingest files of one vote together")
    return first


class _Validate(beam.DoFn):
    def __init__(self, source: str, failed_at: datetime) -> None:
        self.source, self.failed_at = source, failed_at

    def process(self, keyed, elections):
        election_id, batch = keyed
        valid, dead = validate_ballots(batch, the_election(elections[election_id], election_id), self.source,
                                       self.failed_at)
        if dead.height:
            yield beam.pvalue.TaggedOutput(DEAD, dead)
        yield election_id, valid  # even empty: an election without ballots is decided too


class ValidateBallots(beam.PTransform):
    """(election id, ballot text batch) in, with the elections as a multi-map side input."""

    def __init__(self, elections, source: str, failed_at: datetime) -> None:
        super().__init__()
        self.elections, self.source, self.failed_at = elections, source, failed_at

    def expand(self, batches):
        return batches | "Validate" >> beam.ParDo(_Validate(self.source, self.failed_at), self.elections
                                                  ).with_output_types(KeyedFrame).with_outputs(DEAD, main=BALLOTS)


class _Decide(beam.DoFn):
    def __init__(self, workspace: Workspace, city: str, file_order: dict[str, int], failed_at: datetime) -> None:
        self.workspace, self.city, self.file_order, self.failed_at = workspace, city, file_order, failed_at

    def setup(self) -> None:
        self.secret = voter_secret(self.workspace)
        try:
            self.pack = CityPack.load(self.workspace.city(self.city))
        except CityPackError:
            self.pack = None  # groups by the file's own area names only

    def process(self, keyed, elections):
        election_id, frames = keyed
        election = the_election(elections[election_id], election_id)
        ballots = pl.concat(list(frames))
        ballots, repeated = count_repeated_voters(ballots, election.repeated_voter, self.file_order, self.failed_at)
        if repeated.height:
            yield beam.pvalue.TaggedOutput(DEAD, repeated)
        ballots = ballots.with_columns(
            pseudonyms(ballots["voter_id"], self.secret, f"{self.city}\x00{election_id}").alias(pb.VOTER_KEY)
        ).drop("voter_id")
        ballots = with_groups(place_by_name(ballots, pb.NEIGHBORHOOD, self.pack))
        tables = decide(election, ballots, populations(self.pack), place_projects(election.projects, self.pack))
        yield election_id, tables, ballots


class DecideElections(beam.PTransform):
    """(id, valid batch) in, at least one batch per election (empty when it has no ballots),
    with the elections as a multi-map side input; (id, tables, ballots) out."""

    def __init__(self, elections, workspace: Workspace, city: str, file_order: dict[str, int],
                 failed_at: datetime) -> None:
        super().__init__()
        self.elections, self.workspace, self.city = elections, workspace, city
        self.file_order, self.failed_at = file_order, failed_at

    def expand(self, batches):
        return (
            batches
            | "BallotsPerElection" >> beam.GroupByKey()  # typed: batches travel with the frame coder
            | "CountAndDecide" >> beam.ParDo(_Decide(self.workspace, self.city, self.file_order, self.failed_at),
                                             self.elections)
            .with_output_types(Decided).with_outputs(DEAD, main=DECIDED)
        )
