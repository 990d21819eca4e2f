"""`/api/v1/participation/...`: the city's live votes as the stream of votes counts them.

    GET /api/v1/participation/elections
    GET /api/v1/participation/{election}/projects
    GET /api/v1/participation/{election}/turnout?group=district|parent|age_band|sex|voting_method

Figures come from the live store (`plumbing.live_store.votes`), already suppressed: a project or
group with fewer than `MIN_CELL` ballots has null counts and `suppressed: true`. The selections
are the stream's, made at its last commit from the full tallies: greedy always; the Method of
Equal Shares while the vote is small enough to decide at every commit, else once it is closed
(`mes` says which: `current`, or `at_close` with null selections until then). Every commit also
sends a `change` event with `kind: participation` on `/api/v1/stream`. Voters' ballots are kept
in the store for the stream only and never served.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from dashboard.store import FeedError, reading
from plumbing.live_store import votes as vt
from schemas import participation as pb

LISTED_ELECTIONS = 30  # named in a 404; /elections has them all
MAX_ELECTION_CHARS = 200
MES_CURRENT, MES_AT_CLOSE = "current", "at_close"


def participation_router(store_path: Path, city: str) -> APIRouter:
    """The three endpoints of the module docstring, over the live store at `store_path`."""
    router = APIRouter()

    @router.get("/participation/elections")
    def elections() -> dict:
        """The city's votes: id, vote type, budget, ballots counted, status (open or closed), last
        update, what greedy (and MES) spend, and the ballots refused per reason."""
        with reading(store_path) as db:
            rows = vt.elections(db) if db is not None else []
            return {"city": city, "elections": [_election(row, vt.dead_letter_counts(db, row[pb.ELECTION_ID]))
                                                for row in rows]}

    @router.get("/participation/{election}/projects")
    def projects(election: str = PathParam(..., max_length=MAX_ELECTION_CHARS, description="election id")) -> dict:
        """Every project of the vote in the file's order: cost, votes, score, share of ballots,
        suppression, and whether greedy (and MES) select it with the tallies as they are now."""
        with reading(store_path) as db:
            row = _known(db, election, city)
            frame = vt.public_projects(vt.project_frame(db, election), row[pb.BALLOTS])
        return {**_header(row, city), "mes": _mes(row), "projects": frame.to_dicts()}

    @router.get("/participation/{election}/turnout")
    def turnout(
        election: str = PathParam(..., max_length=MAX_ELECTION_CHARS, description="election id"),
        group: str = Query(pb.GroupKind.DISTRICT, description=f"one of {', '.join(vt.LIVE_GROUP_KINDS)}"),
    ) -> dict:
        """Ballots per group of voters, their share of all ballots, and per 1,000 residents where
        the city pack knows the population (districts, parent areas)."""
        if group not in vt.LIVE_GROUP_KINDS:
            raise FeedError(400, f"group={group[:40]!r}: use one of {', '.join(vt.LIVE_GROUP_KINDS)}")
        with reading(store_path) as db:
            row = _known(db, election, city)
            frame = vt.public_turnout(db, election, group, row[pb.BALLOTS])
        return {**_header(row, city), "group": group, "groups": frame.to_dicts()}

    return router


def _known(db, election: str, city: str) -> dict:
    """The vote's row, or a 404 that names the city's votes."""
    row = vt.election(db, election) if db is not None else None
    if row is not None:
        return row
    known = [r[pb.ELECTION_ID] for r in vt.elections(db)] if db is not None else []
    more = len(known) - LISTED_ELECTIONS
    listing = ", ".join(repr(e) for e in known[:LISTED_ELECTIONS]) + (f" and {more} more" if more > 0 else "")
    raise FeedError(404, f"election {election[:60]!r} is not a vote of city {city!r}; its votes: "
                         f"{listing or 'none yet (urbanpulse vote open)'} (all of them: GET /api/v1/participation/elections)")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _header(row: dict, city: str) -> dict:
    return {"city": city, pb.ELECTION_ID: row[pb.ELECTION_ID], "status": vt.status_of(row),
            pb.BALLOTS: vt.shown_count(row[pb.BALLOTS]), vt.BALLOTS_IN: vt.shown_count(row[vt.BALLOTS_IN]),
            "last_update": _iso(row[vt.UPDATED_AT])}


def _mes(row: dict) -> str:
    return MES_CURRENT if row[vt.MES_BALLOTS] == row[pb.BALLOTS] else MES_AT_CLOSE


def _election(row: dict, dead: dict[str, int]) -> dict:
    return {
        pb.ELECTION_ID: row[pb.ELECTION_ID], pb.VOTE_TYPE: row[pb.VOTE_TYPE], pb.BUDGET: row[pb.BUDGET],
        pb.BALLOTS: vt.shown_count(row[pb.BALLOTS]), vt.BALLOTS_IN: vt.shown_count(row[vt.BALLOTS_IN]),
        "status": vt.status_of(row), "last_update": _iso(row[vt.UPDATED_AT]),
        vt.OPENED_AT: _iso(row[vt.OPENED_AT]), vt.CLOSED_AT: _iso(row[vt.CLOSED_AT]),
        pb.SPENT_GREEDY: row[pb.SPENT_GREEDY], pb.SPENT_MES: row[pb.SPENT_MES], "mes": _mes(row),
        "dead_letters": {reason: vt.shown_count(count) for reason, count in dead.items()},
    }
