"""Greedy and equal shares equal the reference implementation (pabutools), on Warsaw and at random.

pabutools computes in exact fractions, voter by voter; it is the oracle here, never a dependency
of UrbanPulse. Random elections use few distinct costs and small electorates so that ties (broken
by project name as a string) happen often.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from pabutools.election import (
    AbstractApprovalProfile,
    Additive_Cardinal_Sat,
    ApprovalBallot,
    ApprovalProfile,
    CardinalBallot,
    Cardinality_Sat,
    CardinalProfile,
    Cost_Sat,
    CumulativeBallot,
    CumulativeProfile,
    parse_pabulib,
)
from pabutools.election import Instance as ReferenceInstance
from pabutools.election import Project as ReferenceProject
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares
from samples import sample_file

from models.participation.outcomes import (
    Instance,
    equal_shares,
    greedy_selection,
    lexicographic_tie_order,
)

WARSAW = ("participation", "Poland_Warszawa_2026.pb")
COSTS = np.array([100, 150, 200, 250, 300, 400, 500, 800, 1000])


def read_pabulib(path) -> dict:
    """The sections of a .pb file: META as a dict, PROJECTS and VOTES as lists of dicts."""
    sections: dict[str, list[list[str]]] = {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.reader(handle, delimiter=";"):
            if row and row[0].strip().lower() in ("meta", "projects", "votes"):
                current = sections.setdefault(row[0].strip().lower(), [])
            elif row:
                current.append(row)
    tables = {name: [dict(zip(rows[0], row)) for row in rows[1:]] for name, rows in sections.items()}
    return {"meta": {row["key"]: row["value"] for row in tables["meta"]},
            "projects": tables["projects"], "votes": tables["votes"]}


@pytest.fixture(scope="module")
def warsaw() -> tuple[dict, Instance, list[str]]:
    path = sample_file(*WARSAW)
    if not path.exists():
        pytest.skip(reason=f"{path} is absent")
    election = read_pabulib(path)
    names = [row["project_id"] for row in election["projects"]]
    index = {name: position for position, name in enumerate(names)}
    entries = [(voter, index[name]) for voter, row in enumerate(election["votes"])
               for name in row["vote"].split(",") if name]
    voters, projects = np.array(entries).T
    costs = np.array([int(row["cost"]) for row in election["projects"]])
    instance = Instance(costs, int(election["meta"]["budget"]), voters, projects, None,
                        len(election["votes"]), lexicographic_tie_order(names))
    return election, instance, names


def test_greedy_with_threshold_reproduces_warsaw_selection(warsaw) -> None:
    election, instance, _ = warsaw
    votes = np.array([int(row["votes"]) for row in election["projects"]])
    assert np.bincount(instance.projects, minlength=len(votes)).tolist() == votes.tolist()
    selected = greedy_selection(instance.costs, votes, instance.budget,
                                threshold=int(election["meta"]["min_project_score_threshold"]),
                                tie_order=instance.tie_order)
    assert selected.tolist() == [row["selected"] == "1" for row in election["projects"]]


def test_equal_shares_equals_reference_on_warsaw(warsaw) -> None:
    _, instance, names = warsaw
    reference_instance, profile = parse_pabulib(str(sample_file(*WARSAW)))
    expected = method_of_equal_shares(reference_instance, profile, sat_class=Cost_Sat)
    assert selected_names(equal_shares(instance), names) == {p.name for p in expected}


def selected_names(selected: np.ndarray, names: list[str]) -> set[str]:
    return {names[position] for position in np.flatnonzero(selected)}


def random_election(seed: int, kind: str, max_voters: int = 500, tie_heavy: bool = False):
    """(our instance, project names, reference instance, reference profile) of one random vote.

    kind: "approval", "scoring" (0-5 points, 0 = not a supporter), "cumulative" (10 points spread
    over the chosen projects) or "ordinal" (rankings as points max_length - rank + 1).
    tie_heavy: two costs and four distinct ballots, so that which tied project wins often
    changes the outcome.
    """
    rng = np.random.default_rng(seed)
    n_projects, n_voters = int(rng.integers(5, 41)), int(rng.integers(20, max_voters + 1))
    costs = (rng.choice([100, 200], n_projects) if tie_heavy
             else rng.choice(COSTS, n_projects) * rng.integers(1, 4, n_projects))
    budget = int(costs.sum() * rng.uniform(0.15, 0.7))
    names = [str(name) for name in rng.choice(1000, n_projects, replace=False)]
    popularity = rng.beta(1.2, 4.0, n_projects)
    templates = [choose(rng, kind, popularity) for _ in range(4 if tie_heavy else n_voters)]
    ballots = [templates[int(rng.integers(len(templates)))] if tie_heavy else templates[voter]
               for voter in range(n_voters)]
    entries = [(voter, project, points) for voter, ballot in enumerate(ballots)
               for project, points in ballot.items()]
    voters, projects, points = (np.array(column) for column in zip(*entries))
    ours = Instance(costs, budget, voters, projects, None if kind == "approval" else points,
                    n_voters, lexicographic_tie_order(names))
    reference_projects = [ReferenceProject(name, int(cost)) for name, cost in zip(names, costs)]
    reference = ReferenceInstance(reference_projects, budget_limit=budget)
    return ours, names, reference, reference_profile(kind, ballots, reference_projects)


def choose(rng: np.random.Generator, kind: str, popularity: np.ndarray) -> dict[int, int]:
    """One voter's ballot: project index -> points (1 for approval)."""
    if kind == "ordinal":
        max_length = 5
        length = int(rng.integers(0, max_length + 1))
        ranked = rng.choice(len(popularity), length, replace=False, p=popularity / popularity.sum())
        return {int(project): max_length - rank for rank, project in enumerate(ranked)}
    chosen = np.flatnonzero(rng.random(len(popularity)) < popularity)
    if kind == "approval":
        return {int(project): 1 for project in chosen}
    if kind == "scoring":
        return {int(project): int(rng.integers(0, 6)) for project in chosen}
    spread = rng.multinomial(10, np.full(len(chosen), 1 / len(chosen))) if len(chosen) else []
    return {int(project): int(points) for project, points in zip(chosen, spread)}


def reference_profile(kind: str, ballots: list[dict[int, int]], projects: list):
    if kind == "approval":
        return ApprovalProfile([ApprovalBallot(projects[p] for p in ballot) for ballot in ballots])
    ballot_type, profile_type = ((CumulativeBallot, CumulativeProfile) if kind == "cumulative"
                                 else (CardinalBallot, CardinalProfile))
    return profile_type([ballot_type({projects[p]: points for p, points in ballot.items()})
                         for ballot in ballots])


def reference_equal_shares(reference, profile, **options) -> set[str]:
    sat_class = Cost_Sat if isinstance(profile, AbstractApprovalProfile) else Additive_Cardinal_Sat
    outcome = method_of_equal_shares(reference, profile, sat_class=sat_class, **options)
    return {project.name for project in outcome}


def assert_rules_equal_reference(kind: str, ours: Instance, names: list[str], reference,
                                 profile) -> None:
    """Greedy (by votes and by votes per cost, or by points per cost) and MES, both sides."""
    weights = None if kind == "approval" else ours.utilities
    scores = np.bincount(ours.projects, weights=weights, minlength=len(names))
    greedy_cases = [(scores / ours.costs,
                     Cardinality_Sat if kind == "approval" else Additive_Cardinal_Sat)]
    if kind == "approval":  # cost satisfaction: total utility / cost = the number of votes
        greedy_cases.append((scores, Cost_Sat))
    for our_scores, sat_class in greedy_cases:
        selected = greedy_selection(ours.costs, our_scores, ours.budget, tie_order=ours.tie_order)
        expected = greedy_utilitarian_welfare(reference, profile, sat_class=sat_class)
        assert selected_names(selected, names) == {p.name for p in expected}, sat_class
    assert selected_names(equal_shares(ours), names) == reference_equal_shares(reference, profile)


@pytest.mark.parametrize("seed", range(30))
def test_approval_rules_equal_reference(seed: int) -> None:
    assert_rules_equal_reference("approval", *random_election(seed, "approval"))


@pytest.mark.parametrize("kind", ["scoring", "cumulative", "ordinal"])
@pytest.mark.parametrize("seed", range(100, 110))
def test_cardinal_rules_equal_reference(seed: int, kind: str) -> None:
    assert_rules_equal_reference(kind, *random_election(seed, kind))


@pytest.mark.parametrize("kind", ["approval", "scoring", "cumulative", "ordinal"])
@pytest.mark.parametrize("seed", range(400, 410))
def test_tie_heavy_rules_equal_reference(seed: int, kind: str) -> None:
    assert_rules_equal_reference(kind, *random_election(seed, kind, tie_heavy=True))


@pytest.mark.parametrize("tie_heavy", [False, True])
@pytest.mark.parametrize("kind", ["approval", "scoring", "cumulative", "ordinal"])
@pytest.mark.parametrize("seed", range(200, 206))
def test_add1_completion_equals_reference(seed: int, kind: str, tie_heavy: bool) -> None:
    ours, names, reference, profile = random_election(seed, kind, 150, tie_heavy)
    expected = reference_equal_shares(reference, profile, voter_budget_increment=1)
    assert selected_names(equal_shares(ours, completion="add1"), names) == expected


def test_threshold_never_funds_low_scores_and_greedy_skips_what_does_not_fit() -> None:
    costs, scores = np.array([60, 50, 30, 10]), np.array([9, 8, 7, 2])
    assert greedy_selection(costs, scores, 100).tolist() == [True, False, True, True]
    assert greedy_selection(costs, scores, 100, threshold=5).tolist() == [True, False, True, False]


def test_ties_go_to_the_lexicographically_first_name() -> None:
    assert lexicographic_tie_order(["93", "214", "1109"]).tolist() == [2, 1, 0]
    costs, scores = np.array([10, 10, 10]), np.array([5, 5, 5])
    tie_order = lexicographic_tie_order(["93", "214", "1109"])
    assert greedy_selection(costs, scores, 10, tie_order=tie_order).tolist() == [False, False, True]


def test_equal_shares_splits_the_budget_between_groups() -> None:
    """Three voters for project 0, one for 1 and 2: the minority's share funds its cheaper project."""
    instance = Instance(costs=np.array([30, 10, 12]), budget=40, voters=np.array([0, 1, 2, 3, 3]),
                        projects=np.array([0, 0, 0, 1, 2]), utilities=None, n_voters=4,
                        tie_order=np.arange(3))
    assert equal_shares(instance).tolist() == [True, True, False]
    with pytest.raises(ValueError, match="completion"):
        equal_shares(instance, completion="greedy")
