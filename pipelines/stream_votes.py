"""Live votes: ballots landed while a vote is open -> its tallies in the live store, in seconds.

    urbanpulse vote open FILE.pb --city C        rules and projects into the live store (`open_vote`)
    urbanpulse land votes FILE --election E      ballots into the vote's landing log (`land_votes`)
    urbanpulse stream votes --city C             this pipeline, until stopped:

    the registered votes' sources -> ReadLandingSegments (ballot logs; splittable, runs until stopped)
      -> CountBallots, per segment: validate_ballots with the stored rules, one ballot per voter
         (repeats within the segment, then each voter's stored ballot: the latest counts, the
         earlier one's contribution is taken back; or, rule `refuse`, the first), voters placed
         by their neighbourhood, signed tally changes, the outcomes -> one transaction of the
         live store with the offset, and a change for the feed (`writer_votes.commit_ballots`)
    urbanpulse vote close E --city C             later ballots are dead letters `vote_closed`

The steps reuse the request stream's: the landing reader, the segment committer (offsets, a
segment committed once), the stop and restart signals. Greedy is recomputed at every commit
(microseconds). The Method of Equal Shares needs every ballot: it is recomputed at every commit
while the vote has at most `live_elections.MES_LIVE_BALLOTS` counted ballots (5,000 ballots of the demo city's
110 projects: about 25 ms on 2 vCPUs, reading them from the store included; 120,000 ballots take
about half a second), else it is null until the vote closes; closing decides it, and so does
every commit after the close (ballots that landed before the close and are counted after it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import apache_beam as beam
import polars as pl
from apache_beam.metrics import Metrics

from models.cities.errors import CityPackError
from models.cities.pack import CityPack
from pipelines.live_elections import election_of, outcomes_of
from pipelines.live_runs import catch_up_range, follow, run_live_pipeline
from pipelines.sinks.live_store import _SegmentCommitter
from pipelines.sources.landing import ReadLandingSegments
from pipelines.stream_requests import LiveReport, combined_report
from pipelines.transforms.participation.live import (
    ballot_rows,
    no_deltas,
    stored_ballots,
    tally_deltas,
    with_age_band,
)
from pipelines.transforms.participation.places import place_by_name
from pipelines.transforms.participation.validate import count_repeated_voters, validate_ballots
from plumbing.ballot_landing import BallotLog
from plumbing.landing import segment_ref
from plumbing.live_store import votes as vt
from plumbing.live_store.backend import store_exists
from plumbing.live_store.reader import LiveStoreReader
from plumbing.live_store.writer import LiveStore, SegmentLedger, writing_store
from plumbing.live_store.writer_votes import (
    BallotCommit,
    ballots_of,
    commit_ballots,
    create_vote_tables,
)
from plumbing.pseudonyms import pseudonyms, voter_secret
from plumbing.workspace import Workspace
from schemas import dead_letters as dl
from schemas import ledger
from schemas import participation as pb
from schemas.requests import SOURCE

COUNTERS = (ledger.RECORDS_IN, ledger.RECORDS_OUT, ledger.DEAD_LETTERS)


@dataclass
class VoteSettings:
    workspace: Workspace
    city: str
    beam_args: list[str] = field(default_factory=list)
    sources = None  # NewSourceWatcher: a vote opened while the stream runs is followed too

    @property
    def store_path(self) -> Path:
        """The city's live store (shared with the stream of requests)."""
        return self.workspace.live_store(self.city)

    @property
    def landing(self) -> Path:
        """The city's landing root (ballot logs under `votes/`)."""
        return self.workspace.landing(self.city)

    def source_names(self, required: bool = True) -> list[str]:
        """The landing sources of every vote registered in the city's live store (open or closed)."""
        names: list[str] = []
        if store_exists(self.store_path):
            reader = LiveStoreReader.open(self.store_path)
            try:
                names = sorted(row[SOURCE] for row in vt.elections(reader.db))
            finally:
                reader.close()
        if not names and required:
            raise ValueError(f"no vote is open in city {self.city!r}; open one first: "
                             f"urbanpulse vote open FILE.pb --city {self.city}")
        return names


class _CountBallots(_SegmentCommitter):
    """Counts each landed segment of ballots into its vote's tallies, once (see the module docstring)."""

    reader = vt.VOTES_READER
    log_class = BallotLog

    def __init__(self, landing_root: str, store_path: str, home: str, city: str) -> None:
        super().__init__(landing_root, store_path, "UTC", timedelta(0))
        self.home, self.city = home, city
        self.ballots_in = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.RECORDS_IN)
        self.dead = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.DEAD_LETTERS)

    def setup(self) -> None:
        """The store (offsets, vote tables), the pseudonym secret and the city pack, once per worker."""
        super().setup()
        create_vote_tables(self.store.db)
        workspace = Workspace(Path(self.home))
        self.secret = voter_secret(workspace)
        try:
            self.pack: CityPack | None = CityPack.load(workspace.city(self.city))
        except CityPackError:
            self.pack = None  # voters are grouped by age, sex and voting method only
        self.elections: dict[str, tuple] = {}

    def _election(self, source: str):
        """(stored row, Election, outcomes) of the vote whose ballots land in `source`; the row
        (its closing time) is read again for every segment, the rules once."""
        row = vt.election_of_source(self.store.db, source)
        if row is None:
            raise ValueError(f"landing source {source!r} belongs to no vote of the live store {self.store_path}")
        if source not in self.elections:
            election = election_of(row)
            self.elections[source] = (election, outcomes_of(election))
        return (row, *self.elections[source])

    def commit(self, segment: SegmentLedger, frame: pl.DataFrame) -> pl.DataFrame:
        """Count one segment in one transaction; returns the ballots it counted."""
        row, election, outcomes = self._election(segment.source)
        now = datetime.now(UTC)
        self.ballots_in.inc(frame.height)
        closed_at = row[vt.CLOSED_AT]
        if closed_at is not None and segment.landed_at >= closed_at:
            counted, commit = frame.clear(), self._closed(segment, election.election_id, frame.height)
        else:
            counted, commit = self._counted(segment, election, frame, now)
        self.dead.inc(sum(commit.dead.values()) + commit.replaced)
        commit_ballots(self.store, commit, self.reader, outcomes)
        return counted

    def _counted(self, segment: SegmentLedger, election, frame: pl.DataFrame, now: datetime):
        valid, dead = validate_ballots(frame, election, segment.source, now)
        ref = segment_ref(segment.source, segment.seq)
        kept, repeated = count_repeated_voters(valid, election.repeated_voter, {ref: 0}, now)
        scope = f"{self.city}\x00{election.election_id}"
        kept = kept.with_columns(pseudonyms(kept[pb.VOTER_ID], self.secret, scope).alias(pb.VOTER_KEY))
        kept = kept.drop(pb.VOTER_ID)
        earlier = stored_ballots(ballots_of(self.store.db, election.election_id, kept[pb.VOTER_KEY].to_list()))
        refused = 0
        if election.repeated_voter == "refuse":  # the first ballot counts: a later one is refused
            again = kept[pb.VOTER_KEY].is_in(earlier[pb.VOTER_KEY].implode())
            refused, kept, earlier = int(again.sum()), kept.filter(~again), earlier.clear()
        kept = with_age_band(place_by_name(kept, pb.NEIGHBORHOOD, self.pack))
        projects, groups, turnout = tally_deltas(kept, earlier)
        reasons = pl.concat([dead, repeated])[dl.REASON].value_counts()
        counts = dict(zip(reasons[dl.REASON], reasons["count"], strict=True))
        if refused:
            counts[pb.BallotReason.REPEATED_VOTER] = counts.get(pb.BallotReason.REPEATED_VOTER, 0) + refused
        commit = BallotCommit(segment, election.election_id, ballot_rows(kept, election.election_id),
                              projects, groups, turnout, counts, kept.height - earlier.height, earlier.height)
        return kept, commit

    @staticmethod
    def _closed(segment: SegmentLedger, election_id: str, ballots: int) -> BallotCommit:
        """A segment that landed after its vote closed: every ballot a dead letter, nothing counted."""
        rows = pl.DataFrame(schema=dict.fromkeys(vt.BALLOTS_TABLE.columns, pl.String))
        return BallotCommit(segment, election_id, rows, *no_deltas(), {pb.VOTE_CLOSED: ballots})


def build_vote_pipeline(pipeline: beam.Pipeline, settings: VoteSettings, sources: list[str],
                        start: dict[str, int], end: dict[str, int] | None) -> None:
    """The ballot logs of `sources` from `start` (to `end`, else until stopped), counted per segment."""
    _ = (
        pipeline
        | "VoteSources" >> beam.Create(sources)
        | "ReadBallotSegments" >> ReadLandingSegments(settings.landing, start, end, BallotLog)
        | "CountBallots" >> beam.ParDo(_CountBallots(
            str(settings.landing), str(settings.store_path), str(settings.workspace.root), settings.city))
    )


@contextmanager
def holding_votes(settings: VoteSettings) -> Iterator[LiveStore]:
    """The live store for the stream of votes: one per city (a lock file of its own, beside the
    request stream's: the two write the same store, SQLite serialises their transactions)."""
    busy = f"a stream of the votes of city {settings.city!r} is already running"
    with writing_store(settings.store_path, ".votes.lock", busy) as store:
        create_vote_tables(store.db)
        yield store


def _run(settings: VoteSettings, sources: list[str], start: dict[str, int], end: dict[str, int] | None) -> LiveReport:
    counters, offsets, seconds = run_live_pipeline(
        lambda pipeline: build_vote_pipeline(pipeline, settings, sources, start, end), settings.beam_args, vt.VOTES_READER,
        settings.store_path)
    return LiveReport(settings.city, sources, counters, offsets, seconds)


def stream(settings: VoteSettings) -> LiveReport:
    """Follow the ballot logs of every registered vote until SIGINT/SIGTERM (or `STOP.set()`)."""
    reports = follow(settings, holding_votes, vt.VOTES_READER, lambda sources, start: _run(settings, sources, start, None))
    return combined_report(reports)


def catch_up(settings: VoteSettings, from_seq: int | None = None) -> LiveReport:
    """Count what has landed up to the logs' current ends, then finish. `from_seq` reads the logs
    again from there: segments committed before are skipped (the tallies do not change)."""
    sources = settings.source_names()
    with holding_votes(settings) as store:
        start, end = catch_up_range(store.offsets(vt.VOTES_READER),
                                    {s: BallotLog(settings.landing, s).end() for s in sources}, from_seq)
        return _run(settings, sources, start, end)

