"""An append-only, replayable log of raw request records per source, on the local file system.

Each city has its own landing root (`Workspace.landing(city)`, i.e. `landing/<city>/`), so two
cities' sources of the same name are two logs:

    landing/<city>/requests/<source>/segments/000000000042.arrow   one published segment (Arrow IPC)
    landing/<city>/requests/<source>/source.json                   how the inbox reads this source's files
    landing/<city>/requests/<source>/inbox/                        files dropped here are landed by the stream
    landing/<city>/requests/<source>/received/                     inbox files after they were landed

A producer writes a segment to a temporary file, fsyncs it and renames it into place while it
holds the source's lock, so sequence numbers grow by one with no gaps and a reader never sees
half a segment. A published segment is never changed. Its schema metadata says when it landed
and which file it came from.

`SegmentLog` is the small interface the pipelines read through; a Kafka topic (one partition
per source, offset = sequence number) can implement it without touching the pipelines.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import pyarrow as pa
from pyarrow import ipc

from plumbing.atomic import fsync_dir
from schemas import requests as rq

SEGMENT_DIGITS = 12
SEGMENT_SUFFIX = ".arrow"
SEGMENT_ROWS = 50_000  # a landed file larger than this becomes several segments
META_LANDED_AT = b"urbanpulse.landed_at"
META_ORIGIN = b"urbanpulse.origin"
_REF = re.compile(r"^landing:(?P<source>[^:]+):(?P<seq>\d+)$")


def segment_ref(source: str, seq: int) -> str:
    """What a record read from the log carries as `source_file`: its source and segment."""
    return f"landing:{source}:{seq:0{SEGMENT_DIGITS}d}"


def parse_segment_ref(ref: str) -> tuple[str, int]:
    match = _REF.match(ref)
    if match is None:
        raise ValueError(f"{ref!r} is not a landing segment reference")
    return match["source"], int(match["seq"])


def landed_ends(landing_root: Path) -> dict[str, int]:
    """Per source, the sequence number its next segment will get (how much has landed); read-only."""
    return {source: LandingLog(landing_root, source).end() for source in LandingLog.sources(landing_root)}


@dataclass(frozen=True)
class Segment:
    source: str
    seq: int
    landed_at: datetime
    origin: str
    records: pa.Table  # RAW_REQUEST rows; source_file names the segment, source_position its row


class SegmentLog(Protocol):
    """What the live and replay pipelines need from a landing log."""

    source: str

    def end(self) -> int:
        """The sequence number the next published segment will get (all below it exist)."""

    def read(self, seq: int) -> Segment: ...

    def first_landed_since(self, when: datetime) -> int: ...


class LandingLog:
    """One source's log in the workspace (see the module docstring for the layout).

    Subclasses keep other kinds of records in logs of their own: `FOLDER` under the landing
    root, segments of `SCHEMA` (which has `source_file` and `source_position`)."""

    FOLDER = "requests"
    SCHEMA = rq.RAW_REQUEST

    def __init__(self, landing_root: Path, source: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", source):
            raise ValueError(f"source name {source!r}: use letters, digits, '.', '_' or '-'")
        self.source = source
        self.root = Path(landing_root) / self.FOLDER / source
        self.segments = self.root / "segments"
        self.inbox = self.root / "inbox"
        self.received = self.root / "received"

    @classmethod
    def sources(cls, landing_root: Path) -> list[str]:
        folder = Path(landing_root) / cls.FOLDER
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []

    def create(self, fmt: str | None = None, mapping: Path | None = None,
               encoding: str | None = None) -> LandingLog:
        """Make the folders; record how inbox files of this source are read (first call wins)."""
        for folder in (self.segments, self.inbox, self.received):
            folder.mkdir(parents=True, exist_ok=True)
        settings = self.root / "source.json"
        if fmt and not settings.exists():
            settings.write_text(json.dumps(
                {"format": fmt, "mapping": str(mapping.resolve()) if mapping else None, "encoding": encoding}
            ))
        return self

    def settings(self) -> dict:
        path = self.root / "source.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def path(self, seq: int) -> Path:
        return self.segments / f"{seq:0{SEGMENT_DIGITS}d}{SEGMENT_SUFFIX}"

    def end(self) -> int:
        names = [p.name for p in self.segments.glob(f"*{SEGMENT_SUFFIX}")] if self.segments.exists() else []
        return max((int(n[:SEGMENT_DIGITS]) for n in names), default=-1) + 1

    def exists(self, seq: int) -> bool:
        return self.path(seq).exists()

    def append(self, records: pa.Table | pa.RecordBatch, origin: str) -> list[int]:
        """Publish `records` (RAW_REQUEST) as one or more segments; returns their sequence numbers."""
        table = pa.Table.from_batches([records]) if isinstance(records, pa.RecordBatch) else records
        table = table.select(self.SCHEMA.names).cast(self.SCHEMA)
        self.create()
        published = []
        with self._lock():
            seq = self.end()
            for offset in range(0, max(table.num_rows, 1), SEGMENT_ROWS):
                chunk = table.slice(offset, SEGMENT_ROWS)
                if chunk.num_rows == 0:
                    break
                self._publish(seq, chunk, origin)
                published.append(seq)
                seq += 1
        return published

    def read(self, seq: int) -> Segment:
        with pa.memory_map(str(self.path(seq))) as source:
            table = ipc.open_file(source).read_all()
        meta = table.schema.metadata or {}
        ref = segment_ref(self.source, seq)
        records = table.set_column(
            table.schema.get_field_index(rq.SOURCE_FILE), rq.SOURCE_FILE,
            pa.array([ref] * table.num_rows, pa.large_string()),
        ).set_column(
            table.schema.get_field_index(rq.SOURCE_POSITION), rq.SOURCE_POSITION,
            pa.array(range(table.num_rows), pa.int64()),
        )
        return Segment(
            source=self.source, seq=seq,
            landed_at=datetime.fromisoformat(meta[META_LANDED_AT].decode()),
            origin=meta.get(META_ORIGIN, b"").decode(), records=records.replace_schema_metadata(None),
        )

    def info(self, seq: int) -> tuple[datetime, int]:
        """(when segment `seq` landed, how many records it holds), from one read of its footer."""
        with pa.memory_map(str(self.path(seq))) as source:
            reader = ipc.open_file(source)
            rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
            meta = reader.schema.metadata or {}
        return datetime.fromisoformat(meta[META_LANDED_AT].decode()), rows

    def rows(self, seq: int) -> int:
        return self.info(seq)[1]

    def first_landed_since(self, when: datetime) -> int:
        """The first segment that landed at or after `when` (segments land in time order)."""
        low, high = 0, self.end()
        while low < high:
            middle = (low + high) // 2
            if self.landed_at(middle) < when:
                low = middle + 1
            else:
                high = middle
        return low

    def landed_at(self, seq: int) -> datetime:
        return self.info(seq)[0]

    def _publish(self, seq: int, table: pa.Table, origin: str) -> None:
        landed_at = datetime.now(UTC).isoformat()
        table = table.replace_schema_metadata(
            {**(self.SCHEMA.metadata or {}), META_LANDED_AT: landed_at.encode(), META_ORIGIN: origin.encode()}
        )
        temporary = self.segments / f".{uuid.uuid4().hex}.tmp"
        with open(temporary, "wb") as handle:
            with ipc.new_file(handle, table.schema) as writer:
                writer.write_table(table)
            handle.flush()
            os.fsync(handle.fileno())
        target = self.path(seq)
        if target.exists():  # the lock makes this impossible; never overwrite a published segment
            temporary.unlink()
            raise RuntimeError(f"segment {target} already exists")
        os.rename(temporary, target)
        fsync_dir(self.segments)

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.root / ".lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
