"""Ballots as text -> counted ballots, and a dead letter with a reason for every other line.

One vectorised pass per batch (polars): the vote list is split once, and every rule reads the
split list. The first rule a ballot breaks, in this order, is its reason (`BallotReason`):
unreadable line, missing voter id, too many choices (over `max_length`, or over `MAX_CHOICES`
whatever the file says), too few (under `min_length`, or none), a project named twice, a project
the election does not have, points that are missing, not numbers, negative or not one per choice,
a cumulative ballot over `max_sum_points`, an age outside 0-120. A voter's second ballot is
judged after every batch of the election is in (`count_repeated_voters`).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from models.participation.election import MAX_CHOICES, Election
from plumbing.dead_letters import dead_letter_rows
from schemas import participation as pb
from schemas.participation import BallotReason as R
from schemas.requests import SOURCE, SOURCE_FILE, SOURCE_POSITION, UNREADABLE_RECORD

STAGE_VALIDATE = "validate_ballots"
STAGE_REPEATED = "count_repeated_voters"
VOTES_FIELDS = ("voter_id", "vote", pb.POINTS, pb.AGE, pb.SEX, pb.VOTING_METHOD, pb.NEIGHBORHOOD)
MISSING = ("", "-", "na", "n/a", "null", "none")
SEXES = {"m": "M", "male": "M", "м": "M", "муж": "M", "f": "F", "female": "F", "k": "F", "ж": "F", "жен": "F"}
_REASON, _DETAIL = "_reason", "_detail"
_CARDINAL = (pb.VoteType.CUMULATIVE, pb.VoteType.SCORING)


def _text(name: str, raw: pl.DataFrame) -> pl.Expr:
    if name not in raw.columns:
        return pl.lit(None, pl.String)
    value = pl.col(name).str.strip_chars()
    return pl.when(value.str.to_lowercase().is_in(MISSING)).then(None).otherwise(value)


def _parsed(raw: pl.DataFrame, election: Election) -> pl.DataFrame:
    choices = _text("vote", raw).fill_null("").str.split(",").list.eval(
        pl.element().str.strip_chars().filter(pl.element() != ""))
    points_text = _text(pb.POINTS, raw)
    return raw.with_columns(
        _text("voter_id", raw).alias("_voter"),
        choices.alias(pb.CHOICES),
        points_text.str.split(",").list.eval(pl.element().str.strip_chars().cast(pl.Float64, strict=False)
                                             ).alias(pb.POINTS),
        points_text.is_not_null().alias("_has_points"),
        _text(pb.AGE, raw).alias("_age_text"),
    ).with_columns(
        pl.col(pb.CHOICES).list.len().alias("_n"),
        pl.col(pb.CHOICES).list.eval(pl.element().is_in(election.project_ids).not_()).list.any().alias("_unknown"),
        pl.col("_age_text").str.replace(r"\.0+$", "").cast(pl.Int64, strict=False).alias("_age"),
    )


def _points_broken(election: Election) -> pl.Expr:
    points = pl.col(pb.POINTS)
    broken = (points.list.len() != pl.col("_n")) | points.list.eval(
        pl.element().is_null() | pl.element().is_nan() | pl.element().is_infinite() | (pl.element() < 0)
    ).list.any()
    if election.vote_type in _CARDINAL:
        return ~pl.col("_has_points") | broken
    return pl.col("_has_points") & broken  # ordinal: points optional (else max_length - rank)


def _rules(election: Election) -> list[tuple[pl.Expr, str, pl.Expr]]:
    n = pl.col("_n")
    most = min(election.max_length or MAX_CHOICES, MAX_CHOICES)
    fewest = max(election.min_length or 1, 1)
    rules = [
        (pl.col(UNREADABLE_RECORD).is_not_null(), R.UNREADABLE_LINE,
         pl.lit("the line does not have the VOTES header's fields (or is too long)")),
        (pl.col("_voter").is_null(), R.MISSING_VOTER_ID, pl.lit("the ballot has no voter_id")),
        (n > most, R.TOO_MANY_CHOICES, pl.format("the ballot names {} projects; at most {} are allowed", n, pl.lit(most))),
        (n < fewest, R.TOO_FEW_CHOICES, pl.format("the ballot names {} projects; at least {} are needed", n, pl.lit(fewest))),
        (pl.col(pb.CHOICES).list.n_unique() != n, R.DUPLICATE_CHOICE, pl.lit("the ballot names a project twice")),
        (pl.col("_unknown"), R.UNKNOWN_PROJECT, pl.format("the ballot names a project the election does not have: {}",
                                                          pl.col(pb.CHOICES).list.eval(pl.element().filter(
                                                              ~pl.element().is_in(election.project_ids))).list.join(","))),
        (_points_broken(election), R.BAD_POINTS,
         pl.lit("the points must be numbers of at least 0, one per chosen project")),
    ]
    if election.vote_type == pb.VoteType.CUMULATIVE and election.max_sum_points is not None:
        total = pl.col(pb.POINTS).list.sum()
        rules.append((total > election.max_sum_points, R.TOO_MANY_POINTS,
                      pl.format("the ballot gives {} points; at most {} are allowed", total, pl.lit(election.max_sum_points))))
    age = pl.col("_age")
    rules.append((pl.col("_age_text").is_not_null() & (age.is_null() | (age < 0) | (age > pb.MAX_AGE)),
                  R.IMPOSSIBLE_AGE, pl.lit(f"the age is not a whole number from 0 to {pb.MAX_AGE}")))  # no value:
    # the detail is published, and a voter's age must not be (the restricted copy keeps the line)
    return rules


def validate_ballots(raw: pl.DataFrame, election: Election, source: str,
                     failed_at: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid ballots with the voter id still in clear, dead letters) of one batch."""
    if UNREADABLE_RECORD not in raw.columns:
        raw = raw.with_columns(pl.lit(None, pl.String).alias(UNREADABLE_RECORD))
    frame = _parsed(raw, election).with_columns(pl.lit(source).alias(SOURCE))
    reason, detail = pl.lit(None, pl.String), pl.lit(None, pl.String)
    for broken, name, why in reversed(_rules(election)):
        reason = pl.when(broken).then(pl.lit(name)).otherwise(reason)
        detail = pl.when(broken).then(why).otherwise(detail)
    frame = frame.with_columns(reason.alias(_REASON), detail.alias(_DETAIL))
    dead = dead_letter_rows(frame.filter(pl.col(_REASON).is_not_null()), pl.col(_REASON), pl.col(_DETAIL),
                            STAGE_VALIDATE, failed_at, payload=VOTES_FIELDS)
    valid = frame.filter(pl.col(_REASON).is_null()).select(
        pl.lit(election.election_id).alias(pb.ELECTION_ID),
        pl.col("_voter").alias("voter_id"),
        pl.col(pb.CHOICES),
        _points(election),
        pl.col("_age").cast(pl.Int16).alias(pb.AGE),
        _text(pb.SEX, raw).str.to_lowercase().replace_strict(SEXES, default=None).alias(pb.SEX),
        _text(pb.VOTING_METHOD, raw).str.to_lowercase().alias(pb.VOTING_METHOD),
        _text(pb.NEIGHBORHOOD, raw).alias(pb.NEIGHBORHOOD),
        pl.col(SOURCE), pl.col(SOURCE_FILE), pl.col(SOURCE_POSITION),
    )
    return valid, dead


def _points(election: Election) -> pl.Expr:
    """The points each choice earns: the file's, else for ordinal ballots `max_length - rank`,
    null for approval ballots (one approval each)."""
    if election.vote_type == pb.VoteType.APPROVAL:
        return pl.lit(None, pl.List(pl.Float64)).alias(pb.POINTS)
    if election.vote_type == pb.VoteType.ORDINAL:
        ranked = pl.col(pb.CHOICES).list.eval(election.ordinal_points(pl.int_range(pl.len())))
        return pl.when(pl.col("_has_points")).then(pl.col(pb.POINTS)).otherwise(ranked).alias(pb.POINTS)
    return pl.col(pb.POINTS)


def count_repeated_voters(ballots: pl.DataFrame, rule: str, file_order: dict[str, int],
                          failed_at: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One ballot per voter of an election: the latest (rule `latest`: in file order, then line
    order) or the first (rule `refuse`); every other ballot of the voter is a dead letter."""
    if not ballots["voter_id"].is_duplicated().any():  # the usual case: nothing to sort out
        return ballots, dead_letter_rows(ballots.clear(), pl.lit(R.REPEATED_VOTER), pl.lit(None, pl.String),
                                         STAGE_REPEATED, failed_at, payload=("voter_id",))
    order = pl.col(SOURCE_FILE).replace_strict(file_order, default=len(file_order), return_dtype=pl.Int64)
    ranked = ballots.with_columns(order.alias("_file_order")).sort("_file_order", SOURCE_POSITION)
    keep = pl.int_range(pl.len()).over("voter_id") == (pl.len().over("voter_id") - 1 if rule == "latest" else 0)
    ranked = ranked.with_columns(keep.alias("_keep"))
    kept = ranked.filter(pl.col("_keep")).drop("_file_order", "_keep")
    why = ("the voter's later ballot counts instead (rule: latest)" if rule == "latest"
           else "the voter had already voted; only the first ballot counts (rule: refuse)")
    repeated = ranked.filter(~pl.col("_keep")).with_columns(
        pl.col(pb.CHOICES).list.join(",").alias("vote"),
    )
    dead = dead_letter_rows(repeated, pl.lit(R.REPEATED_VOTER), pl.lit(why), STAGE_REPEATED, failed_at,
                            payload=("voter_id", "vote", pb.AGE, pb.SEX, pb.VOTING_METHOD, pb.NEIGHBORHOOD))
    return kept, dead
