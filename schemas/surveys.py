"""Surveys and single-question e-votes: residents' answers (restricted) and their results (published).

An answer is one respondent's answer to one question: an option (single choice, yes/no), a
ranking of options (`a>b>c`, ranked questions and single-winner e-votes), or free text.
Answers are restricted (`Workspace.restricted / "survey_answers"`): a respondent's pseudonym
with their age, sex, area and answers never reaches a published dataset. The published
`survey_results` hold, per question and group of respondents, counts of at least
`schemas.participation.MIN_CELL` respondents, their shares with a Wilson 95% interval and a
post-stratified (weighted) share, and the instant-runoff rounds of ranked questions; a smaller
cell is null with `suppressed = true`. Free-text answers are never tallied as options.
"""

from __future__ import annotations

import pyarrow as pa

from schemas.participation import (
    AGE,
    AGE_BAND,
    GROUP_KIND,
    GROUP_NAME,
    GROUP_VALUE,
    NEIGHBORHOOD,
    SEX,
    SUPPRESSED,
)
from schemas.requests import (
    DISTRICT_ID,
    DISTRICT_NAME,
    LAT,
    LONG,
    PARENT_ID,
    PARENT_NAME,
    SCHEMA_VERSION_COLUMN,
    SOURCE_FILE,
    SOURCE_POSITION,
    UTC_TS,
)

SURVEY_SCHEMA_VERSION = "1.0.0"
FREE_TEXT_CHARS = 80  # an answer longer than this is free text, whatever its question
MAX_OPTIONS = 50  # a question with more distinct answers is free text unless declared otherwise
SURVEY_PARTITION = "survey"  # survey_results/city=<city>/survey=<id>/part-0.parquet
SURVEY_ANSWERS = "survey_answers"  # restricted: restricted/survey_answers/city=<city>/survey=<id>/

# --- answers (restricted) -----------------------------------------------------------------
SURVEY_ID = "survey_id"
RESPONDENT_KEY = "respondent_key"  # keyed hash of the file's respondent id (plumbing.pseudonyms)
QUESTION_ID = "question_id"
QUESTION_TYPE = "question_type"
ANSWER = "answer"  # the option; a ranking's first preference; scrubbed free text
RANKING = "ranking"  # ranked answers: the options, best first
FREE_TEXT = "free_text"  # the answer is free text (scrubbed of personal data, never an option)
SUBMITTED_DATETIME = "submitted_datetime"
WEIGHT = "weight"  # the respondent's post-stratification weight (1 without a population)

# --- raw answers: what a survey reader hands to validation, as text under these names --------
RESPONDENT_ID = "respondent_id"  # in clear: validation and the repeated-answer rule only
SUBMITTED_AT = "submitted_at"  # ISO 8601 UTC where the mapping's formats parse it, else as written
DISTRICT = "district"  # the file's own area name (kept as `neighborhood`)
RAW_ANSWER_FIELDS = (RESPONDENT_ID, QUESTION_ID, ANSWER, SUBMITTED_AT, DISTRICT, LAT, LONG, AGE, SEX)
RANKED_SEPARATOR = ">"  # between the options of a ranked answer, unless the mapping says otherwise


class QuestionType:
    SINGLE = "single"  # one option (single choice, yes/no, a single-question e-vote)
    RANKED = "ranked"  # options in order of preference; decided by instant runoff
    TEXT = "text"  # free text: scrubbed, counted, never tallied as options
    ALL = (SINGLE, RANKED, TEXT)
    ALIASES = {"single": SINGLE, "single_choice": SINGLE, "yes_no": SINGLE, "choice": SINGLE,
               "ranked": RANKED, "ranking": RANKED, "ordinal": RANKED, "text": TEXT, "free_text": TEXT,
               "open": TEXT}


class SurveyReason:
    """Machine-readable dead-letter reasons of survey answers."""

    UNREADABLE_ROW = "unreadable_row"
    MISSING_RESPONDENT = "missing_respondent_id"
    MISSING_QUESTION = "missing_question_id"
    MISSING_ANSWER = "missing_answer"
    IMPOSSIBLE_AGE = "impossible_age"
    BAD_TIME = "unparseable_submitted_datetime"
    DUPLICATE_CHOICE = "duplicate_choice"  # a ranking names an option twice
    REPEATED_ANSWER = "repeated_answer"  # the respondent's later answer to the question counts


# --- results (published) ------------------------------------------------------------------
MEASURE = "measure"
ROUND = "irv_round"
RESPONDENTS = "respondents"  # respondents of the group who answered the question (or still in the runoff)
RESPONSES = "responses"  # of them, those who gave this answer (first preference; runoff votes)
SHARE = "share"
CI_LOW = "ci_low"
CI_HIGH = "ci_high"
WEIGHTED_SHARE = "weighted_share"
WEIGHTING = "weighting"
IRV_STATUS = "irv_status"  # continuing | eliminated | elected


class Measure:
    SHARE = "share"  # answers to single and ranked questions (ranked: first preferences)
    IRV_ROUND = "irv_round"  # one row per runoff round and option still in the race (city only)
    TEXT_ANSWERS = "text_answers"  # how many free-text answers a question got (answer null)
    ALL = (SHARE, IRV_ROUND, TEXT_ANSWERS)


class Weighting:
    """How `weighted_share` was weighted: `sample` (no population given: weighted equals raw),
    `post_stratification:<dims>` (full population cells) or `raking:<margin>|<margin>`."""

    SAMPLE = "sample"
    POST_STRATIFICATION = "post_stratification"
    RAKING = "raking"


def _meta(name: str) -> dict[str, str]:
    return {"urbanpulse.schema": name, "urbanpulse.version": SURVEY_SCHEMA_VERSION}


SURVEY_RESULT = pa.schema(
    [
        pa.field(SURVEY_ID, pa.large_string(), nullable=False),
        pa.field(QUESTION_ID, pa.large_string(), nullable=False),
        pa.field(QUESTION_TYPE, pa.large_string(), nullable=False),
        pa.field(MEASURE, pa.large_string(), nullable=False),
        pa.field(GROUP_KIND, pa.large_string(), nullable=False),
        pa.field(GROUP_VALUE, pa.large_string()),
        pa.field(GROUP_NAME, pa.large_string()),
        pa.field(ANSWER, pa.large_string()),
        pa.field(ROUND, pa.int32()),
        pa.field(RESPONDENTS, pa.int64()),
        pa.field(RESPONSES, pa.int64()),
        pa.field(SHARE, pa.float64()),
        pa.field(CI_LOW, pa.float64()),
        pa.field(CI_HIGH, pa.float64()),
        pa.field(WEIGHTED_SHARE, pa.float64()),
        pa.field(WEIGHTING, pa.large_string(), nullable=False),
        pa.field(IRV_STATUS, pa.large_string()),
        pa.field(SUPPRESSED, pa.bool_(), nullable=False),
        pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False),
    ],
    metadata=_meta("survey_result"),
)

# Restricted: one row per counted answer, pseudonymised; never under `datasets/`.
SURVEY_ANSWER = pa.schema(
    [
        pa.field(SURVEY_ID, pa.large_string(), nullable=False),
        pa.field(RESPONDENT_KEY, pa.large_string(), nullable=False),
        pa.field(QUESTION_ID, pa.large_string(), nullable=False),
        pa.field(QUESTION_TYPE, pa.large_string(), nullable=False),
        pa.field(ANSWER, pa.large_string(), nullable=False),
        pa.field(RANKING, pa.list_(pa.large_string())),
        pa.field(FREE_TEXT, pa.bool_(), nullable=False),
        pa.field(SUBMITTED_DATETIME, UTC_TS),
        pa.field(AGE, pa.int16()),
        pa.field(SEX, pa.large_string()),
        pa.field(AGE_BAND, pa.large_string()),
        pa.field(NEIGHBORHOOD, pa.large_string()),
        pa.field(LAT, pa.float64()),
        pa.field(LONG, pa.float64()),
        pa.field(DISTRICT_ID, pa.large_string()),
        pa.field(DISTRICT_NAME, pa.large_string()),
        pa.field(PARENT_ID, pa.large_string()),
        pa.field(PARENT_NAME, pa.large_string()),
        pa.field(WEIGHT, pa.float64(), nullable=False),
        pa.field(SOURCE_FILE, pa.large_string(), nullable=False),
        pa.field(SOURCE_POSITION, pa.int64(), nullable=False),
    ],
    metadata=_meta("survey_answer"),
)

# What the data dictionary says of the published columns (those shared with the participation
# tables, such as group_kind and suppressed, keep their meaning there).
SURVEY_DESCRIPTIONS: dict[str, str] = {
    SURVEY_ID: "Survey id: the answer file's name without its extension, unless given.",
    QUESTION_ID: "Question id as the file gives it.",
    QUESTION_TYPE: "single (one option, yes/no, a single-question e-vote), ranked (options in order of preference) "
    "or text (free text: counted, never published).",
    MEASURE: "share (answers per group; ranked questions: first preferences), irv_round (instant-runoff rounds, "
    "whole city) or text_answers (how many free-text answers the question got).",
    ANSWER: "The option (personal data replaced as in request descriptions); null for text_answers.",
    ROUND: "Instant-runoff round (1 = first preferences); null for other measures.",
    RESPONDENTS: "Respondents of the group who answered the question (irv_round: rankings still in the race); "
    "null when fewer than 10.",
    RESPONSES: "Of them, those who gave the answer (irv_round: the option's votes); null when fewer than 10.",
    SHARE: "responses / respondents.",
    CI_LOW: "Lower end of the Wilson 95% interval of share.",
    CI_HIGH: "Upper end of the Wilson 95% interval of share.",
    WEIGHTED_SHARE: "Share with respondents weighted to the city's population by age band x sex (and district) "
    "where a population was given; equal to share when weighting is sample.",
    WEIGHTING: "sample (no population given: weighted_share = share), post_stratification:<dimensions> or "
    "raking:<margin>|<margin> (iterative proportional fitting to the population's margins).",
    IRV_STATUS: "continuing, eliminated (after this round) or elected; null for other measures.",
}
