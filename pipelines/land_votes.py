"""Landing ballots of an open vote: `urbanpulse land votes FILE --city C --election ID`, and its API.

A ballot file is a Pabulib `.pb` file (its VOTES section), a VOTES-style CSV (`voter_id;vote;...`
or comma-separated with the vote quoted) or JSON lines (`{"voter_id": ..., "vote": "p1,p2" or
["p1", "p2"], "age": 34, "sex": "F", "neighborhood": ...}`). Every field is landed as text
(`schemas.participation.BALLOT_SEGMENT`); the stream of votes validates it against the vote's
rules. A line that cannot be read is landed as it is (`unreadable_record`) and becomes a dead
letter `unreadable_line` there, never a lost ballot. Ballots land only for a vote that was
opened in the city's live store (`urbanpulse vote open`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import pyarrow as pa

from pipelines.sources.limits import MAX_RECORD_CHARS, kept_text
from pipelines.sources.participation.pabulib import read_pabulib
from plumbing.ballot_landing import BallotLog
from plumbing.landing import SEGMENT_ROWS
from plumbing.live_store import votes as vt
from plumbing.live_store.backend import store_exists
from plumbing.live_store.reader import LiveStoreReader
from plumbing.workspace import Workspace
from schemas import participation as pb
from schemas.requests import SOURCE, SOURCE_FILE, SOURCE_POSITION, UNREADABLE_RECORD

FORMATS = ("pb", "csv", "jsonl")
FORMAT_BY_SUFFIX = {".pb": "pb", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class BallotLander:
    """Lands ballots of one registered election of a city (what tests and benchmarks call)."""

    def __init__(self, workspace: Workspace, city: str, election_id: str) -> None:
        self.election_id = election_id
        self.log = BallotLog(workspace.landing(city), registered_source(workspace, city, election_id)).create()

    def land(self, ballots: pl.DataFrame | Iterable[dict], origin: str = "api") -> list[int]:
        """Append ballots (a frame or dicts of VOTES fields, any value types) as segments."""
        frame = ballots if isinstance(ballots, pl.DataFrame) else _records_frame(list(ballots))
        return self.log.append(segment_table(frame, origin), origin=origin)

    def land_file(self, path: Path, fmt: str | None = None, encoding: str | None = None) -> list[int]:
        """Append a ballot file's ballots (`read_ballot_file`); returns the new segments."""
        frame = read_ballot_file(Path(path), fmt, encoding)
        published: list[int] = []
        for start in range(0, max(frame.height, 1), SEGMENT_ROWS):
            chunk = frame.slice(start, SEGMENT_ROWS)
            if chunk.height:
                published += self.log.append(segment_table(chunk, Path(path).name), origin=Path(path).name)
        return published


def registered_source(workspace: Workspace, city: str, election_id: str) -> str:
    """The landing source of a vote opened in the city's live store; ValueError saying what to do."""
    path = workspace.live_store(city)
    found = None
    if store_exists(path):
        reader = LiveStoreReader.open(path)
        try:
            found = vt.election(reader.db, election_id)
        finally:
            reader.close()
    if found is None:
        raise ValueError(f"no vote {election_id!r} is open in city {city!r}: open it first with "
                         f"urbanpulse vote open FILE.pb --city {city} --election {election_id}")
    return found[SOURCE]


def segment_table(frame: pl.DataFrame, origin: str) -> pa.Table:
    """Ballots as a BALLOT_SEGMENT table: every VOTES field as text, positions in row order."""
    columns = [
        (pl.col(name).cast(pl.String) if name in frame.columns else pl.lit(None, pl.String)).alias(name)
        for name in (*pb.BALLOT_TEXT_FIELDS, UNREADABLE_RECORD)
    ]
    table = frame.select(*columns, pl.lit(origin).alias(SOURCE_FILE),
                         pl.int_range(pl.len(), dtype=pl.Int64).alias(SOURCE_POSITION))
    return table.to_arrow().cast(pb.BALLOT_SEGMENT)


def read_ballot_file(path: Path, fmt: str | None = None, encoding: str | None = None) -> pl.DataFrame:
    """A ballot file's ballots as text columns (`fmt`: pb, csv or jsonl; default by suffix)."""
    fmt = fmt or FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if fmt not in FORMATS:
        raise ValueError(f"{path}: cannot tell its format from its name; give --format {'|'.join(FORMATS)}")
    if fmt == "pb":
        return read_pabulib(path, encoding).ballots
    text = path.read_bytes().decode(encoding or "utf-8-sig", errors="replace").splitlines()
    return _csv_frame(text, path) if fmt == "csv" else _jsonl_frame(text)


def _csv_frame(lines: list[str], path: Path) -> pl.DataFrame:
    """A VOTES-style CSV (`;` or `,` separated, by its header); a line that does not split into
    the header's fields is kept as unreadable."""
    lines = [line for line in lines if line.strip()]
    if not lines:
        return pl.DataFrame(schema={pb.VOTER_ID: pl.String, pb.VOTE: pl.String})
    separator = ";" if ";" in lines[0] else ","
    header = [name.strip().lower() for name in next(csv.reader([lines[0]], delimiter=separator))]
    if pb.VOTER_ID not in header or pb.VOTE not in header:
        raise ValueError(f"{path}: the header needs voter_id and vote (found: {lines[0][:200]})")
    rows = []
    for line in lines[1:]:
        fields = None
        if len(line) <= MAX_RECORD_CHARS:
            try:
                fields = next(csv.reader([line], delimiter=separator, quotechar='"', strict=True))
            except csv.Error:
                fields = None
        if fields is not None and len(fields) == len(header):
            rows.append([f.strip() or None for f in fields] + [None])
        else:
            rows.append([None] * len(header) + [kept_text(line)])
    return pl.DataFrame(rows, schema=dict.fromkeys([*header, UNREADABLE_RECORD], pl.String), orient="row")


def _jsonl_frame(lines: list[str]) -> pl.DataFrame:
    records = []
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line) if len(line) <= MAX_RECORD_CHARS else None
        except ValueError:
            record = None
        records.append(record if isinstance(record, dict) else {UNREADABLE_RECORD: kept_text(line)})
    return _records_frame(records)


def _records_frame(records: list[dict]) -> pl.DataFrame:
    """Dicts of VOTES fields as text; a list (of choices or points) is comma-joined."""
    def text(value) -> str | None:
        if value is None:
            return None
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
        return str(value)

    names = (*pb.BALLOT_TEXT_FIELDS, UNREADABLE_RECORD)
    return pl.DataFrame({name: [text(r.get(name)) for r in records] for name in names},
                        schema=dict.fromkeys(names, pl.String))
