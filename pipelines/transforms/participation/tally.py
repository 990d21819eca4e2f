"""Tallies of counted ballots: per project, per project and group, and turnout per group.

Vectorised over the ballots' support entries (one row per ballot x chosen project, polars): a
1M-ballot approval vote is about 3M entries and tallies in well under a second. `score` is the
points a rule ranks by: one per approval; ordinal points (the file's, else `max_length - rank`);
cumulative and scoring sums. Groups are the city, the pack's district and parent area, the
file's own neighbourhood, age band, sex and voting method. Every count under `MIN_CELL`
ballots is published as null with `suppressed = true` (`suppress`).
"""

from __future__ import annotations

import polars as pl

from schemas import participation as pb
from schemas.requests import DISTRICT_ID, DISTRICT_NAME, PARENT_ID, PARENT_NAME

VOTER_INDEX = "_voter_index"
GROUP_COLUMNS: dict[str, tuple[str, str | None]] = {  # kind -> (value column, name column)
    pb.GroupKind.DISTRICT: (DISTRICT_ID, DISTRICT_NAME),
    pb.GroupKind.PARENT: (PARENT_ID, PARENT_NAME),
    pb.GroupKind.NEIGHBORHOOD: (pb.NEIGHBORHOOD, None),
    pb.GroupKind.AGE_BAND: (pb.AGE_BAND, None),
    pb.GroupKind.SEX: (pb.SEX, None),
    pb.GroupKind.VOTING_METHOD: (pb.VOTING_METHOD, None),
}


def age_band(age: pl.Expr) -> pl.Expr:
    band = pl.lit(None, pl.String)
    for low, high, name in reversed(pb.AGE_BANDS):
        band = pl.when(age.is_between(low, high)).then(pl.lit(name)).otherwise(band)
    return band


def with_groups(ballots: pl.DataFrame) -> pl.DataFrame:
    """Ballots with every group column present (null where the ballot or the pack says nothing)."""
    missing = [c for c in (DISTRICT_ID, DISTRICT_NAME, PARENT_ID, PARENT_NAME) if c not in ballots.columns]
    return ballots.with_columns(
        *[pl.lit(None, pl.String).alias(c) for c in missing],
        age_band(pl.col(pb.AGE)).alias(pb.AGE_BAND),
    ).with_row_index(VOTER_INDEX)


def support_entries(ballots: pl.DataFrame) -> pl.DataFrame:
    """One row per ballot x chosen project: voter index, project id, points (1 for approvals)."""
    entries = ballots.select(
        VOTER_INDEX, pl.col(pb.CHOICES).alias(pb.PROJECT_ID),
        pl.when(pl.col(pb.POINTS).is_null())
        .then(pl.col(pb.CHOICES).list.eval(pl.lit(1.0)))
        .otherwise(pl.col(pb.POINTS)).alias(pb.SCORE),
    )
    return entries.explode(pb.PROJECT_ID, pb.SCORE)


def project_tallies(projects: pl.DataFrame, entries: pl.DataFrame) -> pl.DataFrame:
    """Every project of the election with its ballots (`votes`) and points (`score`), zeros included."""
    sums = entries.group_by(pb.PROJECT_ID).agg(pl.len().cast(pl.Int64).alias(pb.VOTES), pl.col(pb.SCORE).sum())
    return projects.join(sums, on=pb.PROJECT_ID, how="left", maintain_order="left").with_columns(
        pl.col(pb.VOTES).fill_null(0), pl.col(pb.SCORE).fill_null(0.0),
    )


def group_tallies(ballots: pl.DataFrame, entries: pl.DataFrame) -> pl.DataFrame:
    """Votes and score of every project within every group of voters (one group kind at a time).

    `VOTER_INDEX` is the ballots' row number, so each entry's groups are gathered by position
    (no join)."""
    voters = entries[VOTER_INDEX]
    frames = []
    for kind, (column, _name) in GROUP_COLUMNS.items():
        grouped = entries.select(pb.PROJECT_ID, pb.SCORE).with_columns(
            ballots[column].gather(voters).alias(pb.GROUP_VALUE))
        frames.append(
            grouped.drop_nulls(pb.GROUP_VALUE).group_by(pb.PROJECT_ID, pb.GROUP_VALUE)
            .agg(pl.len().cast(pl.Int64).alias(pb.VOTES), pl.col(pb.SCORE).sum())
            .with_columns(pl.lit(kind).alias(pb.GROUP_KIND))
        )
    return pl.concat(frames).sort(pb.GROUP_KIND, pb.GROUP_VALUE, pb.PROJECT_ID)


def turnout(ballots: pl.DataFrame, populations: dict[tuple[str, str], float]) -> pl.DataFrame:
    """Ballots per group, their share of all ballots, and per 1,000 residents where the city pack
    knows the group's population (districts and parent areas)."""
    total = ballots.height
    frames = [pl.DataFrame({pb.GROUP_KIND: [pb.GroupKind.CITY], pb.GROUP_VALUE: [None], pb.GROUP_NAME: [None],
                            pb.BALLOTS: [total]}, schema=_TURNOUT_KEYS)]
    for kind, (column, name) in GROUP_COLUMNS.items():
        named = pl.col(name) if name else pl.lit(None, pl.String)
        frames.append(
            ballots.drop_nulls(column).group_by(column).agg(named.first().alias(pb.GROUP_NAME), pl.len().alias(pb.BALLOTS))
            .select(pl.lit(kind).alias(pb.GROUP_KIND), pl.col(column).alias(pb.GROUP_VALUE), pb.GROUP_NAME, pb.BALLOTS)
            .cast(_TURNOUT_KEYS)
        )
    frame = pl.concat(frames)
    population = pl.struct(pb.GROUP_KIND, pb.GROUP_VALUE).map_elements(
        lambda key: populations.get((key[pb.GROUP_KIND], key[pb.GROUP_VALUE])), return_dtype=pl.Float64)
    return frame.with_columns(
        (pl.col(pb.BALLOTS) / max(total, 1)).alias(pb.SHARE_OF_BALLOTS),
        population.alias(pb.POPULATION),
    ).with_columns(
        (pl.col(pb.BALLOTS) / pl.col(pb.POPULATION) * 1000).alias(pb.BALLOTS_PER_1000),
    ).sort(pb.GROUP_KIND, pb.GROUP_VALUE, nulls_last=False)


_TURNOUT_KEYS = {pb.GROUP_KIND: pl.String, pb.GROUP_VALUE: pl.String, pb.GROUP_NAME: pl.String, pb.BALLOTS: pl.Int64}


def suppress(frame: pl.DataFrame, count: str, hidden: tuple[str, ...]) -> pl.DataFrame:
    """Counts under `MIN_CELL` (and the figures derived from them) become null, `suppressed` true."""
    small = pl.col(count) < pb.MIN_CELL
    return frame.with_columns(
        *[pl.when(small).then(None).otherwise(pl.col(c)).alias(c) for c in (count, *hidden)],
        small.alias(pb.SUPPRESSED),
    )
