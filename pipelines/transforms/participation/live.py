"""One landed segment of ballots -> the signed changes it makes to an open vote's tallies.

The stream of votes counts each voter's latest ballot (rule `latest`) or first (rule `refuse`),
as the batch pipeline does, but a segment at a time: a ballot of a voter already counted takes
the earlier ballot's contribution back (sign -1) and adds its own (+1). All of it is polars over
the segment's support entries (ballot x chosen project), a few hundred rows per segment:

    projects   votes and score per project
    groups     votes and score per project within each district, parent area, age band, ...
    turnout    ballots per group (with the group's name where it has one)

Counted ballots are kept per voter pseudonym in the live store (`ballot_rows`, restricted) as
text: choices and points comma-joined (project ids never hold a comma: a VOTES line splits on it).
"""

from __future__ import annotations

import polars as pl

from pipelines.transforms.participation.tally import (
    GROUP_COLUMNS,
    VOTER_INDEX,
    age_band,
    support_entries,
)
from plumbing.live_store import votes as vt
from schemas import participation as pb
from schemas.requests import DISTRICT_ID, PARENT_ID, SOURCE_FILE, SOURCE_POSITION

SIGN = "_sign"
GROUP_VALUES = {kind: GROUP_COLUMNS[kind] for kind in vt.LIVE_GROUP_KINDS}  # kind -> (value, name)
_GROUPED = tuple(column for column, _name in GROUP_VALUES.values())
_NAMES = tuple(name for _column, name in GROUP_VALUES.values() if name)


def ballot_rows(ballots: pl.DataFrame, election_id: str) -> pl.DataFrame:
    """Counted ballots (pseudonymised, placed, `age_band` added) as rows of the store's ballot table."""
    return ballots.select(
        pl.lit(election_id).alias(pb.ELECTION_ID), pb.VOTER_KEY,
        pl.col(pb.CHOICES).list.join(","),
        pl.col(pb.POINTS).list.eval(pl.element().cast(pl.String)).list.join(",").alias(pb.POINTS),
        DISTRICT_ID, PARENT_ID, pb.AGE_BAND, pb.SEX, pb.VOTING_METHOD, SOURCE_FILE, SOURCE_POSITION,
    )


def stored_ballots(rows: pl.DataFrame) -> pl.DataFrame:
    """Ballot-table rows back as ballots: choices and points as lists, with their groups."""
    return rows.with_columns(
        pl.col(pb.CHOICES).str.split(","),
        pl.col(pb.POINTS).str.split(",").list.eval(pl.element().cast(pl.Float64)),
    )


def with_age_band(ballots: pl.DataFrame) -> pl.DataFrame:
    """Ballots with the age band of their age (null without one), as the batch groups them."""
    return ballots.with_columns(age_band(pl.col(pb.AGE)).alias(pb.AGE_BAND))


def _signed(added: pl.DataFrame, removed: pl.DataFrame) -> pl.DataFrame:
    """Ballots to add (+1) and to take back (-1) in one frame, with every group and name column."""
    def shaped(frame: pl.DataFrame, sign: int) -> pl.DataFrame:
        missing = [pl.lit(None, pl.String).alias(c) for c in (*_GROUPED, *_NAMES) if c not in frame.columns]
        return frame.with_columns(*missing, pl.lit(sign, pl.Int64).alias(SIGN)).select(
            pb.CHOICES, pl.col(pb.POINTS).cast(pl.List(pl.Float64)), *_GROUPED, *_NAMES, SIGN)

    return pl.concat([shaped(added, 1), shaped(removed, -1)]).with_row_index(VOTER_INDEX)


def tally_deltas(added: pl.DataFrame, removed: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(projects, groups, turnout) changes of adding `added` and taking back `removed`; rows whose
    change is nothing are left out."""
    ballots = _signed(added, removed)
    entries = support_entries(ballots).join(ballots.select(VOTER_INDEX, SIGN, *_GROUPED), on=VOTER_INDEX)
    signed_votes = pl.col(SIGN).sum().alias(pb.VOTES)
    signed_score = (pl.col(SIGN) * pl.col(pb.SCORE)).sum().alias(pb.SCORE)
    changed = (pl.col(pb.VOTES) != 0) | (pl.col(pb.SCORE) != 0)
    projects = entries.group_by(pb.PROJECT_ID, maintain_order=True).agg(signed_votes, signed_score).filter(changed)
    groups, turnout = [], []
    for kind, (column, name) in GROUP_VALUES.items():
        value = pl.col(column).alias(pb.GROUP_VALUE)
        groups.append(entries.drop_nulls(column).group_by(value, pb.PROJECT_ID, maintain_order=True)
                      .agg(signed_votes, signed_score).with_columns(pl.lit(kind).alias(pb.GROUP_KIND)))
        named = (pl.col(name).drop_nulls().first() if name else pl.lit(None, pl.String)).alias(pb.GROUP_NAME)
        turnout.append(ballots.drop_nulls(column).group_by(value, maintain_order=True)
                       .agg(named, pl.col(SIGN).sum().alias(pb.BALLOTS))
                       .with_columns(pl.lit(kind).alias(pb.GROUP_KIND)).cast({pb.GROUP_NAME: pl.String}))
    groups_frame = pl.concat(groups).filter(changed).select(pb.GROUP_KIND, pb.GROUP_VALUE, pb.PROJECT_ID,
                                                            pb.VOTES, pb.SCORE)
    turnout_frame = pl.concat(turnout).filter(pl.col(pb.BALLOTS) != 0).select(
        pb.GROUP_KIND, pb.GROUP_VALUE, pb.GROUP_NAME, pb.BALLOTS)
    return projects, groups_frame, turnout_frame


def no_deltas() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(projects, groups, turnout) changes of a segment that counts nothing."""
    projects = pl.DataFrame(schema={pb.PROJECT_ID: pl.String, pb.VOTES: pl.Int64, pb.SCORE: pl.Float64})
    groups = pl.DataFrame(schema={pb.GROUP_KIND: pl.String, pb.GROUP_VALUE: pl.String, **projects.schema})
    turnout = pl.DataFrame(schema={pb.GROUP_KIND: pl.String, pb.GROUP_VALUE: pl.String, pb.GROUP_NAME: pl.String,
                                   pb.BALLOTS: pl.Int64})
    return projects, groups, turnout
