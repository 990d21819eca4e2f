"""One election's counted ballots -> its published tables: projects with both outcomes, groups, turnout.

    projects:  votes, score, the file's `selected`, greedy's and MES's selections, district
    groups:    votes and score per project within each district, age band, sex, ...
    turnout:   ballots per group, per 1,000 residents where the pack has a population
    election:  the rules, the ballots counted, what each rule spends

Greedy funds projects by score within the budget (with the file's score threshold); the Method
of Equal Shares uses cost utilities for approval ballots and points for the others
(`models.participation.outcomes`). Counts under `MIN_CELL` are suppressed after the outcomes are
computed from the full tallies.
"""

from __future__ import annotations

import polars as pl

from models.participation.election import ELIGIBLE, Election
from models.participation.outcomes import (
    Instance,
    equal_shares,
    greedy_selection,
    lexicographic_tie_order,
)
from pipelines.transforms.participation.tally import (
    VOTER_INDEX,
    group_tallies,
    project_tallies,
    support_entries,
    suppress,
    turnout,
)
from schemas import datasets as ds
from schemas import participation as pb
from schemas.requests import SCHEMA_VERSION_COLUMN

PROJECT_INDEX = "_project_index"


def outcome_instance(election: Election, projects: pl.DataFrame, entries: pl.DataFrame,
                     n_voters: int) -> Instance:
    """The election as arrays: project costs, and one (voter, project, utility) per support entry."""
    indexed = entries.join(projects.select(pb.PROJECT_ID, pl.int_range(pl.len()).alias(PROJECT_INDEX)),
                           on=pb.PROJECT_ID)
    utilities = None if election.vote_type == pb.VoteType.APPROVAL else indexed[pb.SCORE].to_numpy()
    return Instance(
        costs=fundable_costs(projects), budget=election.budget,
        voters=indexed[VOTER_INDEX].cast(pl.Int64).to_numpy(), projects=indexed[PROJECT_INDEX].cast(pl.Int64).to_numpy(),
        utilities=utilities, n_voters=n_voters, tie_order=lexicographic_tie_order(projects[pb.PROJECT_ID].to_list()),
    )


def fundable_costs(projects: pl.DataFrame):
    """Costs as the rules see them: a project that may not be funded costs more than any budget."""
    return projects.select(pl.when(ELIGIBLE).then(pb.COST).otherwise(float("inf")))[pb.COST].to_numpy()


def with_source_counts(tallied: pl.DataFrame, ballots: int) -> pl.DataFrame:
    """An export without ballots (CONSUL proposals alone) is tallied by its own support counts."""
    if ballots or tallied["votes_source"].is_null().all():
        return tallied
    return tallied.with_columns(pl.col("votes_source").fill_null(0).alias(pb.VOTES),
                                pl.col("votes_source").fill_null(0).cast(pl.Float64).alias(pb.SCORE))


def decide(election: Election, ballots: pl.DataFrame, populations: dict[tuple[str, str], float],
           projects: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The election's tables by dataset name. `ballots`: counted, placed, with group columns and
    `VOTER_INDEX` (`tally.with_groups`)."""
    entries = support_entries(ballots)
    tallied = with_source_counts(project_tallies(projects, entries), ballots.height)
    instance = outcome_instance(election, tallied, entries, ballots.height)
    greedy = greedy_selection(instance.costs, tallied[pb.SCORE].to_numpy(), election.budget,
                              election.threshold, instance.tie_order)
    mes = equal_shares(instance, election.mes_completion)
    tallied = tallied.with_columns(pl.Series(pb.SELECTED_GREEDY, greedy), pl.Series(pb.SELECTED_MES, mes))
    version = pl.lit(pb.PARTICIPATION_SCHEMA_VERSION).alias(SCHEMA_VERSION_COLUMN)
    election_id = pl.lit(election.election_id).alias(pb.ELECTION_ID)
    small = ballots.height < pb.MIN_CELL
    row = {**election.row(), pb.BALLOTS: None if small else ballots.height, pb.SUPPRESSED: small,
           pb.SPENT_GREEDY: float(tallied.filter(pb.SELECTED_GREEDY)[pb.COST].sum()),
           pb.SPENT_MES: float(tallied.filter(pb.SELECTED_MES)[pb.COST].sum()),
           SCHEMA_VERSION_COLUMN: pb.PARTICIPATION_SCHEMA_VERSION}
    return {
        ds.PB_ELECTIONS: pl.from_arrow(pl.DataFrame([row]).to_arrow().cast(pb.PB_ELECTION)),
        ds.PB_PROJECTS: _typed(suppress(tallied, pb.VOTES, (pb.SCORE,)).with_columns(election_id, version), pb.PB_PROJECT),
        ds.PB_PROJECT_GROUPS: _typed(suppress(group_tallies(ballots, entries), pb.VOTES, (pb.SCORE,)).with_columns(election_id, version),
                      pb.PB_PROJECT_GROUP),
        ds.PB_TURNOUT: _typed(suppress(turnout(ballots, populations), pb.BALLOTS, (pb.SHARE_OF_BALLOTS, pb.BALLOTS_PER_1000))
                       .with_columns(election_id, version), pb.PB_TURNOUT),
    }


def _typed(frame: pl.DataFrame, schema) -> pl.DataFrame:
    return pl.from_arrow(frame.select([f.name for f in schema]).to_arrow().cast(schema))
