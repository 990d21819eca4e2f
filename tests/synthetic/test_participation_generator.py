"""Synthetic participation for the demo city: Pabulib elections (approval, ordinal, cumulative)
and a resident survey, read back from the files the way an ingest would read them.

The `.pb` files are parsed with the csv module alone: their `votes`, `score` and `selected`
columns must agree with a recount of their own VOTES section.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import shapely
from polars.testing import assert_frame_equal

from models.cities.pack import CityPack
from schemas.participation import AGE_BANDS
from synthetic.demo_city import build_demo_city
from synthetic.participation.generator import (
    KINDS,
    GeneratedVote,
    generate_votes,
    write_pabulib,
    write_survey_csv,
)
from synthetic.participation.population import population_age_weights, population_mean_age
from synthetic.participation.survey import pick_questions
from synthetic.requests.generator import SyntheticDataError

SEED = 11
BALLOTS = {"approval": 20_000, "ordinal": 6_000, "cumulative": 6_000, "survey": 4_000}
META_KEYS = [
    "description", "country", "unit", "instance", "num_projects", "num_votes", "budget",
    "vote_type", "rule", "date_begin", "date_end", "min_length", "max_length",
]
TAIL_KEYS = ["language", "currency"]
PROJECT_HEADER = ["project_id", "cost", "votes", "name", "category", "selected", "latitude",
                  "longitude", "district"]
VOTE_HEADER = ["voter_id", "vote", "age", "sex", "voting_method", "neighborhood"]


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> CityPack:
    return build_demo_city(tmp_path_factory.mktemp("cities") / "demo")


@pytest.fixture(scope="module")
def votes(pack: CityPack) -> dict[str, GeneratedVote]:
    return {kind: generate_votes(pack, BALLOTS[kind], seed=SEED, kind=kind) for kind in KINDS}


def read_pb(path: Path) -> dict[str, tuple[list[str], list[dict[str, str]]]]:
    """Section name -> (header, rows as dicts), read with the csv module only."""
    sections: dict[str, tuple[list[str], list[dict[str, str]]]] = {}
    header: list[str] | None = None
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter=";"):
            if len(row) == 1 and row[0] in ("META", "PROJECTS", "VOTES"):
                name, header = row[0], None
                continue
            if header is None:
                header = row
                sections[name] = (header, [])
                continue
            sections[name][1].append(dict(zip(header, row, strict=True)))
    return sections


def greedy(projects: list[dict[str, str]], tally: str, budget: int) -> list[str]:
    """`selected` as a reader recomputes it: by tally descending (file order on ties)."""
    left, chosen = budget, []
    for project in sorted(projects, key=lambda p: -int(p[tally])):
        if int(project["cost"]) <= left:
            left -= int(project["cost"])
            chosen.append(project["project_id"])
    return chosen


def recount(ballots: list[dict[str, str]], with_points: bool) -> tuple[dict, dict]:
    votes: dict[str, int] = {}
    score: dict[str, int] = {}
    for ballot in ballots:
        choices = ballot["vote"].split(",")
        points = ballot["points"].split(",") if with_points else ["1"] * len(choices)
        for project, point in zip(choices, points, strict=True):
            votes[project] = votes.get(project, 0) + 1
            score[project] = score.get(project, 0) + int(point)
    return votes, score


def test_counts_ids_and_meta(votes: dict[str, GeneratedVote]) -> None:
    vote = votes["approval"]
    ballots, projects, meta = vote.ballots, vote.projects, vote.meta
    assert ballots.height == BALLOTS["approval"] == int(meta["num_votes"])
    assert ballots.get_column("voter_id").is_unique().all()
    assert projects.get_column("project_id").is_unique().all()
    assert 40 <= projects.height <= 120 and projects.height == int(meta["num_projects"])
    assert list(meta) == [*META_KEYS, *TAIL_KEYS]
    assert (meta["vote_type"], meta["max_length"], meta["currency"]) == ("approval", "5", "RUB")
    assert 0.30 <= int(meta["budget"]) / projects.get_column("cost").sum() <= 0.40
    assert 0.5 < projects.get_column("cost").median() / 1e6 < 5  # roubles, log-normal
    assert projects.get_column("name").str.contains("[А-Яа-яЁё]").all()
    assert set(projects.get_column("category").str.split(",").explode()) <= {
        "благоустройство", "транспорт", "экология", "культура", "спорт", "образование",
        "здравоохранение",
    }


def test_same_seed_same_output_other_seed_differs(
    pack: CityPack, votes: dict[str, GeneratedVote], tmp_path: Path
) -> None:
    for kind in ("approval", "survey"):
        again = generate_votes(pack, BALLOTS[kind], seed=SEED, kind=kind)
        assert again.meta == votes[kind].meta
        assert_frame_equal(again.projects, votes[kind].projects)
        assert_frame_equal(again.ballots, votes[kind].ballots)
    assert_frame_equal(again.answers, votes["survey"].answers)
    first = write_pabulib(votes["approval"], tmp_path / "a.pb").read_bytes()
    second = write_pabulib(generate_votes(pack, BALLOTS["approval"], SEED), tmp_path / "b.pb")
    assert first == second.read_bytes()
    other = generate_votes(pack, BALLOTS["approval"], seed=SEED + 1)
    assert not other.ballots.get_column("vote").equals(votes["approval"].ballots.get_column("vote"))


def test_approval_file_round_trip(votes: dict[str, GeneratedVote], tmp_path: Path) -> None:
    vote = votes["approval"]
    sections = read_pb(write_pabulib(vote, tmp_path / "approval.pb"))
    meta = {row["key"]: row["value"] for row in sections["META"][1]}
    (project_header, projects), (vote_header, ballots) = sections["PROJECTS"], sections["VOTES"]
    assert sections["META"][0] == ["key", "value"] and meta == vote.meta
    assert project_header == PROJECT_HEADER and vote_header == VOTE_HEADER
    assert len(projects) == int(meta["num_projects"]) and len(ballots) == int(meta["num_votes"])
    counted, _ = recount(ballots, with_points=False)
    assert {p["project_id"]: int(p["votes"]) for p in projects} == {
        p["project_id"]: counted.get(p["project_id"], 0) for p in projects
    }
    selected = [p["project_id"] for p in projects if p["selected"] == "1"]
    assert selected == greedy(projects, "votes", int(meta["budget"]))
    assert sum(int(p["cost"]) for p in projects if p["selected"] == "1") <= int(meta["budget"])
    assert all(1 <= len(b["vote"].split(",")) <= 5 for b in ballots)
    assert {b["sex"] for b in ballots} == {"M", "F", ""}
    assert {b["voting_method"] for b in ballots} == {"internet", "paper"}
    assert datetime.strptime(meta["date_begin"], "%d.%m.%Y") < datetime.strptime(
        meta["date_end"], "%d.%m.%Y"
    )


def test_pabutools_reads_the_files(pack: CityPack, tmp_path: Path) -> None:
    pabulib = pytest.importorskip("pabutools.election.pabulib")
    for kind in ("approval", "ordinal", "cumulative"):
        vote = generate_votes(pack, 1_500, seed=SEED, kind=kind)
        instance, profile = pabulib.parse_pabulib(str(write_pabulib(vote, tmp_path / kind)))
        assert len(instance) == vote.projects.height and len(profile) == vote.ballots.height
        assert int(instance.budget_limit) == int(vote.meta["budget"])


def test_fields_with_separators_are_quoted(
    votes: dict[str, GeneratedVote], tmp_path: Path
) -> None:
    vote = votes["approval"]
    name = 'Сквер «Дружба»; этап 2 "Север"'
    projects = vote.projects.with_columns(pl.lit(name).alias("name"))
    meta = vote.meta | {"description": "Бюджет; демо"}
    path = write_pabulib(GeneratedVote(vote.kind, meta, projects, vote.ballots), tmp_path / "q.pb")
    sections = read_pb(path)
    assert {row["name"] for row in sections["PROJECTS"][1]} == {name}
    assert sections["META"][1][0] == {"key": "description", "value": "Бюджет; демо"}


def test_participation_is_skewed(pack: CityPack, votes: dict[str, GeneratedVote]) -> None:
    ballots = votes["approval"].ballots
    per_district = ballots.group_by("district_id").len().join(
        pack.districts_frame(), on="district_id", how="right"
    )
    by_level = per_district.group_by(pl.col("parent_id") == pack.parent_ids[0]).agg(
        (pl.col("len").sum() / pl.col("population").sum()).alias("per_resident")
    )
    central = by_level.filter(pl.col("parent_id")).item(0, "per_resident")
    outer = by_level.filter(~pl.col("parent_id")).item(0, "per_resident")
    assert pack.parent_ids[0] == "AO-01" and central > 1.4 * outer
    assert 38 <= population_mean_age() <= 42
    assert ballots.get_column("age").mean() > population_mean_age() + 5
    assert ballots.get_column("age").is_between(0, 95).all()
    assert ballots.get_column("age").is_between(35, 70).mean() > 0.55
    assert 0.80 <= (ballots.get_column("voting_method") == "internet").mean() <= 0.90
    paper = ballots.filter(pl.col("voting_method") == "paper").get_column("age").mean()
    assert paper > ballots.get_column("age").mean()
    assert 0.01 < ballots.get_column("sex").is_null().mean() < 0.08
    assert (ballots.get_column("sex") == "F").sum() > (ballots.get_column("sex") == "M").sum()
    neighborhood = ballots.get_column("neighborhood")
    assert 0.01 < (neighborhood == "-").mean() < 0.06
    assert set(neighborhood) <= {*pack.district_names, "-"}
    tally = votes["approval"].projects.get_column("votes")
    assert tally.head(10).sum() > 0.35 * tally.sum()  # a few projects draw most votes


def test_district_projects_are_local_and_placed(
    pack: CityPack, votes: dict[str, GeneratedVote]
) -> None:
    vote = votes["approval"]
    projects = vote.projects
    citywide = projects.get_column("district").is_null()
    assert 0.1 < citywide.mean() < 0.6
    named = vote.ballots.select("district_id", pl.col("vote").str.split(",")).explode("vote")
    home = projects.select(pl.col("project_id").alias("vote"), pl.col("district_id").alias("home"))
    local = named.join(home, on="vote").filter(pl.col("home").is_not_null())
    assert (local.get_column("district_id") == local.get_column("home")).mean() > 0.75
    placed = projects.filter(pl.col("latitude").is_not_null())
    assert 0 < projects.get_column("latitude").is_null().sum() < projects.height / 2
    union = shapely.union_all(pack.geometries)
    by_id = dict(zip(pack.district_ids, pack.geometries, strict=True))
    for row in placed.iter_rows(named=True):
        area = by_id[row["district_id"]] if row["district_id"] else union
        assert area.contains(shapely.Point(row["longitude"], row["latitude"])), row["project_id"]
    names = dict(zip(pack.district_ids, pack.district_names, strict=True))
    for row in projects.filter(~citywide).iter_rows(named=True):
        assert row["district"] == names[row["district_id"]] and row["district"] in row["name"]


@pytest.mark.parametrize("kind", ["ordinal", "cumulative"])
def test_points_ballots_are_valid(
    kind: str, votes: dict[str, GeneratedVote], tmp_path: Path
) -> None:
    sections = read_pb(write_pabulib(votes[kind], tmp_path / f"{kind}.pb"))
    meta = {row["key"]: row["value"] for row in sections["META"][1]}
    (project_header, projects), (vote_header, ballots) = sections["PROJECTS"], sections["VOTES"]
    assert project_header == [*PROJECT_HEADER[:3], "score", *PROJECT_HEADER[3:]]
    assert vote_header == [*VOTE_HEADER[:2], "points", *VOTE_HEADER[2:]]
    low, high = int(meta["min_length"]), int(meta["max_length"])
    for ballot in ballots:
        choices, points = ballot["vote"].split(","), [int(p) for p in ballot["points"].split(",")]
        assert len(set(choices)) == len(choices) == len(points) and low <= len(choices) <= high
        assert points == sorted(points, reverse=True) and min(points) >= 1
        if kind == "ordinal":
            assert points == list(range(high, high - len(points), -1))
        else:
            assert sum(points) <= int(meta["max_sum_points"])
    if kind == "ordinal":
        assert 3 <= high <= 5 and "max_sum_points" not in meta
    else:
        assert (high, meta["max_sum_points"]) == (5, "10")
        spent_all = [sum(map(int, b["points"].split(","))) == 10 for b in ballots]
        assert 0.75 < np.mean(spent_all) < 0.95
    counted, scored = recount(ballots, with_points=True)
    for project in projects:
        assert int(project["votes"]) == counted.get(project["project_id"], 0)
        assert int(project["score"]) == scored.get(project["project_id"], 0)
    selected = [p["project_id"] for p in projects if p["selected"] == "1"]
    assert selected == greedy(projects, "score", int(meta["budget"]))


def test_survey_file_and_skewed_shares(
    pack: CityPack, votes: dict[str, GeneratedVote], tmp_path: Path
) -> None:
    survey = votes["survey"]
    path = write_survey_csv(survey, tmp_path / "survey.csv")
    answers = pl.read_csv(path, schema_overrides={"sex": pl.String})
    assert answers.columns == [
        "respondent_id", "question_id", "answer", "submitted_at", "district", "age", "sex"
    ]
    questions = survey.projects
    assert 3 <= questions.height <= 5
    assert answers.height == BALLOTS["survey"] * questions.height
    assert survey.ballots.get_column("respondent_id").is_unique().all()
    assert set(answers.get_column("district")) <= set(pack.district_names)
    for question in questions.iter_rows(named=True):
        given = answers.filter(pl.col("question_id") == question["question_id"])["answer"]
        if question["question_type"] == "ranked":
            parts = given.str.split(">")
            assert (parts.list.len() == 3).all() and (parts.list.n_unique() == 3).all()
            assert set(parts.explode()) <= set(question["options"])
        else:
            assert set(given) <= set(question["options"])
    stamps = [datetime.fromisoformat(s) for s in answers.get_column("submitted_at").head(200)]
    assert all(s.utcoffset().total_seconds() == 3 * 3600 for s in stamps)
    assert all(s.strftime("%Y-%m") == "2026-06" for s in stamps)
    assert questions.filter(pl.col("question_type") == "yes_no").height >= 1
    raw, stratified = _yes_shares(answers)
    assert abs(raw - stratified) > 0.03
    central_names = [n for n, p in zip(pack.district_names, pack.parent_ids, strict=True)
                     if p == pack.parent_ids[0]]
    yes = answers.filter(pl.col("question_id") == "q2").group_by(
        pl.col("district").is_in(central_names)
    ).agg((pl.col("answer") == "да").mean())
    assert yes.get_column("answer").max() - yes.get_column("answer").min() > 0.03


def _yes_shares(answers: pl.DataFrame) -> tuple[float, float]:
    """Raw share of "да" to q2, and the share post-stratified to the city's age x sex cells
    (ages from `population_age_weights`, half of each age female)."""
    ages = population_age_weights()
    bands = pl.DataFrame(
        {"band": [label for _, _, label in AGE_BANDS],
         "population": [ages[low:high + 1].sum() for low, high, _ in AGE_BANDS]}
    )
    band_of_age = {age: label for low, high, label in AGE_BANDS for age in range(low, high + 1)}
    q2 = answers.filter((pl.col("question_id") == "q2") & pl.col("sex").is_not_null()).with_columns(
        pl.col("age").replace_strict(band_of_age, return_dtype=pl.String).alias("band"),
        (pl.col("answer") == "да").alias("yes"),
    )
    cells = q2.group_by("band", "sex").agg(pl.col("yes").mean()).join(bands, on="band")
    cells = cells.with_columns(pl.col("population") / 2)
    stratified = (cells["yes"] * cells["population"]).sum() / cells["population"].sum()
    return float(q2.get_column("yes").mean()), float(stratified)


def test_question_count_and_bad_arguments(
    pack: CityPack, votes: dict[str, GeneratedVote], tmp_path: Path
) -> None:
    counts = {len(pick_questions(np.random.default_rng(seed))) for seed in range(40)}
    assert counts == {3, 4, 5}
    with pytest.raises(SyntheticDataError, match="unknown kind"):
        generate_votes(pack, 10, kind="scoring")
    with pytest.raises(SyntheticDataError, match="positive"):
        generate_votes(pack, 0)
    with pytest.raises(SyntheticDataError, match="write_survey_csv"):
        write_pabulib(votes["survey"], tmp_path / "s.pb")
    with pytest.raises(SyntheticDataError, match="write_pabulib"):
        write_survey_csv(votes["approval"], tmp_path / "a.csv")
