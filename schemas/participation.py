"""Participation: participatory-budget elections, their projects and ballots, tallies and turnout.

Field names follow Pabulib (pabulib.org), the open format of participatory-budget data:
`project_id`, `cost`, `votes`, `score`, `selected`, `budget`, `vote_type`, `min_length`, ...
Ballots are restricted (`Workspace.restricted`): a voter's choices with their age, sex and
neighbourhood never reach a published dataset. Published tables hold counts of at least
`MIN_CELL` ballots; a smaller cell is null with `suppressed = true`.
"""

from __future__ import annotations

import pyarrow as pa

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
)

PARTICIPATION_SCHEMA_VERSION = "1.0.0"
MIN_CELL = 10  # a published count of fewer ballots (or respondents) is suppressed

# --- elections (Pabulib META) --------------------------------------------------------------
ELECTION_ID = "election_id"
DESCRIPTION = "description"
UNIT = "unit"
VOTE_TYPE = "vote_type"
RULE = "rule"
BUDGET = "budget"
MIN_LENGTH = "min_length"
MAX_LENGTH = "max_length"
MIN_PROJECT_SCORE_THRESHOLD = "min_project_score_threshold"
MAX_SUM_POINTS = "max_sum_points"
DATE_BEGIN = "date_begin"
DATE_END = "date_end"
CURRENCY = "currency"
BALLOTS = "ballots"
SPENT_GREEDY = "spent_greedy"
SPENT_MES = "spent_mes"


class VoteType:
    APPROVAL = "approval"
    ORDINAL = "ordinal"
    CUMULATIVE = "cumulative"
    SCORING = "scoring"
    ALL = (APPROVAL, ORDINAL, CUMULATIVE, SCORING)


class BallotReason:
    """Machine-readable dead-letter reasons of ballots (and survey answers)."""

    UNREADABLE_LINE = "unreadable_line"
    MISSING_VOTER_ID = "missing_voter_id"
    TOO_MANY_CHOICES = "too_many_choices"
    TOO_FEW_CHOICES = "too_few_choices"
    DUPLICATE_CHOICE = "duplicate_choice"
    UNKNOWN_PROJECT = "unknown_project"
    BAD_POINTS = "invalid_points"  # missing, not a number, negative, or not one per choice
    TOO_MANY_POINTS = "too_many_points"  # a cumulative ballot over max_sum_points
    IMPOSSIBLE_AGE = "impossible_age"
    REPEATED_VOTER = "repeated_voter"  # the voter's other ballot counts (or this one came second)


# --- projects -----------------------------------------------------------------------------
PROJECT_ID = "project_id"
NAME = "name"
COST = "cost"
CATEGORY = "category"
VOTES = "votes"  # ballots naming the project
SCORE = "score"  # points: approvals, ordinal points, cumulative or scoring sums
SELECTED_SOURCE = "selected_source"  # the file's `selected` column (null when the file has none)
SELECTED_GREEDY = "selected_greedy"
SELECTED_MES = "selected_mes"
SUPPRESSED = "suppressed"

# --- ballots (restricted) -----------------------------------------------------------------
VOTER_KEY = "voter_key"  # keyed hash of the file's voter id (the key never leaves the workspace)
CHOICES = "choices"  # project ids in the ballot's order (rank order for ordinal ballots)
POINTS = "points"  # the ballot's points per choice (null for approval ballots)
AGE = "age"
SEX = "sex"
VOTING_METHOD = "voting_method"
NEIGHBORHOOD = "neighborhood"
AGE_BAND = "age_band"

# --- turnout and group tallies ------------------------------------------------------------
GROUP_KIND = "group_kind"
GROUP_VALUE = "group_value"  # the group's id (district id, age band, ...)
GROUP_NAME = "group_name"  # its name where it has one (district and parent area names)
POPULATION = "population"
BALLOTS_PER_1000 = "ballots_per_1000"
SHARE_OF_BALLOTS = "share_of_ballots"


class GroupKind:
    CITY = "city"
    DISTRICT = "district"
    PARENT = "parent"
    NEIGHBORHOOD = NEIGHBORHOOD  # the file's own area names, as written
    AGE_BAND = AGE_BAND
    SEX = SEX
    VOTING_METHOD = VOTING_METHOD
    ALL = (CITY, DISTRICT, PARENT, NEIGHBORHOOD, AGE_BAND, SEX, VOTING_METHOD)


AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 17, "0-17"), (18, 24, "18-24"), (25, 34, "25-34"), (35, 44, "35-44"),
    (45, 54, "45-54"), (55, 64, "55-64"), (65, 74, "65-74"), (75, 150, "75+"),
)
MAX_AGE = 120  # an older age is a dead letter (impossible_age)


def _meta(name: str) -> dict[str, str]:
    return {"urbanpulse.schema": name, "urbanpulse.version": PARTICIPATION_SCHEMA_VERSION}


PB_ELECTION = pa.schema(
    [
        pa.field(ELECTION_ID, pa.large_string(), nullable=False),
        pa.field(DESCRIPTION, pa.large_string()),
        pa.field(UNIT, pa.large_string()),
        pa.field(VOTE_TYPE, pa.large_string(), nullable=False),
        pa.field(RULE, pa.large_string()),
        pa.field(BUDGET, pa.float64(), nullable=False),
        pa.field(MIN_LENGTH, pa.int64()),
        pa.field(MAX_LENGTH, pa.int64()),
        pa.field(MIN_PROJECT_SCORE_THRESHOLD, pa.float64()),
        pa.field(DATE_BEGIN, pa.date32()),
        pa.field(DATE_END, pa.date32()),
        pa.field(CURRENCY, pa.large_string()),
        pa.field(BALLOTS, pa.int64()),
        pa.field(SUPPRESSED, pa.bool_(), nullable=False),
        pa.field(SPENT_GREEDY, pa.float64(), nullable=False),
        pa.field(SPENT_MES, pa.float64(), nullable=False),
        pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False),
    ],
    metadata=_meta("pb_election"),
)

PB_PROJECT = pa.schema(
    [
        pa.field(ELECTION_ID, pa.large_string(), nullable=False),
        pa.field(PROJECT_ID, pa.large_string(), nullable=False),
        pa.field(NAME, pa.large_string()),
        pa.field(COST, pa.float64(), nullable=False),
        pa.field(CATEGORY, pa.large_string()),
        pa.field(VOTES, pa.int64()),
        pa.field(SCORE, pa.float64()),
        pa.field(SUPPRESSED, pa.bool_(), nullable=False),
        pa.field(SELECTED_SOURCE, pa.bool_()),
        pa.field(SELECTED_GREEDY, pa.bool_(), nullable=False),
        pa.field(SELECTED_MES, pa.bool_(), nullable=False),
        pa.field(DISTRICT_ID, pa.large_string()),
        pa.field(DISTRICT_NAME, pa.large_string()),
        pa.field(LAT, pa.float64()),
        pa.field(LONG, pa.float64()),
        pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False),
    ],
    metadata=_meta("pb_project"),
)

PB_TURNOUT = pa.schema(
    [
        pa.field(ELECTION_ID, pa.large_string(), nullable=False),
        pa.field(GROUP_KIND, pa.large_string(), nullable=False),
        pa.field(GROUP_VALUE, pa.large_string()),
        pa.field(GROUP_NAME, pa.large_string()),
        pa.field(BALLOTS, pa.int64()),
        pa.field(SHARE_OF_BALLOTS, pa.float64()),
        pa.field(POPULATION, pa.float64()),
        pa.field(BALLOTS_PER_1000, pa.float64()),
        pa.field(SUPPRESSED, pa.bool_(), nullable=False),
        pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False),
    ],
    metadata=_meta("pb_turnout"),
)

PB_PROJECT_GROUP = pa.schema(
    [
        pa.field(ELECTION_ID, pa.large_string(), nullable=False),
        pa.field(PROJECT_ID, pa.large_string(), nullable=False),
        pa.field(GROUP_KIND, pa.large_string(), nullable=False),
        pa.field(GROUP_VALUE, pa.large_string()),
        pa.field(VOTES, pa.int64()),
        pa.field(SCORE, pa.float64()),
        pa.field(SUPPRESSED, pa.bool_(), nullable=False),
        pa.field(SCHEMA_VERSION_COLUMN, pa.large_string(), nullable=False),
    ],
    metadata=_meta("pb_project_group"),
)

# Restricted: one row per counted ballot, pseudonymised; never under `datasets/`.
BALLOT = pa.schema(
    [
        pa.field(ELECTION_ID, pa.large_string(), nullable=False),
        pa.field(VOTER_KEY, pa.large_string(), nullable=False),
        pa.field(CHOICES, pa.list_(pa.large_string()), nullable=False),
        pa.field(POINTS, pa.list_(pa.float64())),
        pa.field(AGE, pa.int16()),
        pa.field(SEX, pa.large_string()),
        pa.field(VOTING_METHOD, pa.large_string()),
        pa.field(NEIGHBORHOOD, pa.large_string()),
        pa.field(DISTRICT_ID, pa.large_string()),
        pa.field(DISTRICT_NAME, pa.large_string()),
        pa.field(PARENT_ID, pa.large_string()),
        pa.field(PARENT_NAME, pa.large_string()),
        pa.field(SOURCE_FILE, pa.large_string(), nullable=False),
        pa.field(SOURCE_POSITION, pa.int64(), nullable=False),
    ],
    metadata=_meta("ballot"),
)

# --- live votes: ballots landed while a vote is open (`urbanpulse land votes`) --------------
from schemas.requests import UNREADABLE_RECORD as _UNREADABLE_RECORD  # noqa: E402

VOTER_ID = "voter_id"  # a landed ballot's voter id, in clear until the stream pseudonymises it
VOTE = "vote"  # the chosen project ids, comma-separated (Pabulib VOTES)
VOTE_CLOSED = "vote_closed"  # dead-letter reason: the ballot landed after its vote was closed
VOTE_SOURCE_PREFIX = "votes-"  # landing source of an election's ballots: votes-<election id>
STATUS_OPEN, STATUS_CLOSED = "open", "closed"
BALLOT_TEXT_FIELDS = (VOTER_ID, VOTE, POINTS, AGE, SEX, VOTING_METHOD, NEIGHBORHOOD)

# One landed ballot, as text like a VOTES line (validation types it); restricted, like BALLOT.
BALLOT_SEGMENT = pa.schema(
    [pa.field(name, pa.large_string()) for name in BALLOT_TEXT_FIELDS]
    + [
        pa.field(_UNREADABLE_RECORD, pa.large_string()),
        pa.field(SOURCE_FILE, pa.large_string(), nullable=False),
        pa.field(SOURCE_POSITION, pa.int64(), nullable=False),
    ],
    metadata=_meta("ballot_segment"),
)
