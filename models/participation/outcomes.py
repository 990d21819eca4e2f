"""Which projects a participatory-budget vote funds: greedy by score, and the Method of Equal Shares.

Both rules are written here by hand, in numpy, because no library computes the Method of Equal
Shares vectorised over voters: the reference implementation (pabutools) walks the voters one by
one in exact rational arithmetic (gmpy2 fractions), which takes seconds to minutes on a
city-wide vote. pabutools is the oracle of the tests only; UrbanPulse never imports it.

Conventions shared with the reference (so that both select the same projects):

* Ties are broken by `tie_order` (rank 0 wins). The reference breaks ties by project *name*
  compared as Python strings (code-point order, so "1109" < "214" < "93", not numeric order);
  `lexicographic_tie_order(names)` builds that rank.
* Approval ballots (`utilities is None`) give a supporter a utility equal to the project's cost
  ("cost satisfaction"). Cardinal ballots (cumulative or scoring points) give the points
  ("additive cardinal satisfaction"); a support entry with 0 points is not a supporter.
  Ordinal ballots are converted by the caller to points `max_length - rank + 1` (rank 1 is the
  first choice; `max_length` is the election's, else the longest ballot) and handled as cardinal.
* The reference computes in exact fractions; here money is float64, counted in units of
  1/n_voters of the currency so that a voter's share is the budget itself (exact for integral
  budgets). Two effective prices (rho) within `REL_TOL` of each other are a tie, a project whose
  supporters hold at least (1 - REL_TOL) of its cost is affordable, and a budget left below
  `REL_TOL` of the share is spent: this absorbs float rounding, so the outcomes can only differ
  where exact arithmetic separates two quantities by less than one part in 10^9.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

REL_TOL = 1e-9
COMPLETIONS = ("none", "add1")


@dataclass(frozen=True)
class Instance:
    """A vote: projects 0..P-1 with `costs` (> 0, currency units), voters 0..n_voters-1, and one
    support entry (`voters[i]`, `projects[i]`) per distinct (voter, project) pair.

    `utilities` is None for approval ballots (utility = cost), else the points of each entry.
    `tie_order` is each project's rank in tie-breaks (0 wins); see `lexicographic_tie_order`.
    """

    costs: np.ndarray
    budget: float
    voters: np.ndarray
    projects: np.ndarray
    utilities: np.ndarray | None
    n_voters: int
    tie_order: np.ndarray


def lexicographic_tie_order(project_names: Sequence[str]) -> np.ndarray:
    """Rank of each project when names are compared as strings (the reference's tie-break)."""
    ranks = np.empty(len(project_names), dtype=np.int64)
    ranks[sorted(range(len(project_names)), key=lambda index: str(project_names[index]))] = (
        np.arange(len(project_names)))
    return ranks


def greedy_selection(costs: np.ndarray, scores: np.ndarray, budget: float,
                     threshold: float | None = None,
                     tie_order: np.ndarray | None = None) -> np.ndarray:
    """Projects funded by descending score: each one that still fits is funded, else skipped.

    Ties in score go to the lower `tie_order` (default: the lower index). A project scoring below
    `threshold` is never funded. With scores = votes this is the Pabulib `greedy` rule (and
    `greedy-threshold` with the election's `min_project_score_threshold`) and the reference's
    greedy with cost satisfaction; with scores = votes / cost (or points / cost) it is the
    reference's greedy with cardinality (or additive cardinal) satisfaction. Without a threshold
    a project nobody chose is still funded if it fits, as there.
    """
    costs, scores = np.asarray(costs), np.asarray(scores)
    order_in_ties = np.arange(len(costs)) if tie_order is None else np.asarray(tie_order)
    eligible = np.ones(len(costs), bool) if threshold is None else scores >= threshold
    selected = np.zeros(len(costs), dtype=bool)
    remaining = budget  # a walk over the P projects: each decision depends on the ones before
    for project in np.lexsort((order_in_ties, -scores)):
        cost = costs[project].item()  # a Python int for integral costs: exact sums
        if eligible[project] and cost <= remaining:
            selected[project] = True
            remaining -= cost
    return selected


class _Support(NamedTuple):
    """The support entries of supported projects, sorted by project."""

    project: np.ndarray
    voter: np.ndarray
    utility: np.ndarray
    supported: np.ndarray  # (P,) bool: the project has a supporter, so equal shares may fund it


def _support_of(instance: Instance) -> _Support:
    project = np.asarray(instance.projects, dtype=np.int64)
    voter = np.asarray(instance.voters, dtype=np.int64)
    costs = np.asarray(instance.costs, dtype=np.float64)
    if instance.utilities is None:
        utility = costs[project]
    else:
        utility = np.asarray(instance.utilities, dtype=np.float64)
        keep = utility > 0
        project, voter, utility = project[keep], voter[keep], utility[keep]
    narrow = project.astype(np.int16) if len(costs) < 2**15 else project  # numpy radix-sorts 16-bit keys
    order = np.argsort(narrow, kind="stable")
    supported = np.bincount(project, minlength=len(costs)) > 0
    return _Support(project[order], voter[order], utility[order], supported)


def _segments(support: _Support, n_projects: int) -> np.ndarray:
    """Offsets of each project's entries in `support` (sorted by project): entries of project p
    are `[offsets[p], offsets[p + 1])`."""
    return np.r_[0, np.cumsum(np.bincount(support.project, minlength=n_projects))]


def _price(voters: np.ndarray, utility: np.ndarray, budgets: np.ndarray, cost: float) -> float:
    """A project's rho: the smallest price per unit of utility its supporters can pay.

    Supporters are sorted by budget / utility; the k-th candidate price is
    (cost - budgets of the k poorer) / (utilities of the others), and rho is the first candidate
    the k-th supporter can pay in full (the poorer ones pay all they have).
    """
    budget = budgets[voters]
    order = np.argsort(budget / utility, kind="stable")
    budget, utility = budget[order], utility[order]
    paid_by_poorer = np.cumsum(budget) - budget
    utility_of_rest = utility.sum() - (np.cumsum(utility) - utility)
    candidate = (cost - paid_by_poorer) / utility_of_rest
    payable = candidate * utility <= budget
    return float(candidate[int(np.argmax(payable)) if payable.any() else len(candidate) - 1])


def _first_in_tie_order(prices: np.ndarray, tie_order: np.ndarray) -> int:
    tied = np.flatnonzero(prices <= prices.min() * (1 + REL_TOL))
    return int(tied[np.argmin(tie_order[tied])])


def _cheapest(support: _Support, offsets: np.ndarray, budgets: np.ndarray, costs: np.ndarray,
              bounds: np.ndarray, still_open: np.ndarray, tie_order: np.ndarray) -> int:
    """The open project with the smallest rho (ties by `tie_order`), computing few prices.

    A project's rho never falls from one round to the next (budgets only shrink), so last
    round's prices are lower bounds (`bounds`, updated in place). Only the projects whose bound
    is within the tie band of the smallest exact price found so far are priced again; every
    other project is dearer for sure. On a city-wide vote that is a handful of projects a round
    instead of all of them.
    """
    fresh = np.zeros(len(costs), dtype=bool)
    while True:
        known = np.where(fresh & still_open, bounds, np.inf)
        stale = still_open & ~fresh
        if np.isfinite(known.min()):
            band = np.flatnonzero(stale & (bounds <= known.min() * (1 + REL_TOL)))
            if not band.size:
                return _first_in_tie_order(known, tie_order)
        else:  # nothing priced this round yet: the project with the lowest bound first
            band = [_first_in_tie_order(np.where(stale, bounds, np.inf), tie_order)]
        for project in band:
            entries = slice(offsets[project], offsets[project + 1])
            bounds[project] = _price(support.voter[entries], support.utility[entries], budgets, costs[project])
            fresh[project] = True


def _equal_shares_run(instance: Instance, support: _Support, voter_budget: float) -> np.ndarray:
    """One run of equal shares, every voter starting with `voter_budget` (in 1/n_voters units).

    Each round drops the projects whose supporters cannot pay the cost any more (budgets only
    shrink, so they never come back), funds the project with the smallest rho (ties by
    `tie_order`) and charges each of its supporters min(budget, rho * utility).
    """
    costs = np.asarray(instance.costs, dtype=np.float64) * instance.n_voters
    tie_order = np.asarray(instance.tie_order)
    budgets = np.full(instance.n_voters, float(voter_budget))
    offsets = _segments(support, len(costs))
    bounds = np.zeros(len(costs))
    still_open = support.supported.copy()
    selected = np.zeros(len(costs), dtype=bool)
    while True:
        available = np.bincount(support.project, weights=budgets[support.voter], minlength=len(costs))
        still_open &= available >= costs * (1 - REL_TOL)
        if not still_open.any():
            return selected
        winner = _cheapest(support, offsets, budgets, costs, bounds, still_open, tie_order)
        selected[winner], still_open[winner] = True, False
        entries = slice(offsets[winner], offsets[winner + 1])
        payers = support.voter[entries]
        left = budgets[payers] - bounds[winner] * support.utility[entries]
        budgets[payers] = np.where(left > REL_TOL * voter_budget, left, 0.0)


def _is_exhaustive(instance: Instance, selected: np.ndarray, candidates: np.ndarray) -> bool:
    """No candidate project left out would still fit in the budget."""
    costs = np.asarray(instance.costs)
    spent = costs[selected].sum()
    return not np.any(candidates & ~selected & (costs + spent <= instance.budget))


def equal_shares(instance: Instance, completion: str = "none") -> np.ndarray:
    """The Method of Equal Shares: the selected projects, as a (P,) bool array.

    The budget is split equally among `n_voters` (voters without an entry count too). Round by
    round, the project that its supporters can fund at the smallest price per unit of utility
    (rho; with cost utilities 1 / rho is its "effective vote count") is funded by them, each paying rho * utility or all they have left; it stops when no
    project's supporters can pay its cost. Projects nobody supports are never funded.

    completion="add1": the reference's iterated variant (`voter_budget_increment=1`): the run is
    repeated with each voter's share raised by 1 currency unit until the outcome is exhaustive
    among the supported projects (then it is returned) or costs more than the budget (then the
    previous outcome is returned, the plain run's if the first raise already overspends). This
    is neither a greedy top-up of the outcome (`completion_by_rule_combination` there) nor a
    raise of the total budget by 1% steps (`exhaustion_by_budget_increase` there).
    """
    if completion not in COMPLETIONS:
        raise ValueError(f"completion must be one of {COMPLETIONS}, not {completion!r}")
    support = _support_of(instance)
    selected = np.zeros(len(instance.costs), dtype=bool)
    if instance.n_voters == 0:
        return selected
    voter_budget = float(instance.budget)  # one voter's share, in 1/n_voters currency units
    while True:
        outcome = _equal_shares_run(instance, support, voter_budget)
        if completion == "none":
            return outcome
        if np.asarray(instance.costs)[outcome].sum() > instance.budget:
            return selected
        if _is_exhaustive(instance, outcome, support.supported):
            return outcome
        selected, voter_budget = outcome, voter_budget + instance.n_voters
