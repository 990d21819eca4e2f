"""Writing live votes into the live store: opening, closing, and one transaction per landed segment.

Each segment of ballots the stream of votes counts is one transaction (`commit_ballots`): the
signed changes of the tallies (a voter's earlier ballot taken back, the new one added), the
voters' counted ballots (restricted), the dead letters per reason, the segment's ledger row, the
outcomes recomputed from the new tallies, one change row for the feed's event stream and the
reader's landing offset. Killing the writer at any moment leaves all of it or none of it, and a
segment below the offset is never counted again: the tallies are exactly once.

The outcomes are the caller's (`Outcomes`: greedy, and the Method of Equal Shares when it is
cheap enough or the vote is closed), computed inside the transaction from the full tallies.
The store's other writer, the stream of requests, shares the change table: SQLite serialises
the two (`BEGIN IMMEDIATE`, with the reader's busy timeout).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from plumbing.live_store import votes as vt
from plumbing.live_store.tables import (
    IN_JSON,
    create_table,
    from_micros,
    insert,
    micros,
    select,
    to_frame,
    to_rows,
)
from plumbing.live_store.writer import CHANGES_KEPT, LiveStore, SegmentLedger
from plumbing.transactions import write_transaction
from schemas import dead_letters as dl
from schemas import ledger
from schemas import live as lv
from schemas import participation as pb
from schemas.requests import SOURCE

KIND = "participation"  # `kind` of the feed changes the stream of votes writes
# (election row, full project tallies, loader of every counted ballot) -> (greedy, MES or None)
Outcomes = Callable[[dict, pl.DataFrame, Callable[[], pl.DataFrame]], tuple[list[bool], list[bool] | None]]
EVENT_COLUMNS = (pb.PROJECT_ID, pb.VOTES, pb.SCORE, pb.SUPPRESSED, pb.SELECTED_GREEDY, pb.SELECTED_MES)


def create_vote_tables(db: sqlite3.Connection) -> None:
    """The vote tables, where the store does not have them yet."""
    db.executescript("\n".join(create_table(table) for table in vt.VOTE_TABLES))


@dataclass
class ElectionDefinition:
    """What opening a vote registers: rules, projects (text rows and typed) and the groups."""

    election_id: str
    source: str
    vote_type: str
    budget: float
    rules: dict
    projects_text: list[dict]  # the PROJECTS rows as the file has them (to type them again)
    projects: pl.DataFrame  # project_id, position, name, cost, category
    groups: pl.DataFrame  # group_kind, group_value, group_name, population (districts, parents)


@dataclass
class BallotCommit:
    """One landed segment's effect on one election (deltas are signed)."""

    segment: SegmentLedger
    election_id: str
    ballots: pl.DataFrame  # BALLOTS_TABLE rows to insert or replace
    projects: pl.DataFrame  # project_id, votes, score
    groups: pl.DataFrame  # group_kind, group_value, project_id, votes, score
    turnout: pl.DataFrame  # group_kind, group_value, group_name, ballots
    dead: dict[str, int] = field(default_factory=dict)
    new_voters: int = 0  # the change in the election's ballots (a replacement adds none)
    replaced: int = 0  # earlier ballots of voters that voted again (`latest` rule)


def register_election(store: LiveStore, definition: ElectionDefinition) -> bool:
    """Register a vote as open; False when it is registered already with the same rules and
    projects. A different definition under the same id raises ValueError."""
    db = store.db
    with write_transaction(db):
        known = vt.election(db, definition.election_id, with_rules=True)
        if known is not None:
            if known[vt.RULES] != definition.rules or known[vt.PROJECTS] != definition.projects_text:
                raise ValueError(f"election {definition.election_id!r} is registered with other rules or "
                                 "projects: open the new file under another --election id")
            return False
        now = micros(datetime.now(UTC))
        row = {pb.ELECTION_ID: definition.election_id, SOURCE: definition.source,
               pb.VOTE_TYPE: definition.vote_type, pb.BUDGET: definition.budget,
               vt.RULES: json.dumps(definition.rules), vt.PROJECTS: json.dumps(definition.projects_text),
               vt.OPENED_AT: now, vt.UPDATED_AT: now}
        db.execute(insert(vt.ELECTIONS_TABLE, list(row)), list(row.values()))
        projects = definition.projects.with_columns(pl.lit(definition.election_id).alias(pb.ELECTION_ID))
        columns = (pb.ELECTION_ID, pb.PROJECT_ID, vt.POSITION, pb.NAME, pb.COST, pb.CATEGORY)
        db.executemany(insert(vt.PROJECTS_TABLE, columns), to_rows(projects, vt.PROJECTS_TABLE, columns))
        groups = definition.groups.with_columns(pl.lit(definition.election_id).alias(pb.ELECTION_ID))
        columns = (pb.ELECTION_ID, pb.GROUP_KIND, pb.GROUP_VALUE, pb.GROUP_NAME, pb.POPULATION)
        db.executemany(insert(vt.TURNOUT_TABLE, columns), to_rows(groups, vt.TURNOUT_TABLE, columns))
        _write_change(db, now, definition.election_id, "opened", None)
    return True


def close_election(store: LiveStore, election_id: str, closed_at: datetime, outcomes: Outcomes) -> bool:
    """Mark a vote closed (ballots that land from `closed_at` on are dead letters `vote_closed`)
    and decide it from every ballot counted so far; False when it was closed already."""
    db = store.db
    with write_transaction(db):
        known = vt.election(db, election_id)
        if known is None:
            raise ValueError(f"no election {election_id!r} in {store.path}; open it first (urbanpulse vote open)")
        if known[vt.CLOSED_AT] is not None:
            return False
        now = micros(datetime.now(UTC))
        db.execute(f"UPDATE {vt.ELECTIONS_TABLE.name} SET {vt.CLOSED_AT} = ?, {vt.UPDATED_AT} = ? "
                   f"WHERE {pb.ELECTION_ID} = ?", (micros(closed_at), now, election_id))
        before = vt.project_frame(db, election_id)
        _decide(db, election_id, outcomes)
        _write_change(db, now, election_id, "closed", before)
    return True


def commit_ballots(store: LiveStore, commit: BallotCommit, reader: str, outcomes: Outcomes) -> int:
    """Write one segment's effect in one transaction (see the module docstring); returns the change id."""
    db, segment, election_id = store.db, commit.segment, commit.election_id
    now = micros(datetime.now(UTC))
    with write_transaction(db):
        before = vt.project_frame(db, election_id)
        _add_tallies(db, commit)
        dead = sum(commit.dead.values()) + commit.replaced
        db.executemany(
            insert(vt.DEAD_TABLE, replace=False) + f" ON CONFLICT ({pb.ELECTION_ID}, {dl.REASON}) "
            f"DO UPDATE SET {pb.BALLOTS} = {pb.BALLOTS} + excluded.{pb.BALLOTS}",
            [(election_id, reason, count) for reason, count in _dead_counts(commit).items()],
        )
        db.execute(insert(vt.SEGMENTS_TABLE), (
            segment.source, segment.seq, election_id, micros(segment.landed_at), now, segment.records_in,
            commit.ballots.height, commit.replaced, dead,
        ))
        db.execute(f"UPDATE {vt.ELECTIONS_TABLE.name} SET {pb.BALLOTS} = {pb.BALLOTS} + ?, "
                   f"{vt.BALLOTS_IN} = {vt.BALLOTS_IN} + ?, {vt.UPDATED_AT} = ? WHERE {pb.ELECTION_ID} = ?",
                   (commit.new_voters, segment.records_in, now, election_id))
        _decide(db, election_id, outcomes)
        change_id = _write_change(db, now, election_id, "ballots", before, segment)
        store.set_offsets({segment.source: segment.seq + 1}, reader)
    return change_id


def _dead_counts(commit: BallotCommit) -> dict[str, int]:
    counts = dict(commit.dead)
    if commit.replaced:  # the earlier ballot of a voter who voted again no longer counts
        counts[pb.BallotReason.REPEATED_VOTER] = counts.get(pb.BallotReason.REPEATED_VOTER, 0) + commit.replaced
    return {reason: count for reason, count in counts.items() if count}


def _add_tallies(db: sqlite3.Connection, commit: BallotCommit) -> None:
    """The signed tallies added to the stored ones, and the counted ballots (insert or replace)."""
    election_id = commit.election_id
    db.executemany(
        f"UPDATE {vt.PROJECTS_TABLE.name} SET {pb.VOTES} = {pb.VOTES} + ?, {pb.SCORE} = {pb.SCORE} + ? "
        f"WHERE {pb.ELECTION_ID} = ? AND {pb.PROJECT_ID} = ?",
        [(votes, score, election_id, project) for project, votes, score in
         commit.projects.select(pb.PROJECT_ID, pb.VOTES, pb.SCORE).iter_rows()],
    )
    groups = vt.PROJECT_GROUPS_TABLE
    db.executemany(
        insert(groups, replace=False) + f" ON CONFLICT ({', '.join(groups.primary_key)}) DO UPDATE SET "
        f"{pb.VOTES} = {pb.VOTES} + excluded.{pb.VOTES}, {pb.SCORE} = {pb.SCORE} + excluded.{pb.SCORE}",
        to_rows(commit.groups.with_columns(pl.lit(election_id).alias(pb.ELECTION_ID)), groups),
    )
    turnout, columns = vt.TURNOUT_TABLE, (pb.ELECTION_ID, pb.GROUP_KIND, pb.GROUP_VALUE, pb.GROUP_NAME, pb.BALLOTS)
    db.executemany(
        insert(turnout, columns, replace=False) + f" ON CONFLICT ({', '.join(turnout.primary_key)}) DO UPDATE SET "
        f"{pb.BALLOTS} = {pb.BALLOTS} + excluded.{pb.BALLOTS}, "
        f"{pb.GROUP_NAME} = coalesce({pb.GROUP_NAME}, excluded.{pb.GROUP_NAME})",
        to_rows(commit.turnout.with_columns(pl.lit(election_id).alias(pb.ELECTION_ID)), turnout, columns),
    )
    db.executemany(insert(vt.BALLOTS_TABLE), to_rows(commit.ballots, vt.BALLOTS_TABLE))


def _decide(db: sqlite3.Connection, election_id: str, outcomes: Outcomes) -> None:
    """The outcomes of the tallies as they are now: selection flags and what each rule spends."""
    known = vt.election(db, election_id, with_rules=True)
    projects = vt.project_frame(db, election_id)
    greedy, mes = outcomes(known, projects, lambda: all_ballots(db, election_id))
    flags = [(g, m, election_id, p) for g, m, p in
             zip(greedy, mes if mes is not None else [None] * len(greedy), projects[pb.PROJECT_ID], strict=True)]
    db.executemany(f"UPDATE {vt.PROJECTS_TABLE.name} SET {pb.SELECTED_GREEDY} = ?, {pb.SELECTED_MES} = ? "
                   f"WHERE {pb.ELECTION_ID} = ? AND {pb.PROJECT_ID} = ?", flags)
    costs = projects[pb.COST]
    spent_mes = float(costs.filter(pl.Series(mes)).sum()) if mes is not None else None
    db.execute(f"UPDATE {vt.ELECTIONS_TABLE.name} SET {pb.SPENT_GREEDY} = ?, {pb.SPENT_MES} = ?, "
               f"{vt.MES_BALLOTS} = ? WHERE {pb.ELECTION_ID} = ?",
               (float(costs.filter(pl.Series(greedy)).sum()), spent_mes,
                known[pb.BALLOTS] if mes is not None else None, election_id))


def _write_change(db: sqlite3.Connection, now: int, election_id: str, event: str, before: pl.DataFrame | None,
                  segment: SegmentLedger | None = None) -> int:
    """One row of the feed's change table: the election's totals and the projects whose public
    figures or selections changed (every project when `before` is None); older rows beyond the
    feed's replay buffer go."""
    changes = lv.CHANGES_TABLE
    change_id = db.execute(f"SELECT coalesce(max({lv.CHANGE_ROW_ID}), 0) + 1 FROM {changes.name}").fetchone()[0]
    known = vt.election(db, election_id)
    public = vt.public_projects(vt.project_frame(db, election_id), known[pb.BALLOTS]).select(EVENT_COLUMNS)
    if before is not None:
        earlier = vt.public_projects(before, known[pb.BALLOTS]).select(EVENT_COLUMNS)
        public = public.join(earlier, on=list(EVENT_COLUMNS), how="anti", nulls_equal=True, maintain_order="left")
    payload = {
        "id": change_id, "committed_at": from_micros(now).isoformat(), "kind": KIND, "event": event,
        pb.ELECTION_ID: election_id, "status": vt.status_of(known), pb.BALLOTS: vt.shown_count(known[pb.BALLOTS]),
        "projects": {"columns": list(EVENT_COLUMNS), "rows": [list(row) for row in public.iter_rows()]},
    }
    if segment is not None:
        payload["segment"] = {"source": segment.source, "seq": segment.seq,
                              "landed_at": segment.landed_at.isoformat(), ledger.RECORDS_IN: vt.shown_count(segment.records_in)}
    db.execute(insert(changes, replace=False), (change_id, now, json.dumps(payload)))
    db.execute(f"DELETE FROM {changes.name} WHERE {lv.CHANGE_ROW_ID} <= ?", (change_id - CHANGES_KEPT,))
    db.execute(f"UPDATE {vt.ELECTIONS_TABLE.name} SET {lv.CHANGE_ID} = ? WHERE {pb.ELECTION_ID} = ?",
               (change_id, election_id))
    return change_id


def ballots_of(db: sqlite3.Connection, election_id: str, voter_keys: list[str]) -> pl.DataFrame:
    """The counted ballots of these voters (restricted: the stream's own reads)."""
    query = select(vt.BALLOTS_TABLE, where=f"{pb.ELECTION_ID} = ? AND {pb.VOTER_KEY} {IN_JSON}")
    return to_frame(db.execute(query, (election_id, json.dumps(voter_keys))).fetchall(), vt.BALLOTS_TABLE)


def all_ballots(db: sqlite3.Connection, election_id: str) -> pl.DataFrame:
    """Every counted ballot of the election: voter key, choices and points (for the outcomes)."""
    columns = (pb.VOTER_KEY, pb.CHOICES, pb.POINTS)
    query = select(vt.BALLOTS_TABLE, columns, f"{pb.ELECTION_ID} = ?")
    return to_frame(db.execute(query, (election_id,)).fetchall(), vt.BALLOTS_TABLE, columns)
