"""A synthetic resident survey: respondents with the usual participation skew, and answers that
depend on age, sex and district.

Each option of a question has a utility per respondent: a base level, an age slope, a sex
offset and a district offset (central against outer districts, plus each district's own). A
single-choice answer is the option with the highest utility plus Gumbel noise (a multinomial
logit draw); a ranked answer takes the three best options in order, written "a>b>c". Since
respondents are older and more often female than the city, re-weighting them to the city's
age and sex structure (post-stratification) moves the shares visibly.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from models.cities.pack import CityPack
from synthetic.participation import vocabulary as vocab
from synthetic.participation.ballots import voter_ids
from synthetic.participation.population import Participants, central_districts
from synthetic.requests.events import request_times

AGE_EFFECT = 0.9  # spread of option utilities per 20 years of age
SEX_EFFECT = 0.3
CENTRAL_EFFECT = 0.5
DISTRICT_NOISE = 0.25
ANSWER_COLUMNS = ("respondent_id", "question_id", "answer", "submitted_at", "district", "age", "sex")


def pick_questions(rng: np.random.Generator) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """3-5 questions: the first 2-4 of the pool (single choice and yes/no) and the ranked one."""
    count = int(rng.integers(3, 6))
    return [*vocab.SURVEY_QUESTIONS[: count - 1], vocab.RANKED_QUESTION]


def questions_frame(questions: list[tuple[str, str, str, tuple[str, ...]]]) -> pl.DataFrame:
    """The question catalogue: id, type, wording and options."""
    return pl.DataFrame(
        {
            "question_id": [q[0] for q in questions],
            "question_type": [q[1] for q in questions],
            "question": [q[2] for q in questions],
            "options": [list(q[3]) for q in questions],
        }
    )


def respondents_frame(
    pack: CityPack, people: Participants, start: datetime, days: int, rng: np.random.Generator
) -> pl.DataFrame:
    """One row per respondent: id, submission time (ISO 8601 with the city's offset), district."""
    count = len(people.age)
    start = start if start.tzinfo else start.replace(tzinfo=ZoneInfo(pack.timezone))
    submitted = request_times(rng, count, start, days, pack.timezone)
    return pl.DataFrame(
        {
            "respondent_id": voter_ids(count, rng),
            "submitted_us": submitted,
            "district_id": np.asarray(pack.district_ids, dtype=object)[people.district],
            "district": np.asarray(pack.district_names, dtype=object)[people.district],
            "age": people.age.astype(np.int64),
            "sex": pl.Series(people.sex.tolist(), dtype=pl.String),
        },
        schema_overrides={"district_id": pl.String, "district": pl.String},
    ).with_columns(
        pl.col("submitted_us")
        .cast(pl.Datetime("us", "UTC"))
        .dt.convert_time_zone(pack.timezone)
        .dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
        .alias("submitted_at")
    ).drop("submitted_us")


def answers_frame(
    pack: CityPack, people: Participants, respondents: pl.DataFrame,
    questions: list[tuple[str, str, str, tuple[str, ...]]], rng: np.random.Generator,
) -> pl.DataFrame:
    """One row per respondent x question, respondent by respondent, in ANSWER_COLUMNS."""
    count, per_respondent = len(people.age), len(questions)
    parts = []
    for number, (question_id, question_type, _, options) in enumerate(questions):
        utility = _utilities(pack, people, len(options), rng)
        noisy = utility + rng.gumbel(size=utility.shape)
        lookup = pl.Series(list(options), dtype=pl.String)
        if question_type == vocab.RANKED:
            best = np.argsort(-noisy, axis=1)[:, : vocab.RANKED_LENGTH]
            frame = pl.DataFrame({f"r{k}": best[:, k] for k in range(best.shape[1])})
            ranked = [pl.lit(lookup).gather(pl.col(c)) for c in frame.columns]
            answer = frame.select(pl.concat_str(ranked, separator=">")).to_series()
        else:
            answer = lookup.gather(np.argmax(noisy, axis=1))
        parts.append(
            respondents.select(
                "respondent_id",
                pl.lit(question_id).alias("question_id"),
                answer.alias("answer"),
                "submitted_at", "district", "age", "sex",
                pl.Series("row", np.arange(count) * per_respondent + number),
            )
        )
    return pl.concat(parts).sort("row").drop("row").select(ANSWER_COLUMNS)


def _utilities(
    pack: CityPack, people: Participants, options: int, rng: np.random.Generator
) -> np.ndarray:
    """(respondents x options) utilities: base + age slope + sex offset + district offset."""
    base = rng.normal(0.0, 0.5, options)
    age_slope = _spread(rng, options, AGE_EFFECT)
    female = _spread(rng, options, SEX_EFFECT)
    central = _spread(rng, options, CENTRAL_EFFECT)
    district_offset = rng.normal(0.0, DISTRICT_NOISE, (len(pack.district_ids), options))
    district_offset += np.where(central_districts(pack), 1.0, 0.0)[:, None] * central[None, :]
    age_z = (people.age - 45.0) / 20.0
    is_female = (people.sex == "F").astype(float)
    return (
        base[None, :]
        + age_z[:, None] * age_slope[None, :]
        + is_female[:, None] * female[None, :]
        + district_offset[people.district]
    )


def _spread(rng: np.random.Generator, options: int, size: float) -> np.ndarray:
    """Centred random effects per option with a guaranteed spread of `size` (so every question
    shows the effect, however the draw falls)."""
    effect = rng.normal(0.0, 1.0, options)
    effect -= effect.mean()
    return effect * size / max(float(effect.std()), 1e-9)
