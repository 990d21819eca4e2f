"""Raw survey answers -> counted answers, and a dead letter with a reason for every other row.

Per batch (`validate_answers`, one vectorised polars pass) the first rule a row breaks, in
this order, is its reason (`schemas.surveys.SurveyReason`): unreadable row, missing
respondent id, missing question id, missing answer, an age that is not a whole number from 0
to 120, a time that none of the mapping's formats parsed. Per survey, once every batch is in
(`count_answers`): each question's type (the mapping's, else inferred), rankings split, a
ranking naming an option twice, and a respondent's repeated answer to one question: the
latest counts (by submission time, then file and row order; an answer without a time is
older than one with a time), the others are dead letters.

Question types, when the mapping does not declare them: ranked when most answers hold the
ranking separator; text when most answers are longer than `FREE_TEXT_CHARS` or the question
has more than `MAX_OPTIONS` distinct answers; single otherwise. An answer is free text when
its question is, or when it (or an option of its ranking) is longer than `FREE_TEXT_CHARS`.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from models.cities.pack import CityPack
from models.geocoding.reverse import ReverseGeocoder
from models.personal_data.detector import detect_pii, scrub_pii
from pipelines.transforms.participation.places import PLACE_COLUMNS, place_by_name
from pipelines.transforms.participation.tally import age_band
from pipelines.transforms.participation.validate import MISSING, SEXES
from plumbing.dead_letters import dead_letter_rows
from plumbing.pseudonyms import pseudonyms
from schemas import participation as pb
from schemas import surveys as sv
from schemas.requests import (
    DISTRICT_ID,
    LAT,
    LONG,
    SOURCE,
    SOURCE_FILE,
    SOURCE_POSITION,
    UNREADABLE_RECORD,
)
from schemas.surveys import QuestionType as T
from schemas.surveys import SurveyReason as R

STAGE_VALIDATE = "validate_answers"
STAGE_COUNT = "count_answers"
ISO_UTC = "%Y-%m-%dT%H:%M:%S%.fZ"  # what the survey reader writes where a format parsed
_REASON = "_reason"


def _missing(name: str) -> pl.Expr:
    value = pl.col(name).str.strip_chars()
    return value.is_null() | value.str.to_lowercase().is_in(MISSING)


_AGE_TEXT = pl.col(pb.AGE).str.strip_chars()
_AGE = pl.when(~_missing(pb.AGE)).then(_AGE_TEXT.str.replace(r"\.0+$", "")).cast(pl.Int64, strict=False)
_TIME = pl.col(sv.SUBMITTED_AT).str.strptime(pl.Datetime("us"), ISO_UTC, strict=False)


def _rules() -> list[tuple[pl.Expr, str, pl.Expr]]:
    """(broken, reason, detail) in the order they are judged; `detail` is only computed for
    the rows that break the rule (on `_age` and `_time`, parsed once)."""
    age, time = pl.col("_age"), pl.col("_time")
    return [
        (pl.col(UNREADABLE_RECORD).is_not_null(), R.UNREADABLE_ROW,
         pl.lit("the row could not be read (broken quoting, more fields than the header, not a JSON object)")),
        (_missing(sv.RESPONDENT_ID), R.MISSING_RESPONDENT, pl.lit("the answer has no respondent id")),
        (_missing(sv.QUESTION_ID), R.MISSING_QUESTION, pl.lit("the answer has no question id")),
        (pl.col(sv.ANSWER).is_null(), R.MISSING_ANSWER, pl.lit("the answer is empty")),
        (~_missing(pb.AGE) & (age.is_null() | (age < 0) | (age > pb.MAX_AGE)), R.IMPOSSIBLE_AGE,
         pl.format("age {} is not a whole number from 0 to {}", _AGE_TEXT.str.slice(0, 40), pl.lit(pb.MAX_AGE))),
        (pl.col(sv.SUBMITTED_AT).is_not_null() & time.is_null(), R.BAD_TIME,
         pl.format("submission time {} matches none of the mapping's formats", pl.col(sv.SUBMITTED_AT).str.slice(0, 60))),
    ]


def validate_answers(raw: pl.DataFrame, failed_at: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid answers, respondent ids still in clear; dead letters) of one batch of raw answers."""
    rules = _rules()
    frame = raw.with_columns(_AGE.alias("_age"), _TIME.alias("_time"))
    reason = pl.lit(None, pl.String)
    for broken, name, _why in reversed(rules):
        reason = pl.when(broken).then(pl.lit(name)).otherwise(reason)
    frame = frame.with_columns(reason.alias(_REASON))
    broken = frame.filter(pl.col(_REASON).is_not_null())
    detail = pl.lit(None, pl.String)
    for _broken, name, why in rules:
        detail = pl.when(pl.col(_REASON) == name).then(why).otherwise(detail)
    dead = dead_letter_rows(broken, pl.col(_REASON), detail, STAGE_VALIDATE, failed_at, payload=sv.RAW_ANSWER_FIELDS)
    valid = frame.filter(pl.col(_REASON).is_null()).select(
        pl.col(sv.RESPONDENT_ID).str.strip_chars(),
        pl.col(sv.QUESTION_ID).str.strip_chars(),
        pl.col(sv.ANSWER),
        pl.col("_time").dt.replace_time_zone("UTC").alias(sv.SUBMITTED_DATETIME),
        pl.col("_age").cast(pl.Int16).alias(pb.AGE),
        pl.col(pb.SEX).str.strip_chars().str.to_lowercase().replace_strict(SEXES, default=None,
                                                                            return_dtype=pl.String).alias(pb.SEX),
        pl.when(~_missing(sv.DISTRICT)).then(pl.col(sv.DISTRICT)).alias(pb.NEIGHBORHOOD),
        _coordinate(LAT, 90.0), _coordinate(LONG, 180.0),
        pl.col(SOURCE), pl.col(SOURCE_FILE), pl.col(SOURCE_POSITION),
    )
    return valid, dead


def _coordinate(name: str, bound: float) -> pl.Expr:
    """A coordinate as a number; anything else (text, NaN, out of range) is null: the answer
    counts, only without a place from it."""
    value = pl.col(name).str.strip_chars().cast(pl.Float64, strict=False)
    return pl.when(value.is_finite() & (value.abs() <= bound)).then(value).alias(name)


def question_types(answers: pl.DataFrame, declared: dict[str, str], separator: str) -> dict[str, str]:
    """Every question's type: the mapping's, else inferred from its answers (module docstring)."""
    answer = pl.col(sv.ANSWER)
    long = answer.str.len_chars() > sv.FREE_TEXT_CHARS
    stats = answers.group_by(sv.QUESTION_ID).agg(
        answer.str.contains(separator, literal=True).mean().alias("ranked"),
        long.mean().alias("long"),
        answer.filter(~long).n_unique().alias("distinct"),
        answer.filter(~long).str.split(separator).explode().str.strip_chars().n_unique().alias("options"),
    )
    kinds = {}
    for row in stats.iter_rows(named=True):
        ranked = row["ranked"] > 0.5
        many = (row["options"] if ranked else row["distinct"]) > sv.MAX_OPTIONS
        kinds[row[sv.QUESTION_ID]] = T.TEXT if row["long"] > 0.5 or many else T.RANKED if ranked else T.SINGLE
    return kinds | {q: t for q, t in declared.items() if q in kinds}


def with_rankings(answers: pl.DataFrame, types: dict[str, str], separator: str) -> pl.DataFrame:
    """Answers with `question_type`, `ranking` (ranked questions' options, best first, as
    written: `first_preferences` then makes the ranking's first option the answer) and
    `free_text`."""
    kind = pl.col(sv.QUESTION_ID).replace_strict(types, default=T.SINGLE, return_dtype=pl.String)
    split = pl.col(sv.ANSWER).str.split(separator).list.eval(
        pl.element().str.strip_chars().filter(pl.element().str.len_bytes() > 0))
    ranked = pl.col(sv.QUESTION_TYPE) == T.RANKED
    framed = answers.with_columns(kind.alias(sv.QUESTION_TYPE)).with_columns(
        pl.when(ranked).then(split).alias(sv.RANKING))
    longest = pl.when(ranked).then(pl.col(sv.RANKING).list.eval(pl.element().str.len_chars().max()).list.first()
                                   ).otherwise(pl.col(sv.ANSWER).str.len_chars())
    free = (pl.col(sv.QUESTION_TYPE) == T.TEXT) | (longest > sv.FREE_TEXT_CHARS).fill_null(False)
    return framed.with_columns(free.alias(sv.FREE_TEXT)).with_columns(
        pl.when(ranked & ~pl.col(sv.FREE_TEXT)).then(pl.col(sv.RANKING)).alias(sv.RANKING))


def first_preferences(answers: pl.DataFrame) -> pl.DataFrame:
    """A ranked answer's `answer` is its first preference (free text stays as written)."""
    return answers.with_columns(pl.when(pl.col(sv.RANKING).is_not_null()).then(pl.col(sv.RANKING).list.first())
                                .otherwise(pl.col(sv.ANSWER)).alias(sv.ANSWER))


def count_answers(answers: pl.DataFrame, types: dict[str, str], separator: str, file_order: dict[str, int],
                  failed_at: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(one answer per respondent and question, typed and split; dead letters): rankings that
    are empty or name an option twice, and every answer but the latest of a respondent."""
    framed = with_rankings(answers, types, separator)
    ranking = pl.col(sv.RANKING)
    empty = ranking.is_not_null() & (ranking.list.len() == 0)
    twice = ranking.is_not_null() & (ranking.list.n_unique() != ranking.list.len())
    broken = framed.filter(empty | twice)
    dead = [dead_letter_rows(
        broken, pl.when(empty).then(pl.lit(R.MISSING_ANSWER))
        .otherwise(pl.lit(R.DUPLICATE_CHOICE)),
        pl.when(empty).then(pl.lit("the ranking names no option")).otherwise(pl.lit("the ranking names an option twice")),
        STAGE_COUNT, failed_at, payload=_PAYLOAD)]
    framed = first_preferences(framed.filter(~(empty | twice)))
    order = pl.col(SOURCE_FILE).replace_strict(file_order, default=len(file_order), return_dtype=pl.Int64)
    ranked = framed.with_columns(order.alias("_file_order")).sort(
        sv.SUBMITTED_DATETIME, "_file_order", SOURCE_POSITION, nulls_last=False)
    ranked = ranked.with_columns(pl.struct(sv.RESPONDENT_ID, sv.QUESTION_ID).is_last_distinct().alias("_keep"))
    dead.append(dead_letter_rows(
        ranked.filter(~pl.col("_keep")), pl.lit(R.REPEATED_ANSWER),
        pl.lit("the respondent answered the question again; the latest answer counts"), STAGE_COUNT, failed_at,
        payload=_PAYLOAD))
    kept = ranked.filter(pl.col("_keep")).drop("_file_order", "_keep").sort(SOURCE_FILE, SOURCE_POSITION)
    return kept, pl.concat(dead)


_PAYLOAD = (sv.RESPONDENT_ID, sv.QUESTION_ID, sv.ANSWER, sv.SUBMITTED_DATETIME, pb.AGE, pb.SEX, pb.NEIGHBORHOOD,
            LAT, LONG)


def pseudonymise(answers: pl.DataFrame, secret: bytes, scope: str) -> pl.DataFrame:
    """`respondent_id` replaced by its keyed pseudonym `respondent_key` (one hash per respondent)."""
    ids = answers[sv.RESPONDENT_ID].unique()
    keys = pl.DataFrame({sv.RESPONDENT_ID: ids, sv.RESPONDENT_KEY: pseudonyms(ids, secret, scope)})
    return answers.join(keys, on=sv.RESPONDENT_ID, how="left", maintain_order="left").drop(sv.RESPONDENT_ID)


def place_answers(answers: pl.DataFrame, pack: CityPack | None) -> pl.DataFrame:
    """District and parent area of every answer: from the file's area name, else (with a city
    pack) from its coordinates; with the age band of the respondent's age."""
    placed = place_by_name(answers, pb.NEIGHBORHOOD, pack)
    todo = placed.filter(pl.col(DISTRICT_ID).is_null() & pl.col(LAT).is_not_null() & pl.col(LONG).is_not_null())
    if pack is not None and todo.height:
        points = todo.select(LAT, LONG).unique()
        located = pl.concat([points, ReverseGeocoder(pack).predict_batch(points[LAT], points[LONG])
                            .select(PLACE_COLUMNS)], how="horizontal")
        placed = placed.join(located, on=[LAT, LONG], how="left", maintain_order="left", suffix="_point")
        placed = placed.with_columns(
            [pl.coalesce(pl.col(c), pl.col(f"{c}_point")).alias(c) for c in PLACE_COLUMNS]
        ).drop([f"{c}_point" for c in PLACE_COLUMNS])
    return placed.with_columns(age_band(pl.col(pb.AGE)).alias(pb.AGE_BAND))


def scrub_answers(answers: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """(answers with personal data replaced, spans replaced): every free text, and every
    distinct option (an option is published as a label), rankings' options included."""
    free = answers[sv.FREE_TEXT]
    texts = answers[sv.ANSWER].zip_with(free, pl.Series([None], dtype=pl.String))
    spans = detect_pii(texts)
    answer = scrub_pii(texts, spans).zip_with(free, answers[sv.ANSWER])
    options = pl.concat([answer.filter(~free), answers[sv.RANKING].explode().drop_nulls()]).unique()
    option_spans = detect_pii(options)
    changed = option_spans.list.len().fill_null(0) > 0
    replaced = int(spans.list.len().sum() or 0) + int(option_spans.list.len().sum() or 0)
    if not changed.any():
        return answers.with_columns(answer.alias(sv.ANSWER)), replaced
    labels = dict(zip(options.filter(changed).to_list(), scrub_pii(options, option_spans).filter(changed).to_list(),
                      strict=True))
    return answers.with_columns(
        answer.replace(labels).alias(sv.ANSWER),
        pl.col(sv.RANKING).list.eval(pl.element().replace(labels)),
    ), replaced
