"""Source timestamps to ISO 8601 UTC text, column at a time.

Raw requests stay text so that validation can dead-letter a bad value together with what the
source actually wrote. So a value is rewritten only when the source's own format parses it;
anything else is handed on exactly as it arrived.

Output form (what validation parses): `YYYY-MM-DDTHH:MM:SSZ`, or `YYYY-MM-DDTHH:MM:SS.ffffffZ`
(exactly six digits) when the instant has a sub-second part. Local wall-clock times that occur
twice (the hour repeated when daylight saving ends) resolve to the earlier instant; times that
never occur (skipped when it starts) are not guessed: their original text is kept.
"""

from __future__ import annotations

import polars as pl

_NAIVE = pl.Datetime("us")
_NO_TEXT = pl.Series([None], dtype=pl.String)
_WHOLE_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
_WITH_MICROSECONDS = "%Y-%m-%dT%H:%M:%S%.6fZ"
# Polars pays dearly for values that fail a format (it retries each one slowly), so formats
# ending in a literal `Z` only see values ending in `Z`, and this one only 20-byte values.
_FIXED_LENGTH = {"%Y-%m-%dT%H:%M:%SZ": 20}
# `_WHOLE_SECONDS` as written (a leap second, `:60`, is read as the next second: not as written)
_OUTPUT_FORM = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-5][0-9]:[0-5][0-9]Z$"
# 0001-01-01T00:00:00 and 9999-12-31T23:59:59 as seconds since 1970, for typed values
_FIRST_SECOND, _LAST_SECOND = -62_135_596_800, 253_402_300_799
_PER_SECOND = {"ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def text_to_iso_utc(text: pl.Series, formats: tuple[str, ...], timezone: str) -> pl.Series:
    """Parse with each format in turn (only what earlier ones left), render ISO UTC.

    A format that reads an offset (`%z`, `%#z`, ...) or ends in a literal `Z` yields an
    absolute instant and ignores `timezone`; any other is read as wall-clock time in
    `timezone`. Empty or blank values become null; unparseable ones keep their original text.

    When the first format is the output form itself, values already written in it are passed
    on untouched: parsing them and rendering them again gives the same text (a value that does
    not parse keeps its text anyway). Most exports are in that form, and it saves most of a
    million-row read.
    """
    if formats and formats[0] == _WHOLE_SECONDS:
        as_output = text.str.contains(_OUTPUT_FORM).fill_null(False)
        if as_output.all():
            return text
        if as_output.any():
            others = (~as_output).arg_true()
            return text.clone().scatter(others, _parsed_to_iso_utc(text.gather(others), formats, timezone))
    return _parsed_to_iso_utc(text, formats, timezone)


def _parsed_to_iso_utc(text: pl.Series, formats: tuple[str, ...], timezone: str) -> pl.Series:
    stripped = text.str.strip_chars()
    blank = (stripped.str.len_bytes() == 0).fill_null(True)
    parsed = pl.Series(text.name, [None] * len(text), dtype=_NAIVE)
    for fmt in formats:
        todo = parsed.is_null() & ~blank
        if not todo.any():
            break
        if _is_zulu(fmt):
            todo &= stripped.str.ends_with("Z").fill_null(False)
        if fmt in _FIXED_LENGTH:
            todo &= stripped.str.len_bytes() == _FIXED_LENGTH[fmt]
        if not todo.any():
            continue
        candidate = stripped if todo.all() else stripped.zip_with(todo, _NO_TEXT)
        attempt = candidate.str.strptime(_NAIVE, fmt, strict=False, cache=False)
        zone = "UTC" if _is_zulu(fmt) else timezone
        parsed = parsed.fill_null(_to_naive_utc(attempt, zone))
    return render(parsed, original=text, blank=blank)


def typed_to_iso_utc(values: pl.Series, timezone: str) -> pl.Series:
    """Typed dates/datetimes (parquet) to the same text; naive values are in `timezone`.

    A value outside the years 1-9999 as stored becomes `typed_as_text`'s count of units since
    1970 (polars cannot convert or format values far outside them), for validation to reject.
    """
    dtype = values.dtype
    zone = dtype.time_zone if isinstance(dtype, pl.Datetime) else None
    kept = representable(values)
    usable = values if kept.all() else values.zip_with(kept, pl.Series([None], dtype=dtype))
    parsed = usable.cast(pl.Datetime("us", zone))
    iso = render(_to_naive_utc(parsed, timezone), original=usable.cast(pl.String), blank=usable.is_null())
    return iso if kept.all() else iso.fill_null(typed_as_text(values))


def typed_as_text(values: pl.Series) -> pl.Series:
    """Typed dates/datetimes as text: as polars writes them within the years 1-9999, else as the
    stored count (`-99999999999 s since 1970-01-01`), which is what the file holds."""
    kept = representable(values)
    if kept.all():
        return values.cast(pl.String)
    unit = "days" if values.dtype == pl.Date else values.dtype.time_unit
    counts = values.to_physical().cast(pl.String) + f" {unit} since 1970-01-01"
    usable = values.zip_with(kept, pl.Series([None], dtype=values.dtype))
    return usable.cast(pl.String).zip_with(kept.fill_null(True), counts).alias(values.name)


def representable(values: pl.Series) -> pl.Series:
    """Whether each typed date/datetime lies in the years 1-9999 as stored (null stays null)."""
    physical = values.to_physical()
    if values.dtype == pl.Date:
        low, high = _FIRST_SECOND // 86_400, _LAST_SECOND // 86_400
    else:
        per_second = _PER_SECOND[values.dtype.time_unit]
        low = max(_FIRST_SECOND * per_second, -(2**63))
        high = min((_LAST_SECOND + 1) * per_second - 1, 2**63 - 1)
    return physical.is_between(low, high) | physical.is_null()


def render(parsed: pl.Series, *, original: pl.Series, blank: pl.Series) -> pl.Series:
    """ISO text where parsed (naive UTC), null where blank, the original text elsewhere."""
    iso = parsed.dt.strftime(_WHOLE_SECONDS)
    fraction = (parsed.dt.microsecond() != 0).fill_null(False)
    if fraction.any():
        iso = (
            parsed.zip_with(fraction, parsed.clear(1))
            .dt.strftime(_WITH_MICROSECONDS)
            .fill_null(iso)
        )
    return iso.fill_null(original).zip_with(~blank, _NO_TEXT).alias(original.name)


def _to_naive_utc(parsed: pl.Series, timezone: str) -> pl.Series:
    """Instants as naive UTC datetimes (cheaper to render than zone-aware ones)."""
    dtype = parsed.dtype
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        if timezone == "UTC":
            return parsed.cast(_NAIVE)
        parsed = parsed.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
    return parsed.dt.convert_time_zone("UTC").dt.replace_time_zone(None).cast(_NAIVE)


def _is_zulu(fmt: str) -> bool:
    """`...%SZ`: the literal `Z` designator says UTC (and lets polars use its fast parser)."""
    return fmt.endswith("Z") and not fmt.endswith("%Z")
