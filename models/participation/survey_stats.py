"""Survey statistics: Wilson intervals, instant-runoff counts and post-stratification weights.

Pure numpy and polars, independent of any pipeline:

* `wilson_interval(successes, n)`: the Wilson score interval of a proportion, vectorised. It
  stays inside 0..1 and keeps a sensible width for small cells and shares near 0 or 1, where the
  normal (Wald) interval collapses to a point.
* `instant_runoff(rankings)`: single-winner instant-runoff (IRV) of ranked answers. Every round
  counts each ranking for its highest-ranked option still in the race; an option with more than
  half of the continuing rankings wins, else the option with the fewest votes is eliminated.
  Ties for elimination go against the option with fewer first preferences (round 1 votes), then
  against the option whose name sorts last (the one that sorts first stays, as in the
  participatory-budget rules' lexicographic tie order). Identical rankings are counted once
  with their multiplicity, so a million answers over a few dozen distinct rankings take
  milliseconds.
* `post_stratification_weights(sample, population)`: weights per sample cell (age band x sex,
  and district when the population has it) so that the weighted sample has the population's
  structure. A population given as full cells is post-stratification proper (one pass); one
  given only as margins (residents per age band, and per sex, separately) is raked: iterative
  proportional fitting over the margins until every weighted margin matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

Z95 = 1.959964  # two-sided 95% normal quantile
ELECTED, ELIMINATED, CONTINUING = "elected", "eliminated", "continuing"
ROUND, OPTION, VOTES, SHARE, STATUS, BALLOTS = "round", "option", "votes", "share", "status", "continuing_ballots"
WEIGHT, COUNT, TARGET = "weight", "n", "population"
_CATEGORY = "_category"


def wilson_interval(successes, n, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) Wilson score interval of `successes` out of `n`, element-wise; NaN where
    n is 0. 8 of 10 gives (0.490, 0.943)."""
    s = np.asarray(successes, dtype=np.float64)
    total = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = s / total
        z2 = z * z
        denominator = 1.0 + z2 / total
        centre = (p + z2 / (2.0 * total)) / denominator
        half = z * np.sqrt(p * (1.0 - p) / total + z2 / (4.0 * total * total)) / denominator
    known = total > 0
    low = np.where(known, np.where(s <= 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
    high = np.where(known, np.where(s >= total, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    return low, high


# --------------------------------------------------------------------------- instant runoff
@dataclass(frozen=True)
class Runoff:
    """An instant-runoff count: one row per round and option still in the race then
    (`round`, `option`, `votes`, `share` of the continuing rankings, `status`, and
    `continuing_ballots`: rankings not yet exhausted), and the winner (None without rankings)."""

    rounds: pl.DataFrame
    winner: str | None


def _ranking_matrix(rankings, weights, options: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(distinct rankings as option indices padded with -1, their total weight, option names)."""
    frame = pl.DataFrame({"r": pl.Series(rankings, dtype=pl.List(pl.String))})
    frame = frame.with_columns(pl.Series("w", np.ones(frame.height) if weights is None else weights,
                                         dtype=pl.Float64))
    grouped = frame.filter(pl.col("r").list.len() > 0).group_by("r").agg(pl.col("w").sum()).sort("r")
    named = set(grouped["r"].explode().drop_nulls().to_list()) | set(options or ())
    names = sorted(named)
    index = {name: i for i, name in enumerate(names)}
    width = int(grouped["r"].list.len().max() or 0)
    coded = grouped["r"].list.eval(pl.element().replace_strict(index, default=-1, return_dtype=pl.Int64))
    matrix = np.full((grouped.height, width), -1, dtype=np.int64)
    for k in range(width):
        matrix[:, k] = coded.list.get(k, null_on_oob=True).fill_null(-1).to_numpy()
    return matrix, grouped["w"].to_numpy(), names


def _to_eliminate(votes: np.ndarray, first: np.ndarray, active: np.ndarray) -> int:
    """The active option with the fewest votes; ties: fewest first preferences, then the
    option whose name sorts last (indices follow name order)."""
    candidates = np.flatnonzero(active)
    order = np.lexsort((-candidates, first[candidates], votes[candidates]))
    return int(candidates[order[0]])


def instant_runoff(rankings, weights=None, options: Sequence[str] | None = None) -> Runoff:
    """Instant-runoff count of `rankings` (a list column or sequence of option lists, best
    first; `weights` per ranking, default 1; `options` adds options nobody ranked)."""
    matrix, w, names = _ranking_matrix(rankings, weights, options)
    active = np.ones(len(names), dtype=bool)
    rows: list[dict] = []
    first: np.ndarray | None = None
    rows_index = np.arange(matrix.shape[0])
    for number in range(1, len(names) + 1):
        continuing = (matrix >= 0) & active[np.clip(matrix, 0, None)]
        has = continuing.any(axis=1)
        top = matrix[rows_index, continuing.argmax(axis=1)] if matrix.size else np.zeros(0, dtype=np.int64)
        votes = np.bincount(top[has], weights=w[has], minlength=len(names)).astype(np.float64)
        first = votes.copy() if first is None else first
        total = float(votes[active].sum())
        leader = _leader(votes, first, active)
        done = total > 0 and (votes[leader] * 2 > total or active.sum() == 1)
        out = None if done or total == 0 else _to_eliminate(votes, first, active)
        for option in np.flatnonzero(active):
            status = ELECTED if done and option == leader else ELIMINATED if option == out else CONTINUING
            rows.append({ROUND: number, OPTION: names[option], VOTES: float(votes[option]),
                         SHARE: votes[option] / total if total else None, STATUS: status, BALLOTS: total})
        if done or out is None:
            break
        active[out] = False
    schema = {ROUND: pl.Int32, OPTION: pl.String, VOTES: pl.Float64, SHARE: pl.Float64, STATUS: pl.String,
              BALLOTS: pl.Float64}
    frame = pl.DataFrame(rows, schema=schema)
    winner = frame.filter(pl.col(STATUS) == ELECTED)[OPTION]
    return Runoff(frame, winner[0] if winner.len() else None)


def _leader(votes: np.ndarray, first: np.ndarray, active: np.ndarray) -> int:
    """The active option with the most votes; ties: most first preferences, then the name that
    sorts first."""
    candidates = np.flatnonzero(active)
    order = np.lexsort((candidates, -first[candidates], -votes[candidates]))
    return int(candidates[order[0]])


# ----------------------------------------------------------------------- post-stratification
@dataclass(frozen=True)
class Weights:
    """Weights per sample cell (`cells`: the sample's cells with `weight`), the margins they
    were fitted to (one margin naming every dimension: post-stratification proper), the sweeps
    it took and whether every margin was matched within the tolerance. Cells that no margin
    can place (a dimension unknown, or a category the population lacks) keep weight 1; the
    weights of the others average 1 over their respondents."""

    cells: pl.DataFrame
    margins: tuple[tuple[str, ...], ...]
    iterations: int
    converged: bool


def population_margins(population: pl.DataFrame, dims: Sequence[str], target: str = TARGET
                       ) -> list[tuple[tuple[str, ...], pl.DataFrame]]:
    """The population's rows grouped by which dimensions they name (a null dimension: all of
    it): [(dimensions, their categories with `target` summed)], finest first."""
    named = population.with_columns(pl.concat_str([pl.col(d).is_not_null().cast(pl.Int8).cast(pl.String) for d in dims],
                                                  separator="").alias("_pattern"))
    margins = []
    for pattern in sorted(set(named["_pattern"].to_list()), key=lambda p: (-p.count("1"), p[::-1])):
        keys = tuple(d for d, flag in zip(dims, pattern, strict=True) if flag == "1")
        if keys:
            rows = named.filter(pl.col("_pattern") == pattern).group_by(keys).agg(pl.col(target).sum())
            margins.append((keys, rows.filter(pl.col(target) > 0).sort(keys)))
    return margins


def _category_codes(cells: pl.DataFrame, keys: tuple[str, ...], margin: pl.DataFrame) -> np.ndarray:
    """Each cell's category in `margin` (its row number), -1 where the margin lacks it."""
    coded = margin.select(*keys, pl.int_range(pl.len(), dtype=pl.Int64).alias(_CATEGORY))
    joined = cells.select(keys).join(coded, on=list(keys), how="left", maintain_order="left", nulls_equal=False)
    return joined[_CATEGORY].fill_null(-1).to_numpy()


def post_stratification_weights(sample: pl.DataFrame, population: pl.DataFrame, count: str = COUNT,
                                target: str = TARGET, max_iterations: int = 200,
                                tolerance: float = 1e-9) -> Weights:
    """Weights per cell of `sample` (dimension columns + `count` respondents) fitted to
    `population` (dimension columns, null where a row is a margin over that dimension, + `target`
    residents). Raking by iterative proportional fitting; a population of full cells converges
    in one sweep. Categories of a margin that the sample lacks are left out and the margin's
    remaining categories renormalised (their residents cannot be represented)."""
    dims = [c for c in population.columns if c != target]
    margins = population_margins(population, dims, target)
    n = sample[count].cast(pl.Float64).to_numpy()
    codes = [_category_codes(sample, keys, margin) for keys, margin in margins]
    known = np.all([c >= 0 for c in codes], axis=0) if codes else np.zeros(len(n), dtype=bool)
    known &= n > 0
    weights = np.ones(len(n))
    goals = [_targets(margin[target].to_numpy(), code, known, n) for (_k, margin), code in zip(margins, codes, strict=True)]
    iterations, converged = 0, not known.any()
    while not converged and iterations < max_iterations:
        iterations += 1
        for code, goal in zip(codes, goals, strict=True):
            totals = np.bincount(code[known], weights=(n * weights)[known], minlength=len(goal))
            factor = np.divide(goal, totals, out=np.ones_like(goal), where=totals > 0)
            weights[known] *= factor[code[known]]
        converged = all(_matches(code, goal, known, n * weights, tolerance) for code, goal in zip(codes, goals, strict=True))
    cells = sample.with_columns(pl.Series(WEIGHT, weights, dtype=pl.Float64))
    return Weights(cells, tuple(keys for keys, _m in margins), iterations, converged)


def _targets(residents: np.ndarray, code: np.ndarray, known: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Respondents each category should weigh: its residents' share among the categories the
    sample has, times the weighted respondents."""
    present = np.zeros(len(residents), dtype=bool)
    present[code[known]] = True
    kept = np.where(present, residents.astype(np.float64), 0.0)
    return kept / kept.sum() * n[known].sum() if kept.sum() > 0 else kept


def _matches(code: np.ndarray, goal: np.ndarray, known: np.ndarray, weighted: np.ndarray,
             tolerance: float) -> bool:
    totals = np.bincount(code[known], weights=weighted[known], minlength=len(goal))
    return bool(np.all(np.abs(totals - goal) <= tolerance * max(float(goal.sum()), 1.0)))
