"""Synthetic participation data for a city pack, in the formats real platforms publish.

`generate_votes` draws a participatory-budget election (approval, ordinal or cumulative
ballots) or a resident survey from one seed: the same pack, seed and arguments give identical
frames. `write_pabulib` writes an election as a Pabulib `.pb` file (pabulib.org: sections META,
PROJECTS and VOTES, `;` separated), with `votes`, `score` and `selected` computed from the
generated ballots, so a reader can check its own tallies against the file. `write_survey_csv`
writes a survey as one CSV row per respondent x question.

Participation is skewed like real data: higher turnout in the central okrug, among older
residents and among women (`synthetic.participation.population`); a few popular projects take
most votes and district projects are backed mostly by their own district
(`synthetic.participation.projects`, `synthetic.participation.ballots`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from models.cities.pack import CityPack
from synthetic.participation import ballots as bl
from synthetic.participation import survey as sv
from synthetic.participation.population import (
    Participants,
    draw_participants,
    neighborhoods,
    voting_methods,
)
from synthetic.participation.projects import draw_budget, draw_projects, greedy_selected
from synthetic.requests.generator import SyntheticDataError

KINDS = ("approval", "ordinal", "cumulative", "survey")
BALLOT_KINDS = KINDS[:3]
DEFAULT_ELECTION = "2026"
VOTING_BEGIN = datetime(2026, 6, 1)
VOTING_DAYS = 15
APPROVAL_MAX_LENGTH = 5
ORDINAL_MAX_LENGTHS = (3, 5)  # drawn per election, inclusive
CUMULATIVE_MAX_LENGTH = 5
PB_PROJECT_COLUMNS = ("project_id", "cost", "votes", "name", "category", "selected",
                      "latitude", "longitude", "district")
PB_VOTE_COLUMNS = ("voter_id", "vote", "age", "sex", "voting_method", "neighborhood")


@dataclass(frozen=True)
class GeneratedVote:
    """One generated election or survey.

    `meta` is the Pabulib META block (for a survey: its id, title and window). `projects` are
    the projects with their tallies, sorted as the file lists them (a survey: its questions).
    `ballots` has one row per ballot (a survey: per respondent) with the file's columns plus
    `district_id`, the voter's true district. `answers` (surveys only) has one row per
    respondent x question, exactly as `write_survey_csv` writes it.
    """

    kind: str
    meta: dict[str, str]
    projects: pl.DataFrame
    ballots: pl.DataFrame
    answers: pl.DataFrame | None = None

    @property
    def project_columns(self) -> tuple[str, ...]:
        """PROJECTS columns of the `.pb` file: `score` after `votes` for points ballots."""
        if self.kind == "approval":
            return PB_PROJECT_COLUMNS
        return (*PB_PROJECT_COLUMNS[:3], "score", *PB_PROJECT_COLUMNS[3:])

    @property
    def vote_columns(self) -> tuple[str, ...]:
        """VOTES columns of the `.pb` file: `points` after `vote` for points ballots."""
        if self.kind == "approval":
            return PB_VOTE_COLUMNS
        return (*PB_VOTE_COLUMNS[:2], "points", *PB_VOTE_COLUMNS[2:])


def generate_votes(
    pack: CityPack, ballots: int, seed: int = 0, kind: str = "approval",
    election: str | None = None,
) -> GeneratedVote:
    """`ballots` ballots (or survey respondents) of kind approval | ordinal | cumulative | survey.

    `election` names the election (META `instance`) or the survey (`survey_id`). The projects
    depend only on the pack and the seed, so one seed gives the same projects for every kind.
    """
    if kind not in KINDS:
        raise SyntheticDataError(f"unknown kind {kind!r}; use one of {KINDS}")
    if ballots < 1:
        raise SyntheticDataError(f"ballots must be positive, got {ballots}")
    people_rng = np.random.default_rng([seed, 1])
    people = draw_participants(pack, ballots, people_rng)
    if kind == "survey":
        return _survey(pack, people, seed, election or f"{pack.name}-{DEFAULT_ELECTION}-survey")
    return _election(pack, people, seed, kind, election or DEFAULT_ELECTION, people_rng)


def write_pabulib(vote: GeneratedVote, path: Path) -> Path:
    """Write an approval, ordinal or cumulative election as a Pabulib `.pb` file at `path`."""
    if vote.kind not in BALLOT_KINDS:
        raise SyntheticDataError(f"a {vote.kind} is no Pabulib election; use write_survey_csv")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = io.StringIO()
    csv.writer(meta, delimiter=";", lineterminator="\n").writerows(
        [("key", "value"), *vote.meta.items()]
    )
    with path.open("wb") as handle:
        handle.write(f"META\n{meta.getvalue()}PROJECTS\n".encode())
        vote.projects.select(vote.project_columns).write_csv(handle, separator=";")
        handle.write(b"VOTES\n")
        vote.ballots.select(vote.vote_columns).write_csv(handle, separator=";")
    return path


def write_survey_csv(vote: GeneratedVote, path: Path) -> Path:
    """Write a survey's answers as CSV: `respondent_id,question_id,answer,submitted_at,...`."""
    if vote.kind != "survey" or vote.answers is None:
        raise SyntheticDataError(f"a {vote.kind} election has no survey answers; use write_pabulib")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    vote.answers.write_csv(path)
    return path


# ------------------------------------------------------------------------------------ stages
def _election(
    pack: CityPack, people: Participants, seed: int, kind: str, election: str,
    people_rng: np.random.Generator,
) -> GeneratedVote:
    """Projects, ballots and tallies; projects sorted by tally, `selected` by greedy."""
    project_rng, ballot_rng = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 2])
    drawn = draw_projects(pack, project_rng)
    budget = draw_budget(drawn.frame.get_column("cost").to_numpy(), project_rng)
    max_length = _max_length(kind, ballot_rng)
    count = len(people.age)
    lengths = bl.draw_lengths(count, max_length, ballot_rng)
    choices = bl.draw_choices(drawn, len(pack.district_ids), people.district, lengths, ballot_rng)
    points = None
    if kind == "ordinal":
        points = bl.ordinal_points(choices, max_length)
    elif kind == "cumulative":
        points = bl.cumulative_points(choices, lengths, ballot_rng)
    votes, score = bl.tallies(choices, points, drawn.frame.height)
    projects = drawn.frame.with_columns(
        pl.Series("votes", votes, dtype=pl.Int64), pl.Series("score", score, dtype=pl.Int64)
    ).sort([pl.col("score"), pl.col("project_id").cast(pl.Int64)], descending=[True, False])
    selected = greedy_selected(
        projects.get_column("cost").to_numpy(), projects.get_column("score").to_numpy(), budget
    )
    projects = projects.with_columns(pl.Series("selected", selected.astype(np.int8)))
    lookup = drawn.frame.get_column("project_id")
    ballot_frame = pl.DataFrame(
        {
            "voter_id": bl.voter_ids(count, people_rng),
            "vote": bl.joined_column(lookup, choices, "vote"),
            "age": people.age.astype(np.int64),
            "sex": pl.Series(people.sex.tolist(), dtype=pl.String),
            "voting_method": voting_methods(people.age, people_rng),
            "neighborhood": neighborhoods(pack, people.district, people_rng),
            "district_id": np.asarray(pack.district_ids, dtype=object)[people.district],
        },
        schema_overrides={"neighborhood": pl.String, "district_id": pl.String},
    )
    if points is not None:
        ballot_frame = ballot_frame.insert_column(2, bl.points_column(choices, points))
    meta = _pb_meta(pack, kind, election, projects.height, count, budget, max_length)
    return GeneratedVote(kind, meta, projects, ballot_frame)


def _max_length(kind: str, rng: np.random.Generator) -> int:
    if kind == "ordinal":
        low, high = ORDINAL_MAX_LENGTHS
        return int(rng.integers(low, high + 1))
    return APPROVAL_MAX_LENGTH if kind == "approval" else CUMULATIVE_MAX_LENGTH


def _pb_meta(
    pack: CityPack, kind: str, election: str, projects: int, ballots: int, budget: int,
    max_length: int,
) -> dict[str, str]:
    """The META block, in Pabulib's key order; `max_sum_points` for cumulative ballots."""
    end = VOTING_BEGIN + timedelta(days=VOTING_DAYS - 1)
    meta = {
        "description": f"Municipal PB in {pack.name}",
        "country": "Russia",
        "unit": pack.name,
        "instance": election,
        "num_projects": str(projects),
        "num_votes": str(ballots),
        "budget": str(budget),
        "vote_type": kind,
        "rule": "greedy",
        "date_begin": VOTING_BEGIN.strftime("%d.%m.%Y"),
        "date_end": end.strftime("%d.%m.%Y"),
        "min_length": "1",
        "max_length": str(max_length),
    }
    if kind == "cumulative":
        meta["max_sum_points"] = str(bl.CUMULATIVE_POINTS)
    return meta | {"language": "ru", "currency": "RUB"}


def _survey(pack: CityPack, people: Participants, seed: int, survey_id: str) -> GeneratedVote:
    rng = np.random.default_rng([seed, 3])
    questions = sv.pick_questions(rng)
    respondents = sv.respondents_frame(pack, people, VOTING_BEGIN, VOTING_DAYS, rng)
    answers = sv.answers_frame(pack, people, respondents, questions, rng)
    end = VOTING_BEGIN + timedelta(days=VOTING_DAYS - 1)
    meta = {
        "survey_id": survey_id,
        "title": f"Опрос жителей: {pack.name}",
        "unit": pack.name,
        "num_respondents": str(len(people.age)),
        "num_questions": str(len(questions)),
        "date_begin": VOTING_BEGIN.date().isoformat(),
        "date_end": end.date().isoformat(),
        "timezone": pack.timezone,
        "language": "ru",
    }
    respondents = respondents.select(*sv.ANSWER_COLUMNS[:1], *sv.ANSWER_COLUMNS[3:], "district_id")
    return GeneratedVote("survey", meta, sv.questions_frame(questions), respondents, answers)
