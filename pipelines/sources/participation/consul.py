"""CONSUL / Decidim-style open-data exports (proposals, budget investments, supports) as a `VoteFile`.

    proposals export     id;title;summary;description;cached_votes_up;created_at;retired_at;geozone_name;...
    investments export   id;title;price;...;winner|selected;feasibility;heading_name;...   (price present)
    supports export      voter_id;proposal_id;created_at[;geozone_name...]   one row per support

`;`-separated text, UTF-8 with or without a BOM, CRLF or LF; column names are matched
case-insensitively under the aliases in `PROJECT_COLUMNS` / `SUPPORT_COLUMNS` (the first alias
present wins); a file that is none of the three raises `SourceFormatError` naming what it has
and what is needed. Dates are dd/mm/yyyy [HH:MM[:SS]] or ISO (fractions and zones are ignored).

Projects: one per proposal or investment, every field text. Titles and descriptions are HTML
in CONSUL; `name` and `description` hold their plain text. Proposals carry no cost: each costs
"1" and META's budget is the number of proposals (every proposal fundable; a budget of K given
in `meta_overrides` funds the K most supported). Investments cost their `price`; with no budget
given, META's budget is the sum of all prices (every investment fundable). Retired proposals
stay projects with `retired` "1" (else "0"): their supports still count, but they must never be
selected; `feasibility` ("unfeasible" ...) is kept for the same purpose. `votes` is always the
export's own support count (`cached_votes_up`), so it can be published when there are no ballots.
The projects file is small and read with the `csv` module: a broken row is a whole-file problem
(`SourceFormatError` naming its line).

Ballots: with a supports file, one ballot per voter whose `vote` lists the supported ids in time
order (ties in file order), `source_position` the 0-based position (after the header) of the
voter's first row. A repeated support is kept (downstream it is a `duplicate_choice`); a row
without voter or project id is a ballot of its own (`missing_voter_id` / `too_few_choices`); a
row with the wrong field count, a broken quote or longer than `MAX_RECORD_CHARS` is an
`unreadable_record` row. Lines are split with polars expressions, since polars' CSV reader pads
short rows with nulls and fails the whole file on a long one. Without a supports file there
are no ballots: the frame is empty with the usual columns, and META's comment says so.
"""

from __future__ import annotations

import csv
import html
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.sources.encoding import TextEncoding, text_encoding
from pipelines.sources.errors import SourceFormatError
from pipelines.sources.limits import KEPT_TEXT_CHARS, MAX_FIELD_CHARS, MAX_RECORD_CHARS
from pipelines.sources.participation.vote_file import VoteFile
from schemas import participation as pb
from schemas.requests import GUESSED_ENCODING, SOURCE_FILE, SOURCE_POSITION, UNREADABLE_RECORD

SEPARATOR = ";"
MAX_PROJECTS = 100_000
PROPOSALS, INVESTMENTS, SUPPORTS = "proposals", "investments", "supports"
RETIRED, FEASIBILITY, CREATED_AT, RETIRED_AT = "retired", "feasibility", "created_at", "retired_at"
PROJECT_COLUMNS = {  # VoteFile column: CONSUL names, first present wins
    pb.PROJECT_ID: ("id", "proposal_id", "investment_id"),
    pb.NAME: ("title", "name"),
    pb.DESCRIPTION: ("description", "summary"),
    pb.COST: ("price",),
    pb.VOTES: ("cached_votes_up", "supports", "votes", "total_votes"),
    "selected": ("winner", "selected"),
    FEASIBILITY: ("feasibility",),
    "district": ("geozone_name", "district", "geozone", "heading_name"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "long", "lng"),
    CREATED_AT: ("created_at", "published_at"),
    RETIRED_AT: ("retired_at",),
}
SUPPORT_COLUMNS = {
    "voter_id": ("voter_id", "user_id"),
    pb.PROJECT_ID: ("proposal_id", "investment_id", "votable_id"),
    CREATED_AT: ("created_at", "voted_at"),
    pb.NEIGHBORHOOD: ("geozone_name", "geozone", "district", "neighborhood"),
    pb.AGE: ("age",),
    pb.SEX: ("sex", "gender"),
    pb.VOTING_METHOD: ("voting_method",),
}
DATE_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
YES, NO = ("1", "true", "t", "yes", "y", "si", "sí", "x"), ("0", "false", "f", "no", "n")
NO_BALLOTS = {SOURCE_POSITION: pl.Int64, "voter_id": pl.String, "vote": pl.String, UNREADABLE_RECORD: pl.String,
              SOURCE_FILE: pl.String, GUESSED_ENCODING: pl.String}
_FIELD = r'(?:"(?:[^"]|"")*"|[^";]*)'  # one field of a line: quoted (with "" inside) or bare
_LINE_BREAKS = re.compile(r"\r\n?")
_HIDDEN = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S)
_BLOCKS = re.compile(r"</?(?:p|br|div|li|ul|ol|h[1-6]|tr|td|blockquote)\b[^>]*>", re.I)
_TAGS = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class _Export:
    path: Path
    encoding: TextEncoding
    lines: list[str]
    header: list[str]
    kind: str


def read_consul(paths: list[Path], encoding: str | None = None,
                meta_overrides: dict[str, str] | None = None) -> VoteFile:
    """One proposals or investments export and at most one supports export (told apart by their
    columns, in any order) as a `VoteFile`; `meta_overrides` (e.g. {"budget": "5000000"}) win
    over the META built here."""
    exports = [_export(Path(path), encoding) for path in paths]
    projects_files = [e for e in exports if e.kind != SUPPORTS]
    supports_files = [e for e in exports if e.kind == SUPPORTS]
    if len(projects_files) != 1 or len(supports_files) > 1:
        raise SourceFormatError(
            f"a CONSUL election is one proposals or investments export plus at most one supports export; got "
            f"{', '.join(f'{e.path.name} ({e.kind})' for e in exports) or 'no file'}: give the files of one vote together")
    export = projects_files[0]
    projects, notes = _projects(export)
    if supports_files:
        ballots, period = _ballots(supports_files[0])
    else:
        ballots, period = pl.DataFrame(schema=NO_BALLOTS), {}
        notes.append("no supports file: there are no ballots; projects' votes are the export's own support counts")
    meta = _meta(export, projects, ballots.height, notes, period, meta_overrides or {})
    return VoteFile(export.path, meta, projects, ballots, (supports_files or projects_files)[0].encoding)


def plain_text(text: str | None) -> str | None:
    """CONSUL's HTML (`<p>`, `<strong>`, `&amp;`, `&nbsp;` ...) as one line of text; None when empty."""
    if text is None:
        return None
    text = _TAGS.sub("", _BLOCKS.sub(" ", _HIDDEN.sub(" ", text)))
    return _SPACES.sub(" ", html.unescape(text).replace("\xa0", " ")).strip() or None


def with_timestamps(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """`names` (dd/mm/yyyy [HH:MM[:SS]] or ISO text) as Datetimes, null when neither."""
    frame = frame.with_columns(pl.col(names).str.strip_chars().str.replace(r"^(\d{4}-\d{2}-\d{2})T", "$1 ")
                               .str.replace(r"(?:\.\d+)?\s*(?:Z|UTC|[+-]\d{2}:?\d{2})$", ""))
    return frame.with_columns(pl.coalesce([pl.col(name).str.strptime(pl.Datetime("us"), f, strict=False, exact=True)
                                           for f in DATE_FORMATS]).alias(name) for name in names)


def _export(path: Path, encoding: str | None) -> _Export:
    detected = text_encoding(path, encoding)
    codec = "utf-8-sig" if detected.is_utf8 else detected.codec
    lines = _LINE_BREAKS.sub("\n", path.read_bytes().decode(codec, errors="replace")).split("\n")
    header = [name.strip().lower() for name in next(csv.reader(lines[:1], delimiter=SEPARATOR), [])]
    if len(set(header)) != len(header):
        raise SourceFormatError(f"{path}: the header names a column twice ({lines[0][:200]})")
    kind = _kind(header)
    if kind is None:
        raise SourceFormatError(
            f"{path} is not a CONSUL export UrbanPulse reads: its ';'-separated header has "
            f"{', '.join(header[:30]) or 'no columns'}. A proposals export needs id (or proposal_id) and title "
            "(or name); an investments export also price; a supports export voter_id (or user_id) and "
            "proposal_id (or investment_id, votable_id). Rename the columns, or export the file again with them")
    return _Export(path, detected, lines, header, kind)


def _kind(header: list[str]) -> str | None:
    """Investments have a price, proposals a title, supports a voter and a project id."""
    def has(name: str, columns: dict[str, tuple[str, ...]] = PROJECT_COLUMNS) -> bool:
        return _column(header, columns[name]) is not None
    if has(pb.PROJECT_ID) and (has(pb.COST) or has(pb.NAME)):
        return INVESTMENTS if has(pb.COST) else PROPOSALS
    return SUPPORTS if has("voter_id", SUPPORT_COLUMNS) and has(pb.PROJECT_ID, SUPPORT_COLUMNS) else None


def _column(header: list[str], aliases: tuple[str, ...]) -> str | None:
    return next((name for name in aliases if name in header), None)


def _rows(export: _Export) -> list[list[str]]:
    """The projects file's records after the header; a broken one raises, naming its line."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    reader = csv.reader((line + "\n" for line in export.lines), delimiter=SEPARATOR, quotechar='"', strict=True)
    rows, line = [], 0
    try:
        next(reader)
        line = reader.line_num
        for fields in reader:
            start, line = line + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if len(fields) != len(export.header):
                raise SourceFormatError(f"{export.path} line {start}: {len(fields)} fields where the header has "
                                        f"{len(export.header)}; quote fields that hold ';' and export the file again")
            if len(rows) >= MAX_PROJECTS:
                raise SourceFormatError(f"{export.path}: more than {MAX_PROJECTS:,} projects; is it a supports file?")
            rows.append([f.strip() for f in fields])
    except csv.Error as error:
        raise SourceFormatError(f"{export.path} line {line + 1}: the {export.kind} export cannot be read from "
                                f"there ({error}); check the quotes of that record") from None
    return rows


def _projects(export: _Export) -> tuple[pl.DataFrame, list[str]]:
    rows = _rows(export)
    source = {name: _column(export.header, aliases) for name, aliases in PROJECT_COLUMNS.items()}
    index = {name: export.header.index(column) for name, column in source.items() if column}
    columns = {name: [row[index[name]] or None for row in rows] if name in index else [None] * len(rows)
               for name in PROJECT_COLUMNS}
    columns[pb.NAME] = [plain_text(text) for text in columns[pb.NAME]]
    columns[pb.DESCRIPTION] = [plain_text(text) for text in columns[pb.DESCRIPTION]]
    if export.kind == PROPOSALS:
        columns[pb.COST] = ["1"] * len(rows)
    frame = pl.DataFrame(columns, schema=dict.fromkeys(PROJECT_COLUMNS, pl.String))
    flag = pl.col("selected").str.to_lowercase()
    retired = pl.col(RETIRED_AT).is_not_null() & ~pl.col(RETIRED_AT).str.to_lowercase().is_in(["null", "nil"])
    frame = frame.with_columns(
        pl.when(flag.is_in(YES)).then(pl.lit("1")).when(flag.is_in(NO)).then(pl.lit("0")).alias("selected"),
        pl.col(FEASIBILITY).str.to_lowercase(),
        pl.when(retired).then(pl.lit("1")).otherwise(pl.lit("0")).alias(RETIRED),
    )
    frame = with_timestamps(frame, [CREATED_AT, RETIRED_AT]).with_columns(
        pl.col(CREATED_AT, RETIRED_AT).dt.strftime("%Y-%m-%dT%H:%M:%S"))
    notes = []
    if export.kind == INVESTMENTS and source["selected"] == "selected":
        notes.append("selected is the export's `selected` column (in CONSUL it can mean chosen for the final vote)")
    if (count := int((frame[RETIRED] == "1").sum())):
        notes.append(f"{count} retired proposal(s) kept with retired=1: their supports count, they must not be selected")
    return frame, notes


def _split(body: pl.DataFrame, width: int) -> pl.DataFrame:
    """`body` with each line's `_fields` and whether it is `_readable`: a plain split when no line
    is quoted, else a regular expression that takes quoted fields whole (a broken quote leaves
    characters no field covers, so the line is unreadable)."""
    line = pl.col("line")
    if not body["line"].str.contains('"', literal=True).any():
        body = body.with_columns(line.str.split(SEPARATOR).alias("_fields"), pl.lit(True).alias("_parsed"))
    else:
        marked = pl.lit(SEPARATOR) + line
        body = body.with_columns(marked.str.extract_all(f"{SEPARATOR}{_FIELD}").alias("_fields"))
        field = pl.element().str.slice(1)
        unquoted = pl.when(field.str.starts_with('"')).then(
            field.str.slice(1, field.str.len_chars() - 2).str.replace_all('""', '"', literal=True)).otherwise(field)
        covered = pl.col("_fields").list.eval(pl.element().str.len_bytes()).list.sum() == marked.str.len_bytes()
        body = body.with_columns(pl.col("_fields").list.eval(unquoted), covered.alias("_parsed"))
    readable = pl.col("_parsed") & (pl.col("_fields").list.len() == width) & (line.str.len_chars() <= MAX_RECORD_CHARS)
    return body.with_columns(readable.alias("_readable"))


def _supports(export: _Export) -> pl.DataFrame:
    """One row per line after the header: position, the supports' columns (text) and
    `unreadable_record` (the line's text when it cannot be split into the header's fields)."""
    body = pl.Series("line", export.lines[1:], pl.String).to_frame().with_row_index(SOURCE_POSITION)
    body = body.filter(pl.col("line").str.strip_chars() != "")
    present = {name: export.header.index(column) for name, aliases in SUPPORT_COLUMNS.items()
               if (column := _column(export.header, aliases))}
    line = pl.col("line")
    kept = pl.when(line.str.len_chars() <= KEPT_TEXT_CHARS).then(line).otherwise(
        line.str.slice(0, KEPT_TEXT_CHARS) + pl.lit("... [truncated]"))
    frame = _split(body, len(export.header)).select(
        pl.col(SOURCE_POSITION).cast(pl.Int64),
        *[pl.when(pl.col("_readable")).then(pl.col("_fields").list.get(i, null_on_oob=True).str.strip_chars())
          .replace("", None).alias(name) for name, i in present.items()],
        pl.when(~pl.col("_readable")).then(kept).alias(UNREADABLE_RECORD),
    )
    if CREATED_AT in present:
        return with_timestamps(frame, [CREATED_AT])
    return frame.with_columns(pl.lit(None, pl.Datetime("us")).alias(CREATED_AT))


def _ballots(export: _Export) -> tuple[pl.DataFrame, dict[str, str]]:
    """(one ballot per voter plus one per row that cannot join a voter's ballot, the META
    dates of the supports)."""
    rows = _supports(export)
    extras = [name for name in (pb.AGE, pb.SEX, pb.VOTING_METHOD, pb.NEIGHBORHOOD) if name in rows.columns]
    whole = pl.col("voter_id").is_not_null() & pl.col(pb.PROJECT_ID).is_not_null()
    joined = rows.filter(whole).sort(CREATED_AT, nulls_last=True, maintain_order=True).group_by(  # ties: file order
        "voter_id", maintain_order=True).agg(
        pl.col(SOURCE_POSITION).min(), pl.col(pb.PROJECT_ID).str.join(",").alias("vote"),
        *[pl.col(name).drop_nulls().first() for name in extras]).with_columns(
        pl.lit(None, pl.String).alias(UNREADABLE_RECORD))
    single = rows.filter(~whole).select(SOURCE_POSITION, "voter_id", pl.col(pb.PROJECT_ID).alias("vote"), *extras,
                                        UNREADABLE_RECORD)
    ballots = pl.concat([joined.select(single.columns), single]).sort(SOURCE_POSITION).with_columns(
        pl.lit(str(export.path)).alias(SOURCE_FILE), pl.lit(export.encoding.guess, pl.String).alias(GUESSED_ENCODING))
    times = rows.filter(whole)[CREATED_AT].drop_nulls()
    period = {pb.DATE_BEGIN: f"{times.min():%Y-%m-%d}", pb.DATE_END: f"{times.max():%Y-%m-%d}"} if len(times) else {}
    return ballots, period


def _meta(export: _Export, projects: pl.DataFrame, ballots: int, notes: list[str], period: dict[str, str],
          overrides: dict[str, str]) -> dict[str, str]:
    """Pabulib META for the export: approval vote, the budget given or the one that funds every project."""
    given = {key.strip().lower(): str(value).strip() for key, value in overrides.items() if value is not None}
    if export.kind == PROPOSALS:
        budget = str(projects.height)
        if pb.BUDGET not in given:
            notes.insert(0, f"proposals carry no cost: each costs 1 and the budget is the number of proposals "
                            f"({budget}), so every proposal is fundable; a budget of K funds the K most supported")
    else:
        total = projects[pb.COST].str.replace(",", ".", literal=True).cast(pl.Float64, strict=False).sum()
        budget = str(int(total)) if float(total).is_integer() else str(total)
        if pb.BUDGET not in given:
            notes.insert(0, f"no budget given: the budget is the sum of all prices ({budget}), so every investment "
                            "is fundable; give the real one (--budget)")
    meta = {pb.DESCRIPTION: f"CONSUL {export.kind} export {export.path.name}", pb.VOTE_TYPE: pb.VoteType.APPROVAL,
            pb.BUDGET: budget, "num_projects": str(projects.height), "num_votes": str(ballots), **period}
    if notes:
        meta["comment"] = "; ".join(notes)
    return {**meta, **given}
