"""Live aggregates: event-time windows x district x category, as the live store and feed serve them."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import timedelta

import pyarrow as pa

from schemas import dead_letters as dl
from schemas import ledger
from schemas import requests as rq

# --- windows -----------------------------------------------------------------------------
WINDOW = "window"
WINDOW_START = "window_start"
WINDOW_END = "window_end"
QUARTER_HOUR = "15m"
DAY = "1d"
WINDOW_KINDS = (QUARTER_HOUR, DAY)  # 1d windows follow the city's local midnight
QUARTER_HOUR_LENGTH = timedelta(minutes=15)
DEFAULT_ALLOWED_LATENESS = timedelta(days=14)

# --- one window's figures ------------------------------------------------------------------
NEW = "new"  # requests made in the window
CLOSED = "closed"  # requests closed in the window
CLOSED_WITH_OUTCOME = "closed_with_outcome"  # of those, with a plausible close time (SLA known)
CLOSED_WITHIN_SLA = "closed_within_sla"
MEDIAN_HOURS_TO_CLOSE = "median_hours_to_close"
SHARE_WITHIN_SLA = "share_within_sla"
BACKLOG = "backlog"  # open at the window's end: all requests made minus all closed, up to then

# --- request events (what one accepted version adds to or takes from the windows) ---------
EVENT_KIND = "event_kind"  # NEW or CLOSED
EVENT_TIME = "event_time"
SIGN = "sign"  # +1 adds the version's contribution, -1 takes back the previous version's
VERSION_TIME = "version_time"

# Where nothing is known (no district, no category) the store and the feed say "" / null.
UNKNOWN_KEY = ""

# --- the live store's tables ----------------------------------------------------------------
# Times are stored as epoch microseconds (UTC) and read back as UTC timestamps; booleans as 0/1.
# `plumbing.live_store.tables` builds the DDL and every insert and select from these.
READER = "reader"  # a committing reader of the landing log (WINDOWS_READER, ...)
NEXT_SEQ = "next_seq"  # the first landing segment a reader has not committed yet
SEQ = "seq"  # a landing segment's sequence number
LANDED_AT = "landed_at"
CHANGE_ID = "change_id"  # the feed change that last touched a window
HOURS = "hours"  # one closed request's hours to close, in a window's multiset
CHANGE_ROW_ID = "id"
COMMITTED_AT = "committed_at"
PAYLOAD = "payload"  # a change's JSON summary (segment, counts); windows are joined in on read
META_KEY, META_VALUE = "key", "value"
# retention (`plumbing.live_store.retention`): old segments' ledger rows folded into one per source
FOLDED_SEQ = -1  # the `seq` of a source's folded row
FOLDED_SEGMENTS = "folded_segments"  # how many segments a ledger row stands for (1, or the folded count)
RETENTION_SECONDS = "retention_seconds"  # a meta key: windows older than this behind the newest landing go
LATENESS_SECONDS = "allowed_lateness_seconds"  # a meta key, written by the stream
STORE_ID = "store_id"  # a meta key: random, written when the store is created

WINDOWS_READER, DEAD_LETTERS_READER, PUBLISHER = "windows", "dead_letters", "datasets"
READERS = (WINDOWS_READER, DEAD_LETTERS_READER, PUBLISHER)


@dataclass(frozen=True)
class LiveTable:
    """One table of the live store: columns in order, primary key, defaults and indexes."""

    name: str
    schema: pa.Schema
    primary_key: tuple[str, ...] = ()
    defaults: dict[str, int] = dc_field(default_factory=dict)
    indexes: dict[str, tuple[str, ...]] = dc_field(default_factory=dict)
    without_rowid: bool = True

    def __post_init__(self) -> None:
        _TABLES_BY_NAME[self.name] = self

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.schema.names)

    @staticmethod
    def named(name: str) -> LiveTable | None:
        """The table of that name, wherever it is defined (requests, votes, sensors)."""
        return _TABLES_BY_NAME.get(name)


_TABLES_BY_NAME: dict[str, LiveTable] = {}


_TEXT, _INT, _REAL, _FLAG, _TIME = pa.string(), pa.int64(), pa.float64(), pa.bool_(), rq.UTC_TS
WINDOW_KEY = (WINDOW, WINDOW_START, rq.DISTRICT_ID, rq.CATEGORY)

OFFSETS_TABLE = LiveTable("offsets", pa.schema(
    [(rq.SOURCE, _TEXT), (READER, _TEXT), pa.field(NEXT_SEQ, _INT, nullable=False)]
), primary_key=(rq.SOURCE, READER))
# the kept version of every request: what it contributes to the windows
REQUESTS_TABLE = LiveTable("requests", pa.schema([
    (rq.SERVICE_REQUEST_ID, _TEXT), (VERSION_TIME, _TIME), (rq.SOURCE_FILE, _TEXT), (rq.SOURCE_POSITION, _INT),
    (rq.REQUESTED_DATETIME, _TIME), (rq.CLOSED_DATETIME, _TIME), (rq.DISTRICT_ID, _TEXT), (rq.CATEGORY, _TEXT),
    (rq.HOURS_TO_CLOSE, _REAL), (rq.CLOSED_WITHIN_SLA, _FLAG),
]), primary_key=(rq.SERVICE_REQUEST_ID,))
WINDOWS_TABLE = LiveTable("windows", pa.schema([
    (WINDOW, _TEXT), (WINDOW_START, _TIME), (rq.DISTRICT_ID, _TEXT), (rq.CATEGORY, _TEXT),
    (NEW, _INT), (CLOSED, _INT), (CLOSED_WITHIN_SLA, _INT), (CLOSED_WITH_OUTCOME, _INT),
    (MEDIAN_HOURS_TO_CLOSE, _REAL), (CHANGE_ID, _INT),
]), primary_key=WINDOW_KEY, indexes={"windows_by_change": (CHANGE_ID,)})
# one ledger row per landing segment: records_in = records_out + too_late + invalid + enrich_failed
LEDGER_DEAD = (ledger.TOO_LATE, ledger.INVALID, ledger.ENRICH_FAILED)  # a segment's dead letters
SEGMENTS_TABLE = LiveTable("segments", pa.schema([
    (rq.SOURCE, _TEXT), (SEQ, _INT), (LANDED_AT, _TIME), (ledger.RECORDS_IN, _INT), (ledger.RECORDS_OUT, _INT),
    *((name, _INT) for name in LEDGER_DEAD), (FOLDED_SEGMENTS, _INT),
]), primary_key=(rq.SOURCE, SEQ), defaults={**dict.fromkeys((ledger.RECORDS_OUT, *LEDGER_DEAD), 0), FOLDED_SEGMENTS: 1})
_DEAD_LETTER_KEY = (rq.SOURCE_FILE, rq.SOURCE_POSITION)
DEAD_LETTERS_TABLE = LiveTable("dead_letters", pa.schema(
    [dl.DEAD_LETTER.field(name).with_nullable(True) for name in _DEAD_LETTER_KEY]
    + [f.with_nullable(True) for f in dl.DEAD_LETTER if f.name not in _DEAD_LETTER_KEY]
), primary_key=_DEAD_LETTER_KEY)
# hours to close behind each window's median, as an append-only multiset (+1 added, -1 taken back)
# what retention took out of `windows` (new and closed per window kind, district, category), so
# backlogs (all requests made minus all closed, up to a window's end) stay what they were
WINDOW_CARRY_TABLE = LiveTable("window_carry", pa.schema([
    (WINDOW, _TEXT), (rq.DISTRICT_ID, _TEXT), (rq.CATEGORY, _TEXT), (NEW, _INT), (CLOSED, _INT),
]), primary_key=(WINDOW, rq.DISTRICT_ID, rq.CATEGORY))
WINDOW_HOURS_TABLE = LiveTable("window_hours", pa.schema([
    (WINDOW, _TEXT), (WINDOW_START, _TIME), (rq.DISTRICT_ID, _TEXT), (rq.CATEGORY, _TEXT),
    (HOURS, _REAL), (SIGN, _INT),
]), indexes={"window_hours_by_start": (WINDOW, WINDOW_START)}, without_rowid=False)
CHANGES_TABLE = LiveTable("changes", pa.schema(
    [(CHANGE_ROW_ID, _INT), (COMMITTED_AT, _TIME), (PAYLOAD, _TEXT)]
), primary_key=(CHANGE_ROW_ID,), without_rowid=False)
META_TABLE = LiveTable("meta", pa.schema([(META_KEY, _TEXT), (META_VALUE, _TEXT)]),
                       primary_key=(META_KEY,), without_rowid=False)
# the published-safe fields of each request's kept version, as Open311 `GET requests` serves them:
# texts scrubbed of personal data (written after `ScrubPersonalData`, `writer_open311`)
OPEN311_REQUESTS_TABLE = LiveTable("open311_requests", pa.schema([
    (rq.SERVICE_REQUEST_ID, _TEXT), (VERSION_TIME, _TIME), (rq.SOURCE_FILE, _TEXT), (rq.SOURCE_POSITION, _INT),
    (rq.STATUS, _TEXT), (rq.STATUS_NOTES, _TEXT), (rq.SERVICE_CODE, _TEXT), (rq.SERVICE_NAME, _TEXT),
    (rq.DESCRIPTION, _TEXT), (rq.AGENCY_RESPONSIBLE, _TEXT), (rq.ADDRESS, _TEXT), (rq.LAT, _REAL), (rq.LONG, _REAL),
    (rq.REQUESTED_DATETIME, _TIME), (rq.UPDATED_DATETIME, _TIME), (rq.EXPECTED_DATETIME, _TIME),
    (rq.DISTRICT_ID, _TEXT), (rq.CATEGORY, _TEXT), (rq.SOURCE, _TEXT),
]), primary_key=(rq.SERVICE_REQUEST_ID,), indexes={
    "open311_requests_by_requested": (rq.REQUESTED_DATETIME,),
    "open311_requests_by_updated": (rq.UPDATED_DATETIME,),
})
UPDATE_ID = "update_id"  # an accepted version that changed a request's status or notes
# FixMyStreet's `servicerequestupdates`: one row per accepted version that changed status or notes
REQUEST_UPDATES_TABLE = LiveTable("request_updates", pa.schema([
    (UPDATE_ID, _TEXT), (rq.SERVICE_REQUEST_ID, _TEXT), (rq.STATUS, _TEXT), (rq.STATUS_NOTES, _TEXT),
    (rq.UPDATED_DATETIME, _TIME),
]), primary_key=(UPDATE_ID,), indexes={"request_updates_by_updated": (rq.UPDATED_DATETIME,)})
LIVE_TABLES = (OFFSETS_TABLE, REQUESTS_TABLE, WINDOWS_TABLE, SEGMENTS_TABLE, DEAD_LETTERS_TABLE,
               WINDOW_CARRY_TABLE, WINDOW_HOURS_TABLE, CHANGES_TABLE, META_TABLE, OPEN311_REQUESTS_TABLE, REQUEST_UPDATES_TABLE)
