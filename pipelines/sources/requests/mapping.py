"""How a source's own columns become Open311 fields: the mapping object and its TOML form.

A mapping is partial on purpose: a caller who only knows the timezone of an Open311 XML feed
passes `SourceMapping(timezone=...)` and keeps the format's own columns; a TOML file that remaps
one CSV column keeps every other column that is already named in our vocabulary.
"""

from __future__ import annotations

import codecs
import tomllib
import zoneinfo
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from pipelines.sources.errors import SourceFormatError
from schemas.requests import OPEN311_FIELDS, SOURCE

# Every ISO 8601 / RFC 3339 shape seen in Open311 feeds and in our own files: `T` or space
# between date and time, optional fraction, offset as `Z`, `+00:00`, `-0400` or `-04`, or none
# (then the mapping's timezone applies). A bare date means midnight in that timezone. The
# two `Z` entries only exist for speed (our own files): polars parses them 1.5-4x faster than
# the general `%#z` form.
ISO_8601_FORMATS: tuple[str, ...] = (
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d",
)
DEFAULT_TIMEZONE = "UTC"

_TOP_LEVEL_KEYS = frozenset({"source", "separator", "encoding", "columns", "timestamps"})
_TIMESTAMP_KEYS = frozenset({"format", "timezone"})


@dataclass(frozen=True)
class SourceMapping:
    """Which source column (or polars expression over source columns) feeds each Open311 field.

    `None` means "use the format's default" for that attribute. Fields listed in `optional` may
    be absent from a file (they become null); every other mapped column must exist, so a typo
    in a mapping fails loudly instead of producing a column of nulls.
    """

    columns: Mapping[str, pl.Expr | str] | None = None
    optional: frozenset[str] = frozenset()
    source: str | None = None
    timestamp_formats: tuple[str, ...] | None = None
    timezone: str | None = None
    separator: str | None = None
    encoding: str | None = None  # text files; None: UTF-8 unless the bytes say otherwise

    def __post_init__(self) -> None:
        if self.columns is not None:
            unknown = sorted(set(self.columns) - set(OPEN311_FIELDS))
            if unknown:
                raise SourceFormatError(
                    f"mapping names unknown field(s) {unknown}; the fields a mapping can fill "
                    f"are {list(OPEN311_FIELDS)}"
                )
        if self.timezone is not None:
            _check_timezone(self.timezone)
        if self.encoding is not None:
            _check_encoding(self.encoding)
        if self.separator:
            _check_separator(self.separator)
        if isinstance(self.timestamp_formats, str):
            object.__setattr__(self, "timestamp_formats", (self.timestamp_formats,))

    def over(self, base: SourceMapping) -> SourceMapping:
        """This mapping laid over a format's default: set attributes win, per field for columns."""
        own = self.exprs
        columns: dict[str, pl.Expr | str] = {**base.exprs, **own}
        return SourceMapping(
            columns=columns,
            optional=(base.optional - own.keys()) | self.optional,
            source=self.source or base.source,
            timestamp_formats=self.timestamp_formats or base.timestamp_formats,
            timezone=self.timezone or base.timezone,
            separator=self.separator or base.separator,
            encoding=self.encoding or base.encoding,
        )

    @property
    def exprs(self) -> dict[str, pl.Expr]:
        """The mapped columns as expressions (plain names were wrapped in `pl.col`)."""
        return {
            name: pl.col(value) if isinstance(value, str) else value
            for name, value in (self.columns or {}).items()
        }

    @property
    def formats(self) -> tuple[str, ...]:
        return self.timestamp_formats or ISO_8601_FORMATS

    @property
    def zone(self) -> str:
        return self.timezone or DEFAULT_TIMEZONE

    def source_columns(self) -> frozenset[str] | None:
        """Every source column the mapping reads (and `source`, which our own files carry), or
        None when an expression selects columns by pattern and so could read any of them."""
        names = {SOURCE}
        for expr in self.exprs.values():
            if expr.meta.has_multiple_outputs() or expr.meta.is_regex_projection():
                return None
            names.update(expr.meta.root_names())
        return frozenset(names)

    def required_columns(self, field_name: str) -> list[str]:
        """Source columns the expression for `field_name` reads."""
        expr = self.exprs.get(field_name)
        return [] if expr is None else expr.meta.root_names()

    def resolve(self, available: Collection[str]) -> dict[str, pl.Expr | None]:
        """Expression per Open311 field; None where the field is unmapped or its column absent."""
        present = set(available)
        exprs = self.exprs
        resolved: dict[str, pl.Expr | None] = {}
        for name in OPEN311_FIELDS:
            expr = exprs.get(name)
            if expr is not None and not set(self.required_columns(name)) <= present:
                expr = None
            resolved[name] = expr
        return resolved

    def check_columns(self, available: Collection[str], where: str) -> None:
        """Raise when a required column is missing or when no field at all can be filled."""
        present = set(available)
        for name in OPEN311_FIELDS:
            if name in self.optional:
                continue
            absent = [c for c in self.required_columns(name) if c not in present]
            if absent:
                raise SourceFormatError(
                    f"{where} has no column {absent[0]!r}, which the mapping needs for field "
                    f"{name!r}; its columns are {sorted(present)}. Fix the [columns] table of "
                    "the mapping or choose the format that matches the file."
                )
        if all(expr is None for expr in self.resolve(present).values()):
            raise SourceFormatError(
                f"{where} has no column that maps to an Open311 field (columns: "
                f"{sorted(present)}); pass a mapping, or a source format such as 'nyc311'."
            )


def load_mapping(path: Path) -> SourceMapping:
    """Read a TOML mapping file; every mistake is reported with the file name and the fix.

    Layout (every part optional; `format` may also be a list, tried in order)::

        source = "berlin"            # name written to `source`
        separator = ";"              # CSV only
        encoding = "cp1251"          # CSV, JSON Lines, Open311 JSON; default: UTF-8 unless the
                                     # file's bytes say otherwise (then guessed and flagged)
        [columns]                    # our field = the source's column
        service_request_id = "Vorgang"
        description = "Text"
        [timestamps]
        format = "%d.%m.%Y %H:%M"    # polars/chrono strptime; default: ISO 8601 forms
        timezone = "Europe/Berlin"   # for values without an offset; default UTC
    """
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceFormatError(f"cannot read mapping file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourceFormatError(f"mapping file {path} is not valid TOML: {exc}") from exc
    _reject_unknown(document, _TOP_LEVEL_KEYS, f"top level of mapping file {path}")
    columns = document.get("columns", {})
    timestamps = document.get("timestamps", {})
    if not isinstance(columns, dict) or not isinstance(timestamps, dict):
        raise SourceFormatError(f"mapping file {path}: [columns] and [timestamps] must be tables")
    unknown = sorted(set(columns) - set(OPEN311_FIELDS))
    if unknown:
        raise SourceFormatError(
            f"mapping file {path}: [columns] names unknown field(s) {unknown}; valid fields are "
            f"{list(OPEN311_FIELDS)}"
        )
    bad = sorted(k for k, v in columns.items() if not isinstance(v, str) or not v)
    if bad:
        raise SourceFormatError(
            f"mapping file {path}: [columns] {bad} must name a source column as a non-empty string"
        )
    _reject_unknown(timestamps, _TIMESTAMP_KEYS, f"[timestamps] of mapping file {path}")
    formats = timestamps.get("format")
    if isinstance(formats, str):
        formats = (formats,)
    elif isinstance(formats, list) and formats and all(isinstance(f, str) for f in formats):
        formats = tuple(formats)
    elif formats is not None:
        raise SourceFormatError(
            f"mapping file {path}: [timestamps] format must be a strptime string or a list of them"
        )
    return SourceMapping(
        columns=columns or None,
        source=_optional_str(document, "source", path),
        timestamp_formats=formats,
        timezone=_optional_str(timestamps, "timezone", path),
        separator=_optional_str(document, "separator", path),
        encoding=_optional_str(document, "encoding", path),
    )


def with_encoding(mapping: SourceMapping | None, encoding: str | None) -> SourceMapping | None:
    """`mapping` with the text encoding a caller named (`--encoding`), which wins over the
    mapping's own; `mapping` as it is when none was named."""
    if not encoding:
        return mapping
    return replace(mapping or SourceMapping(), encoding=encoding)


def _reject_unknown(table: Mapping[str, object], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise SourceFormatError(f"unknown key(s) {unknown} in {where}; allowed: {sorted(allowed)}")


def _optional_str(table: Mapping[str, object], key: str, path: Path) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise SourceFormatError(f"mapping file {path}: {key!r} must be a string, got {value!r}")
    return value


def _check_separator(separator: str) -> None:
    if len(separator) != 1 or not separator.isascii() or separator in '"\r\n':
        raise SourceFormatError(
            f"separator {separator!r} cannot separate CSV fields; use one ASCII character other "
            "than a quote or a line break, such as ',', ';' or '\\t'"
        )


def _check_encoding(name: str) -> None:
    try:
        known = getattr(codecs.lookup(name), "_is_text_encoding", True)
    except LookupError:
        known = False
    if not known:
        raise SourceFormatError(
            f"unknown text encoding {name!r}; use a Python codec name such as 'utf-8', "
            "'cp1251', 'latin-1' or 'utf-16'"
        )


def _check_timezone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise SourceFormatError(
            f"unknown timezone {name!r}; use an IANA name such as 'America/New_York'"
        ) from exc


IDENTITY = SourceMapping(
    columns={name: pl.col(name) for name in OPEN311_FIELDS},
    optional=frozenset(OPEN311_FIELDS),
    timestamp_formats=ISO_8601_FORMATS,
    timezone=DEFAULT_TIMEZONE,
)
"""Files already in our vocabulary (Open311 names, ISO timestamps): take what is there."""
