"""What every fuzz test shares: the example budgets, the per-example bounds, hostile values.

Budgets are hypothesis profiles, picked by `URBANPULSE_FUZZ` (read here, at the test edge):
`ci` (the default, what `make test` runs: 100 examples per test, the whole suite in well under a
minute on 2 cores) and `full` (`make fuzz`: 10,000 examples per test). Each example must finish
within `DEADLINE` (hypothesis' deadline); one that runs past `HANG_SECONDS` is a hang and stops
the run, with every thread's traceback in `HANG_LOG`. Each example may raise the process' peak memory by at most
`MEMORY_MB` (a 1.9 KB line nested 900 deep once took more than 4 GB).

Kept out of a `conftest.py` on purpose (see `tests/pipelines/sources/requests/raw_reading.py`).
"""

from __future__ import annotations

import faulthandler
import os
import resource
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TextIO

import polars as pl
import pyarrow as pa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from pipelines.sources.requests import SourceFormatError, SourceMapping, read_raw_batches
from schemas.requests import RAW_REQUEST, SOURCE_POSITION

FUZZ_ENV = "URBANPULSE_FUZZ"
DEADLINE = timedelta(seconds=5)
HANG_SECONDS = 60.0
MEMORY_MB = 400.0

_COMMON = {
    "deadline": DEADLINE,
    "database": None,  # no example files in the work tree; failures print a reproduce blob
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=100, **_COMMON)
settings.register_profile("full", max_examples=10_000, **_COMMON)
settings.load_profile(os.environ.get(FUZZ_ENV) or "ci")


# pytest captures fd 2, and a process ended by faulthandler never hands that capture back
HANG_LOG = Path(tempfile.gettempdir()) / "urbanpulse-fuzz-hang.txt"
_hang_log: list[TextIO] = []


def _hang_file() -> TextIO:
    if not _hang_log:
        _hang_log.append(HANG_LOG.open("w", encoding="utf-8"))  # kept open for the whole run
    return _hang_log[0]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def bounded(what: str) -> Iterator[None]:
    """Fail the example when it raises peak memory by more than `MEMORY_MB`; a hang past
    `HANG_SECONDS` ends the process with tracebacks rather than blocking the suite."""
    before = _peak_rss_mb()
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True, file=_hang_file())
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
    grown = _peak_rss_mb() - before
    assert grown < MEMORY_MB, f"{what}: peak memory grew by {grown:.0f} MB in one example"


def read_or_reject(
    path: Path, fmt: str, mapping: SourceMapping | None = None, batch_rows: int = 100_000
) -> pl.DataFrame | None:
    """The raw rows of `path`, or None when the adapter rejected the file with a
    `SourceFormatError` that says something. Any other exception fails the example. Checks
    what every caller relies on: the exact schema, at most `batch_rows` rows a batch,
    positions 0..n-1 in order."""
    with bounded(f"{fmt} reader"):
        try:
            batches = list(read_raw_batches(path, fmt, mapping=mapping, batch_rows=batch_rows))
        except SourceFormatError as error:
            assert str(error).strip(), "a SourceFormatError must say what is wrong"
            return None
    for batch in batches:
        assert batch.schema.equals(RAW_REQUEST, check_metadata=True)
        assert 0 < batch.num_rows <= batch_rows
    frame = pl.from_arrow(pa.Table.from_batches(batches, schema=RAW_REQUEST))
    assert isinstance(frame, pl.DataFrame)
    assert frame.get_column(SOURCE_POSITION).to_list() == list(range(frame.height))
    return frame


# --- hostile values ----------------------------------------------------------------------------

EXTREME_TIMES = (
    "9999-12-31T23:30:00-05:00", "9999-12-31T23:59:59Z", "9999-12-31 23:59:59", "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00+14:00", "0001-01-01 00:00:00", "10000-01-01T00:00:00Z", "-0001-01-01T00:00:00Z",
    "+275760-09-13T00:00:00Z", "2023-02-29T12:00:00Z", "2023-03-12 02:30:00", "2023-11-05 01:30:00",
    "2024-01-01T00:00:00.123456789Z", "2024-01-01T00:00:00+25:00", "2024-01-01", "1970-01-01T00:00:00Z",
    "99999999999999999999-01-01", "2024-13-45T99:99:99Z", "T", "-", "Z",
)
ODD_NUMBERS = ("NaN", "nan", "-NaN", "inf", "-Infinity", "1e309", "-0", "0x1F", "1_000", "1" * 400, ".", "")
PIECES = ('"', "'", ",", ";", "\t", "\n", "\r", "\r\n", "\\", '""', "\x00", "\ufeff", "\u2028", "\x85",
          "é", "Ж", "😀", "<", ">", "&", "]]>", "{", "}", "[", "]", ":", "\\u", "\\ud800", "null")


def hostile_text(max_size: int = 30) -> st.SearchStrategy[str]:
    """Text that breaks naive parsers: quotes, separators, line breaks, odd numbers and times."""
    return st.one_of(
        st.text(max_size=max_size),
        st.lists(st.sampled_from(PIECES), max_size=8).map("".join),
        st.sampled_from(EXTREME_TIMES + ODD_NUMBERS),
    )


TIMEZONES = ("UTC", "America/New_York", "Pacific/Kiritimati", "Etc/GMT+12", "Asia/Kathmandu", "Europe/Moscow")


def json_values(max_leaves: int = 6) -> st.SearchStrategy[object]:
    """JSON values as they arrive: text, numbers, booleans, null, shallow arrays and objects."""
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), hostile_text(),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=max_leaves,
    )


def lone_surrogates() -> st.SearchStrategy[str]:
    """Text holding a surrogate code point alone (valid as a JSON `\\ud800` escape, not as text)."""
    return st.tuples(st.text(max_size=5), st.integers(0xD800, 0xDFFF), st.text(max_size=5)).map(
        lambda parts: f"{parts[0]}{chr(parts[1])}{parts[2]}"
    )


def nested(depth: int) -> str:
    """A JSON array nested `depth` levels deep, as text."""
    return "[" * depth + "]" * depth
