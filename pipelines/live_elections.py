"""Opening and closing live votes: an election's rules and projects in the city's live store, and
the outcomes the stream of votes recomputes at every commit.

`open_vote` reads a `.pb` file's META and PROJECTS (its VOTES section may be empty: ballots are
landed afterwards, `land_votes`), checks them as the batch pipeline does (`election_from_pabulib`)
and registers the vote, with a zero row per district, parent area, age band and sex so that the
turnout lists every group. The rules are stored as the file gives them (META as JSON, PROJECTS
as text rows), so the stream types them again exactly as the batch would. `close_vote` marks the
vote closed and decides it (the Method of Equal Shares over every counted ballot).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from models.cities.errors import CityPackError
from models.cities.pack import CityPack
from models.participation.election import Election, election_from_pabulib
from models.participation.outcomes import equal_shares, greedy_selection
from pipelines.sources.errors import SourceFormatError
from pipelines.sources.participation.pabulib import read_pabulib
from pipelines.sources.participation.vote_file import VoteFile
from pipelines.transforms.participation.decide import outcome_instance
from pipelines.transforms.participation.live import stored_ballots
from pipelines.transforms.participation.places import populations
from pipelines.transforms.participation.tally import VOTER_INDEX, support_entries
from plumbing.ballot_landing import BallotLog, vote_source
from plumbing.live_store import votes as vt
from plumbing.live_store.backend import describe, store_exists
from plumbing.live_store.writer import LiveStore
from plumbing.live_store.writer_votes import (
    ElectionDefinition,
    Outcomes,
    close_election,
    create_vote_tables,
    register_election,
)
from plumbing.workspace import Workspace
from schemas import citypack as cp
from schemas import participation as pb

MES_LIVE_BALLOTS = 5_000  # up to this many counted ballots, MES is recomputed at every commit
SEXES = ("F", "M")


def election_of(row: dict) -> Election:
    """The Election of a vote registered in the live store (its rules typed again)."""
    projects = row[vt.PROJECTS]
    columns = list(projects[0]) if projects else [pb.PROJECT_ID, pb.COST]
    frame = pl.DataFrame(projects, schema=dict.fromkeys(columns, pl.String), orient="row")
    return election_from_pabulib(row[pb.ELECTION_ID], row[vt.RULES], frame, f"vote {row[pb.ELECTION_ID]!r}")


def outcomes_of(election: Election) -> Outcomes:
    """What `writer_votes` asks at every commit: greedy's selection, and MES's while it is cheap
    (at most MES_LIVE_BALLOTS ballots) or once the vote is closed, else None (not known yet).
    Both see the projects as the batch pipeline's `decide` does (`outcome_instance`)."""
    extra = [pb.PROJECT_ID, *(c for c in election.projects.columns if c not in vt.PROJECTS_TABLE.columns)]

    def decide(row: dict, projects: pl.DataFrame, load) -> tuple[list[bool], list[bool] | None]:
        """(greedy, MES or None) for the vote's `row` and full project tallies; `load()` reads the ballots."""
        projects = projects.join(election.projects.select(extra), on=pb.PROJECT_ID, how="left", maintain_order="left")
        decided = row[vt.CLOSED_AT] is not None or row[pb.BALLOTS] <= MES_LIVE_BALLOTS
        ballots = stored_ballots(load() if decided else _NO_BALLOTS).with_row_index(VOTER_INDEX)
        instance = outcome_instance(election, projects, support_entries(ballots), ballots.height)
        greedy = greedy_selection(instance.costs, projects[pb.SCORE].to_numpy(), election.budget,
                                  election.threshold, instance.tie_order)
        if not decided:
            return greedy.tolist(), None
        return greedy.tolist(), equal_shares(instance).tolist() if ballots.height else [False] * projects.height

    return decide


_NO_BALLOTS = pl.DataFrame(schema={pb.VOTER_KEY: pl.String, pb.CHOICES: pl.String, pb.POINTS: pl.String})


def read_vote_file(path: Path, encoding: str | None = None) -> VoteFile:
    """A `.pb` file whose VOTES section may be empty, even without its header line."""
    try:
        return read_pabulib(path, encoding)
    except SourceFormatError as error:
        if "VOTES has no header line" not in str(error):
            raise
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / path.name
        copy.write_bytes(path.read_bytes().rstrip() + b"\nvoter_id;vote\n")
        parsed = read_pabulib(copy, encoding)
    return VoteFile(path, parsed.meta, parsed.projects, parsed.ballots.clear(), parsed.encoding)


def group_rows(pack: CityPack | None) -> pl.DataFrame:
    """A zero row per district and parent area (with their names and residents), age band and sex."""
    rows = [(pb.GroupKind.AGE_BAND, name, None, None) for *_, name in pb.AGE_BANDS]
    rows += [(pb.GroupKind.SEX, sex, None, None) for sex in SEXES]
    if pack is not None:
        residents = populations(pack)
        districts = pack.districts_frame()
        for district, name in districts.select(cp.DISTRICT_ID, cp.DISTRICT_NAME).iter_rows():
            rows.append((pb.GroupKind.DISTRICT, district, name, residents.get((pb.GroupKind.DISTRICT, district))))
        parents = districts.drop_nulls(cp.PARENT_ID).unique(cp.PARENT_ID, keep="first", maintain_order=True)
        for parent, name in parents.select(cp.PARENT_ID, cp.PARENT_NAME).iter_rows():
            rows.append((pb.GroupKind.PARENT, parent, name, residents.get((pb.GroupKind.PARENT, parent))))
    schema = {pb.GROUP_KIND: pl.String, pb.GROUP_VALUE: pl.String, pb.GROUP_NAME: pl.String,
              pb.POPULATION: pl.Float64}
    return pl.DataFrame(rows, schema=schema, orient="row")


def _pack(workspace: Workspace, city: str) -> CityPack | None:
    try:
        return CityPack.load(workspace.city(city))
    except CityPackError:
        return None


def open_vote(workspace: Workspace, city: str, path: Path, election_id: str | None = None,
              repeated_voter: str | None = None, encoding: str | None = None) -> tuple[Election, bool, int]:
    """Register the vote of a `.pb` file as open in the city's live store: (its election, whether
    it was registered now rather than before, the ballots its VOTES section has, not landed)."""
    parsed = read_vote_file(Path(path), encoding)
    election_id = election_id or Path(path).stem
    election = election_from_pabulib(election_id, parsed.meta, parsed.projects, str(path), repeated_voter)
    definition = ElectionDefinition(
        election_id=election_id, source=vote_source(election_id), vote_type=election.vote_type,
        budget=election.budget, rules={**parsed.meta, "repeated_voter": election.repeated_voter},
        projects_text=parsed.projects.to_dicts(),
        projects=election.projects.select(pb.PROJECT_ID, pl.int_range(pl.len()).alias(vt.POSITION), pb.NAME,
                                          pb.COST, pb.CATEGORY),
        groups=group_rows(_pack(workspace, city)),
    )
    store = LiveStore(workspace.live_store(city))
    try:
        create_vote_tables(store.db)
        created = register_election(store, definition)
    finally:
        store.close()
    BallotLog(workspace.landing(city), definition.source).create()
    return election, created, parsed.ballots.height


def close_vote(workspace: Workspace, city: str, election_id: str) -> bool:
    """Close a vote (False when it was closed before) and decide it from every counted ballot."""
    path = workspace.live_store(city)
    if not store_exists(path):
        raise ValueError(f"no vote is open in city {city!r} ({describe(path)} does not exist)")
    store = LiveStore(path)
    try:
        create_vote_tables(store.db)
        row = vt.election(store.db, election_id, with_rules=True)
        if row is None:
            known = ", ".join(repr(r[pb.ELECTION_ID]) for r in vt.elections(store.db)) or "none"
            raise ValueError(f"no vote {election_id!r} in city {city!r} (its votes: {known})")
        return close_election(store, election_id, datetime.now(UTC), outcomes_of(election_of(row)))
    finally:
        store.close()
