"""Ballots of a synthetic participatory-budget election: choices, points, tallies, file columns.

A voter picks projects one after another with chances proportional to each project's appeal
(a Plackett-Luce draw), where a district project appeals strongly to voters of its district and
hardly to anyone else. The draw is an exponential race over a (voters x projects) matrix in
chunks: the smallest `Exp(1) / weight` keys, in order, are the voter's choices. Vote strings are
joined by polars, never by a Python loop per ballot.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic.participation.projects import ProjectDraw

LOCAL_BOOST = 4.0  # appeal of a district project to voters of its own district ...
OUTSIDE_FACTOR = 0.01  # ... and to voters of every other district
CUMULATIVE_POINTS = 10
FULL_SPEND_SHARE = 0.85  # cumulative voters who hand out every point
CHUNK_ROWS = 100_000
NO_CHOICE = -1


def length_shares(max_length: int) -> np.ndarray:
    """Chances of a ballot naming 1..max_length projects: most voters use every slot."""
    shares = np.full(max_length, 0.10)
    shares[0], shares[-1] = 0.18, 0.0
    shares[-1] = max(1.0 - shares.sum(), 0.10)
    return shares / shares.sum()


def draw_lengths(count: int, max_length: int, rng: np.random.Generator) -> np.ndarray:
    """How many projects each ballot names, 1..max_length."""
    return rng.choice(max_length, size=count, p=length_shares(max_length)) + 1


def draw_choices(
    projects: ProjectDraw, district_count: int, voter_district: np.ndarray,
    lengths: np.ndarray, rng: np.random.Generator,
) -> np.ndarray:
    """(voters x max(lengths)) project positions in preference order, NO_CHOICE past the end."""
    width = int(lengths.max())
    owner = projects.district
    local = owner[None, :] == np.arange(district_count)[:, None]
    factor = np.where(owner < 0, 1.0, np.where(local, LOCAL_BOOST, OUTSIDE_FACTOR))
    inverse_weight = (1.0 / (projects.appeal[None, :] * factor)).astype(np.float32)
    count, total = len(voter_district), len(owner)
    choices = np.empty((count, width), dtype=np.int32)
    for start in range(0, count, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, count)
        keys = rng.standard_exponential((stop - start, total), dtype=np.float32)
        keys *= inverse_weight[voter_district[start:stop]]
        top = np.argpartition(keys, width - 1, axis=1)[:, :width]
        order = np.argsort(np.take_along_axis(keys, top, axis=1), axis=1)
        choices[start:stop] = np.take_along_axis(top, order, axis=1)
    choices[np.arange(width)[None, :] >= lengths[:, None]] = NO_CHOICE
    return choices


def ordinal_points(choices: np.ndarray, max_length: int) -> np.ndarray:
    """Positional points: max_length for a first choice, one less per rank, 0 past the end."""
    points = max_length - np.arange(choices.shape[1])[None, :]
    return np.where(choices >= 0, points, 0).astype(np.int64)


def cumulative_points(
    choices: np.ndarray, lengths: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """CUMULATIVE_POINTS (sometimes fewer) spread over the choices, at least one each and never
    more for a later choice than for an earlier one."""
    count = choices.shape[0]
    spend = np.where(
        rng.random(count) < FULL_SPEND_SHARE,
        CUMULATIVE_POINTS,
        rng.integers(lengths, CUMULATIVE_POINTS, endpoint=False),
    )
    spend = np.maximum(spend, lengths)
    points = np.where(choices >= 0, 1, 0).astype(np.int64)
    rows = np.arange(count)
    for extra in range(CUMULATIVE_POINTS - 1):
        gets = spend - lengths > extra
        slot = np.floor(rng.random(count) ** 1.7 * lengths).astype(np.int64)
        points[rows[gets], slot[gets]] += 1  # one slot per row: no repeated index
    return -np.sort(-points, axis=1)


def tallies(
    choices: np.ndarray, points: np.ndarray | None, project_count: int
) -> tuple[np.ndarray, np.ndarray]:
    """(votes, score) per project: ballots naming it, and their points (votes if none)."""
    named = choices >= 0
    votes = np.bincount(choices[named], minlength=project_count)
    if points is None:
        return votes, votes.copy()
    score = np.bincount(choices[named], weights=points[named], minlength=project_count)
    return votes, np.rint(score).astype(np.int64)


def joined_column(lookup: pl.Series, index: np.ndarray, name: str) -> pl.Series:
    """Row-wise comma list of `lookup[index]`, skipping NO_CHOICE entries."""
    columns = [f"c{k}" for k in range(index.shape[1])]
    frame = pl.DataFrame({c: index[:, k] for k, c in enumerate(columns)})
    parts = [pl.lit(lookup).gather(pl.when(pl.col(c) >= 0).then(pl.col(c))) for c in columns]
    return frame.select(pl.concat_str(parts, separator=",", ignore_nulls=True).alias(name)).to_series()


def points_column(choices: np.ndarray, points: np.ndarray) -> pl.Series:
    """Row-wise comma list of a ballot's points, aligned with its vote column."""
    width = int(points.max()) + 1
    lookup = pl.Series([str(p) for p in range(width)], dtype=pl.String)
    return joined_column(lookup, np.where(choices >= 0, points, NO_CHOICE), "points")


def voter_ids(count: int, rng: np.random.Generator) -> np.ndarray:
    """Increasing unique ids with gaps, like the ids of a real e-voting system."""
    return 100_000 + np.cumsum(rng.geometric(0.6, size=count))
