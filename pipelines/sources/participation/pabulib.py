"""Pabulib `.pb` files (pabulib.org): one participatory-budget election per file.

    META                      key;value rows: budget, vote_type, min_length, max_length, ...
    key;value
    PROJECTS                  one row per project: project_id;cost;votes;name;...;selected
    project_id;cost;...
    VOTES                     one row per ballot: voter_id;vote;[points;]age;sex;...
    voter_id;vote;...

Every field is read as text under the file's own column names; validation types it. `META` and
`PROJECTS` are small and read with Python's `csv` module: a broken one is a whole-file problem
(`SourceFormatError` naming the line). `VOTES` holds up to millions of lines and is split with
polars in one pass; when a field is quoted (a `;` inside a neighbourhood's name) the section is
read with the `csv` module instead. A ballot line with the wrong number of fields, or longer
than `MAX_RECORD_CHARS`, becomes a row with `unreadable_record` (dead letter `unreadable_line`),
never a lost or aborted run. `META` claims (`num_votes`, ...) are never trusted for sizes.
Hand-written because no maintained Python package reads `.pb` files without building one
object per ballot (pabutools' parser does, at about 100x the time; it is the tests' oracle).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from pipelines.sources.encoding import text_encoding
from pipelines.sources.errors import SourceFormatError
from pipelines.sources.limits import KEPT_TEXT_CHARS, MAX_FIELD_CHARS, MAX_RECORD_CHARS, kept_text
from pipelines.sources.participation.vote_file import VoteFile
from schemas import participation as pb
from schemas.requests import GUESSED_ENCODING, SOURCE_FILE, SOURCE_POSITION, UNREADABLE_RECORD

SECTIONS = ("META", "PROJECTS", "VOTES")
SEPARATOR = ";"
MAX_META_ROWS = 1_000
MAX_PROJECTS = 100_000
VOTER_ID = "voter_id"
VOTE = "vote"
_LINE_BREAKS = re.compile(r"\r\n?")


def read_pabulib(path: Path, encoding: str | None = None) -> VoteFile:
    """Read `path`; raise `SourceFormatError` saying what to do when it is not a `.pb` file."""
    detected = text_encoding(path, encoding)
    codec = "utf-8-sig" if detected.is_utf8 else detected.codec
    text = _LINE_BREAKS.sub("\n", path.read_bytes().decode(codec, errors="replace"))
    lines = text.split("\n")
    starts = _section_starts(lines, path)
    meta = _read_meta(lines[starts["META"] + 1: starts["PROJECTS"]], starts["META"] + 2, path)
    projects = _read_projects(lines[starts["PROJECTS"] + 1: starts["VOTES"]], starts["PROJECTS"] + 2, path)
    ballots = _read_votes(lines[starts["VOTES"] + 1:], path)
    ballots = ballots.with_columns(
        pl.lit(str(path)).alias(SOURCE_FILE),
        pl.lit(detected.guess, pl.String).alias(GUESSED_ENCODING),
    )
    return VoteFile(path, meta, projects, ballots, detected)


def read_meta(path: Path, encoding: str | None = None) -> dict[str, str]:
    """Only the META section (for the CLI's defaults), read line by line up to PROJECTS."""
    detected = text_encoding(path, encoding)
    lines: list[str] = []
    with path.open(encoding="utf-8-sig" if detected.is_utf8 else detected.codec, errors="replace") as handle:
        for line in handle:
            name = line.strip().upper()
            if name == "PROJECTS" or len(lines) > MAX_META_ROWS:
                break
            if name != "META":
                lines.append(line.rstrip("\r\n")[:MAX_FIELD_CHARS])
    try:
        return _read_meta(lines, 2, path)
    except SourceFormatError:
        return {}


def check_pabulib(path: Path, encoding: str | None = None) -> None:
    """Raise `SourceFormatError` unless `path` has Pabulib's sections in order: read up to the
    VOTES line only, so the CLI can say so before a run starts."""
    detected = text_encoding(path, encoding)
    with path.open(encoding="utf-8-sig" if detected.is_utf8 else detected.codec, errors="replace") as handle:
        _section_starts(handle, path)


def _section_starts(lines: Iterable[str], path: Path) -> dict[str, int]:
    starts: dict[str, int] = {}
    for number, line in enumerate(lines):
        name = line.strip().upper()
        if name in SECTIONS and name not in starts:
            starts[name] = number
            if len(starts) == len(SECTIONS):
                break
    missing = [name for name in SECTIONS if name not in starts]
    order = [starts[name] for name in SECTIONS if name in starts]
    if missing or order != sorted(order):
        found = ", ".join(f"{n} at line {starts[n] + 1}" for n in SECTIONS if n in starts) or "none"
        raise SourceFormatError(
            f"{path} is not a Pabulib .pb file: it needs the sections META, PROJECTS and VOTES in this "
            f"order, each on a line of its own (found: {found}); use --format csv with a mapping for other vote files"
        )
    return starts


def _rows(lines: list[str], first_line: int, path: Path, section: str, limit: int) -> list[list[str]]:
    for offset, line in enumerate(lines):
        if len(line) > MAX_FIELD_CHARS:
            raise SourceFormatError(f"{path} line {first_line + offset}: a {section} line is longer than "
                                    f"{MAX_FIELD_CHARS:,} characters; is it a .pb file?")
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    rows = []
    for offset, fields in enumerate(csv.reader(lines, delimiter=SEPARATOR, quotechar='"', strict=True)):
        if not any(f.strip() for f in fields):
            continue
        if len(rows) >= limit:
            raise SourceFormatError(f"{path}: {section} has more than {limit:,} rows; is the VOTES line missing?")
        if any(len(f) > MAX_FIELD_CHARS for f in fields):
            raise SourceFormatError(f"{path} line {first_line + offset}: a {section} field is longer than "
                                    f"{MAX_FIELD_CHARS:,} characters")
        rows.append([f.strip() for f in fields])
    return rows


def _read_meta(lines: list[str], first_line: int, path: Path) -> dict[str, str]:
    try:
        rows = _rows(lines, first_line, path, "META", MAX_META_ROWS + 1)
    except csv.Error as error:
        raise SourceFormatError(f"{path}: META cannot be read ({error})") from None
    if rows and [f.lower() for f in rows[0][:2]] == ["key", "value"]:
        rows = rows[1:]
    return {row[0].lower(): SEPARATOR.join(row[1:]) for row in rows}


def _read_projects(lines: list[str], first_line: int, path: Path) -> pl.DataFrame:
    try:
        rows = _rows(lines, first_line, path, "PROJECTS", MAX_PROJECTS + 1)
    except csv.Error as error:
        raise SourceFormatError(f"{path}: PROJECTS cannot be read ({error})") from None
    if not rows:
        raise SourceFormatError(f"{path}: PROJECTS has no header line (project_id;cost;...)")
    header = [name.lower() for name in rows[0]]
    if pb.PROJECT_ID not in header or pb.COST not in header:
        raise SourceFormatError(f"{path}: the PROJECTS header needs project_id and cost (found: {';'.join(header)})")
    for number, row in enumerate(rows[1:], 1):
        if len(row) != len(header):
            raise SourceFormatError(f"{path}: project row {number} has {len(row)} fields, the header {len(header)}")
    frame = pl.DataFrame([row for row in rows[1:]], schema=header, orient="row")
    return frame.with_columns(pl.all().replace("", None))


def _read_votes(lines: list[str], path: Path) -> pl.DataFrame:
    while lines and not lines[0].strip():
        lines = lines[1:]
    if not lines:
        raise SourceFormatError(f"{path}: VOTES has no header line (voter_id;vote;...)")
    header = [name.strip().lower() for name in lines[0].split(SEPARATOR)]
    if len(set(header)) != len(header):
        raise SourceFormatError(f"{path}: the VOTES header names a column twice ({lines[0][:200]})")
    if VOTER_ID not in header or VOTE not in header:
        raise SourceFormatError(f"{path}: the VOTES header needs voter_id and vote (found: {lines[0][:200]})")
    body = pl.Series("line", lines[1:], pl.String).to_frame().with_row_index(SOURCE_POSITION)
    body = body.filter(pl.col("line").str.strip_chars() != "")
    if body["line"].str.contains('"', literal=True).any():
        return _split_quoted(body, header)
    body = body.with_columns(pl.col("line").str.split(SEPARATOR).alias("_fields"))  # split once
    body = body.with_columns(
        ((pl.col("_fields").list.len() == len(header)) & (pl.col("line").str.len_bytes() <= MAX_RECORD_CHARS))
        .alias("_readable"))
    readable, fields = pl.col("_readable"), pl.col("_fields")
    return body.select(
        pl.col(SOURCE_POSITION).cast(pl.Int64),
        *[pl.when(readable).then(fields.list.get(i, null_on_oob=True).str.strip_chars()).replace("", None).alias(name)
          for i, name in enumerate(header)],
        pl.when(~readable).then(_kept(pl.col("line"))).alias(UNREADABLE_RECORD),
    )


def _kept(line: pl.Expr) -> pl.Expr:
    return pl.when(line.str.len_chars() <= KEPT_TEXT_CHARS).then(line).otherwise(
        line.str.slice(0, KEPT_TEXT_CHARS) + pl.lit("... [truncated]")
    )


def _split_quoted(body: pl.DataFrame, header: list[str]) -> pl.DataFrame:
    """The slow path for sections with quoted fields: one `csv` parse per line (so a broken
    quote costs that line, not the rest of the file)."""
    rows = []
    for position, line in body.iter_rows():
        fields = None
        if len(line) <= MAX_RECORD_CHARS:
            try:
                fields = next(csv.reader([line], delimiter=SEPARATOR, quotechar='"', strict=True))
            except csv.Error:
                fields = None
        if fields is not None and len(fields) == len(header):
            rows.append([position, *[f.strip() or None for f in fields], None])
        else:
            rows.append([position, *[None] * len(header), kept_text(line)])
    schema = {SOURCE_POSITION: pl.Int64, **dict.fromkeys(header, pl.String), UNREADABLE_RECORD: pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")
