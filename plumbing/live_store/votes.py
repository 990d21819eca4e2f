"""Live votes in the live store: the tables of open and closed elections, and what the feed reads.

    vote_elections       one row per election: rules (Pabulib META, JSON), projects, status, totals
    vote_projects        per project: votes, score, greedy's selection (and MES's where computed)
    vote_turnout         ballots per group (district, parent area, age band, sex, voting method)
    vote_project_groups  votes and score of every project within every group
    vote_dead_letters    ballots refused, per reason
    vote_segments        one ledger row per committed landing segment of ballots
    vote_ballots         RESTRICTED: each voter's counted ballot, keyed by pseudonym (never served)

The stream of votes (`pipelines.stream_votes`) writes them with `writer_votes`, in the same
transaction as its landing offsets; the feed reads them through the functions here, which only
ever return suppressed figures: a count under `MIN_CELL` ballots is null with `suppressed`.
"""

from __future__ import annotations

import json
import sqlite3

import polars as pl
import pyarrow as pa

from plumbing.live_store.backend import has_table
from plumbing.live_store.tables import from_micros, select, to_frame
from schemas import dead_letters as dl
from schemas import ledger
from schemas import live as lv
from schemas import participation as pb
from schemas.live import LiveTable
from schemas.requests import DISTRICT_ID, PARENT_ID, SOURCE, SOURCE_FILE, SOURCE_POSITION, UTC_TS

VOTES_READER = "votes"  # the stream of votes' committing reader (offsets table)
RULES, PROJECTS = "rules", "projects"  # an election's META (JSON) and PROJECTS rows (JSON)
OPENED_AT, CLOSED_AT, UPDATED_AT = "opened_at", "closed_at", "updated_at"
BALLOTS_IN, MES_BALLOTS, POSITION = "ballots_in", "mes_ballots", "position"
COUNTED, REPLACED, DEAD = "counted", "replaced", "dead"
SHARE = "share"
LIVE_GROUP_KINDS = (pb.GroupKind.DISTRICT, pb.GroupKind.PARENT, pb.GroupKind.AGE_BAND, pb.GroupKind.SEX,
                    pb.GroupKind.VOTING_METHOD)
_TEXT, _INT, _REAL, _FLAG = pa.string(), pa.int64(), pa.float64(), pa.bool_()

ELECTIONS_TABLE = LiveTable("vote_elections", pa.schema([
    (pb.ELECTION_ID, _TEXT), (SOURCE, _TEXT), (pb.VOTE_TYPE, _TEXT), (pb.BUDGET, _REAL),
    (RULES, _TEXT), (PROJECTS, _TEXT), (OPENED_AT, UTC_TS), (CLOSED_AT, UTC_TS),
    (pb.BALLOTS, _INT), (BALLOTS_IN, _INT), (MES_BALLOTS, _INT), (pb.SPENT_GREEDY, _REAL),
    (pb.SPENT_MES, _REAL), (UPDATED_AT, UTC_TS), (lv.CHANGE_ID, _INT),
]), primary_key=(pb.ELECTION_ID,), defaults={pb.BALLOTS: 0, BALLOTS_IN: 0, pb.SPENT_GREEDY: 0},
    indexes={"vote_elections_by_source": (SOURCE,)})
PROJECTS_TABLE = LiveTable("vote_projects", pa.schema([
    (pb.ELECTION_ID, _TEXT), (pb.PROJECT_ID, _TEXT), (POSITION, _INT), (pb.NAME, _TEXT), (pb.COST, _REAL),
    (pb.CATEGORY, _TEXT), (pb.VOTES, _INT), (pb.SCORE, _REAL), (pb.SELECTED_GREEDY, _FLAG),
    (pb.SELECTED_MES, _FLAG),
]), primary_key=(pb.ELECTION_ID, pb.PROJECT_ID), defaults={pb.VOTES: 0, pb.SCORE: 0, pb.SELECTED_GREEDY: 0})
TURNOUT_TABLE = LiveTable("vote_turnout", pa.schema([
    (pb.ELECTION_ID, _TEXT), (pb.GROUP_KIND, _TEXT), (pb.GROUP_VALUE, _TEXT), (pb.GROUP_NAME, _TEXT),
    (pb.POPULATION, _REAL), (pb.BALLOTS, _INT),
]), primary_key=(pb.ELECTION_ID, pb.GROUP_KIND, pb.GROUP_VALUE), defaults={pb.BALLOTS: 0})
PROJECT_GROUPS_TABLE = LiveTable("vote_project_groups", pa.schema([
    (pb.ELECTION_ID, _TEXT), (pb.GROUP_KIND, _TEXT), (pb.GROUP_VALUE, _TEXT), (pb.PROJECT_ID, _TEXT),
    (pb.VOTES, _INT), (pb.SCORE, _REAL),
]), primary_key=(pb.ELECTION_ID, pb.GROUP_KIND, pb.GROUP_VALUE, pb.PROJECT_ID))
DEAD_TABLE = LiveTable("vote_dead_letters", pa.schema([
    (pb.ELECTION_ID, _TEXT), (dl.REASON, _TEXT), (pb.BALLOTS, _INT),
]), primary_key=(pb.ELECTION_ID, dl.REASON))
SEGMENTS_TABLE = LiveTable("vote_segments", pa.schema([
    (SOURCE, _TEXT), (lv.SEQ, _INT), (pb.ELECTION_ID, _TEXT), (lv.LANDED_AT, UTC_TS),
    (lv.COMMITTED_AT, UTC_TS), (ledger.RECORDS_IN, _INT), (COUNTED, _INT), (REPLACED, _INT), (DEAD, _INT),
]), primary_key=(SOURCE, lv.SEQ))
# restricted: never read by the feed (only `writer_votes` reads it)
BALLOTS_TABLE = LiveTable("vote_ballots", pa.schema([
    (pb.ELECTION_ID, _TEXT), (pb.VOTER_KEY, _TEXT), (pb.CHOICES, _TEXT), (pb.POINTS, _TEXT),
    (DISTRICT_ID, _TEXT), (PARENT_ID, _TEXT), (pb.AGE_BAND, _TEXT), (pb.SEX, _TEXT),
    (pb.VOTING_METHOD, _TEXT), (SOURCE_FILE, _TEXT), (SOURCE_POSITION, _INT),
]), primary_key=(pb.ELECTION_ID, pb.VOTER_KEY))
VOTE_TABLES = (ELECTIONS_TABLE, PROJECTS_TABLE, TURNOUT_TABLE, PROJECT_GROUPS_TABLE, DEAD_TABLE,
               SEGMENTS_TABLE, BALLOTS_TABLE)
ELECTION_COLUMNS = tuple(c for c in ELECTIONS_TABLE.columns if c not in (RULES, PROJECTS))



def shown_count(count: int | None) -> int | None:
    """A count of ballots as the feed and its events show it: null under MIN_CELL, like every
    published count."""
    return None if count is None or count < pb.MIN_CELL else count

def has_vote_tables(db: sqlite3.Connection) -> bool:
    """False for a store no vote was ever opened in (the stream of requests made it)."""
    return has_table(db, ELECTIONS_TABLE.name)


def status_of(row: dict) -> str:
    """`open` or `closed` (ballots landed after `closed_at` are not counted)."""
    return pb.STATUS_CLOSED if row.get(CLOSED_AT) is not None else pb.STATUS_OPEN


def elections(db: sqlite3.Connection) -> list[dict]:
    """Every election of the store (without its rules and projects), oldest first."""
    if not has_vote_tables(db):
        return []
    rows = db.execute(select(ELECTIONS_TABLE, ELECTION_COLUMNS) + f" ORDER BY {OPENED_AT}").fetchall()
    return [_election_row(row) for row in rows]


def election(db: sqlite3.Connection, election_id: str, with_rules: bool = False) -> dict | None:
    """One election's row (`with_rules`: its META and PROJECTS too), None when the store has none."""
    if not has_vote_tables(db):
        return None
    columns = ELECTIONS_TABLE.columns if with_rules else ELECTION_COLUMNS
    row = db.execute(select(ELECTIONS_TABLE, columns, f"{pb.ELECTION_ID} = ?"), (election_id,)).fetchone()
    return _election_row(row, columns) if row else None


def election_of_source(db: sqlite3.Connection, source: str) -> dict | None:
    """The election (with its rules) whose ballots land in landing source `source`."""
    if not has_vote_tables(db):
        return None
    found = db.execute(select(ELECTIONS_TABLE, (pb.ELECTION_ID,), f"{SOURCE} = ?"), (source,)).fetchone()
    return election(db, found[0], with_rules=True) if found else None


def _election_row(row: tuple, columns: tuple[str, ...] = ELECTION_COLUMNS) -> dict:
    found = dict(zip(columns, row, strict=True))
    for name in (OPENED_AT, CLOSED_AT, UPDATED_AT):
        found[name] = from_micros(found[name])
    for name in (RULES, PROJECTS):
        if name in found:
            found[name] = json.loads(found[name])
    return found


def project_frame(db: sqlite3.Connection, election_id: str) -> pl.DataFrame:
    """The election's projects with their full (unsuppressed) tallies, in the file's order."""
    rows = db.execute(select(PROJECTS_TABLE, where=f"{pb.ELECTION_ID} = ?") + f" ORDER BY {POSITION}",
                      (election_id,)).fetchall()
    return to_frame(rows, PROJECTS_TABLE)


def public_projects(projects: pl.DataFrame, ballots: int) -> pl.DataFrame:
    """Projects as the feed shows them: share of ballots; votes, score and share null under `MIN_CELL`."""
    small = pl.col(pb.VOTES) < pb.MIN_CELL
    return projects.select(
        pb.PROJECT_ID, pb.NAME, pb.COST, pb.CATEGORY,
        *[pl.when(small).then(None).otherwise(expr).alias(name) for name, expr in (
            (pb.VOTES, pl.col(pb.VOTES)), (pb.SCORE, pl.col(pb.SCORE)),
            (SHARE, pl.col(pb.VOTES) / ballots if ballots else pl.lit(None, pl.Float64)),
        )],
        small.alias(pb.SUPPRESSED), pb.SELECTED_GREEDY, pb.SELECTED_MES,
    )


def public_turnout(db: sqlite3.Connection, election_id: str, kind: str, ballots: int) -> pl.DataFrame:
    """Ballots per group of one kind, their share of all ballots and per 1,000 residents (where
    the city pack knows the population); null with `suppressed` under `MIN_CELL` ballots."""
    columns = (pb.GROUP_VALUE, pb.GROUP_NAME, pb.POPULATION, pb.BALLOTS)
    rows = db.execute(select(TURNOUT_TABLE, columns, f"{pb.ELECTION_ID} = ? AND {pb.GROUP_KIND} = ?")
                      + f" ORDER BY {pb.GROUP_VALUE}", (election_id, kind)).fetchall()
    frame = to_frame(rows, TURNOUT_TABLE, columns)
    small = pl.col(pb.BALLOTS) < pb.MIN_CELL
    figures = (
        (pb.BALLOTS, pl.col(pb.BALLOTS)),
        (pb.SHARE_OF_BALLOTS, pl.col(pb.BALLOTS) / ballots if ballots else pl.lit(None, pl.Float64)),
        (pb.BALLOTS_PER_1000, pl.col(pb.BALLOTS) / pl.col(pb.POPULATION) * 1000),
    )
    return frame.select(
        pb.GROUP_VALUE, pb.GROUP_NAME,
        *[pl.when(small).then(None).otherwise(expr).alias(name) for name, expr in figures],
        pb.POPULATION, small.alias(pb.SUPPRESSED),
    )


def dead_letter_counts(db: sqlite3.Connection, election_id: str) -> dict[str, int]:
    """Ballots refused per reason (counts only: the ballots themselves are never kept here)."""
    rows = db.execute(select(DEAD_TABLE, (dl.REASON, pb.BALLOTS), f"{pb.ELECTION_ID} = ?"), (election_id,))
    return dict(sorted(rows.fetchall()))
