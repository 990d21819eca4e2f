"""Fuzz: validation (and normalisation, which turns instants into local dates) over hostile rows.

Every raw row is either one valid row or one dead letter with a machine-readable reason
(`in = out + dead`), whatever its fields hold: extreme or malformed times with any offset, odd
numbers, blank ids, unreadable records. The valid rows then normalise in any city time zone
without raising: an instant whose local date cannot be written never gets that far.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from conftest import frame_of
from fuzzing import EXTREME_TIMES, TIMEZONES, bounded, hostile_text
from hypothesis import given
from hypothesis import strategies as st

from pipelines.transforms.requests.normalise import normalise_frame
from pipelines.transforms.requests.validate import EARLIEST, LATEST, validate_frame
from schemas import dead_letters as dl
from schemas import requests as rq

NOW = datetime(2026, 11, 1, tzinfo=UTC)
REASONS = {value for name, value in vars(dl.Reason).items() if not name.startswith("_")}
OFFSETS = st.sampled_from(["Z", "+00:00", "-05:00", "+14:00", "-12:00", "+05:45", "-0400", "+01", ""])


@st.composite
def iso_times(draw) -> str:
    """ISO 8601 text for any wall-clock time of years 1-9999 with any offset (so in UTC it may
    fall in year 0 or 10000), sometimes with a fraction, `T` or a space."""
    moment = draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
    sep = draw(st.sampled_from(["T", " "]))
    text = f"{moment.year:04d}-{moment:%m-%d}{sep}{moment:%H:%M:%S}"
    if draw(st.booleans()):
        text += f".{moment.microsecond:06d}"
    return text + draw(OFFSETS)


def times() -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), iso_times(), st.sampled_from(EXTREME_TIMES), hostile_text())


@st.composite
def raw_rows(draw) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        rq.SERVICE_REQUEST_ID: draw(st.one_of(st.none(), st.just(" "), st.text(max_size=8))),
        rq.REQUESTED_DATETIME: draw(times()),
    }
    for name in (rq.UPDATED_DATETIME, rq.EXPECTED_DATETIME, rq.CLOSED_DATETIME):
        row[name] = draw(times())
    for name in (rq.LAT, rq.LONG, rq.STATUS, rq.DESCRIPTION, rq.ADDRESS):
        row[name] = draw(st.one_of(st.none(), hostile_text()))
    if draw(st.integers(0, 7)) == 0:
        row[rq.UNREADABLE_RECORD] = draw(st.text(max_size=20))
    if draw(st.integers(0, 5)) == 0:
        row[rq.GUESSED_ENCODING] = "cp1251"
    return row


@given(rows=st.lists(raw_rows(), max_size=25), timezone=st.sampled_from(TIMEZONES))
def test_every_row_is_valid_or_a_dead_letter(rows: list[dict[str, str | None]], timezone: str) -> None:
    raw = frame_of(rows)
    with bounded("validate_frame + normalise_frame"):
        valid, dead = validate_frame(raw, NOW)
        normalised = normalise_frame(valid, timezone, NOW)
    assert valid.height + dead.height == raw.height
    positions = sorted(valid[rq.SOURCE_POSITION].to_list() + dead[rq.SOURCE_POSITION].to_list())
    assert positions == list(range(raw.height))
    assert set(dead[dl.REASON].to_list()) <= REASONS
    assert dead[dl.DETAIL].null_count() == 0
    requested = valid[rq.REQUESTED_DATETIME]
    assert requested.null_count() == 0
    assert valid.height == 0 or (EARLIEST <= requested.min() and requested.max() <= LATEST)
    assert normalised.height == valid.height and normalised[rq.REQUEST_DATE].null_count() == 0
    guessed = pl.Series([row.get(rq.GUESSED_ENCODING) is not None for row in rows])
    flagged = valid[rq.QUALITY_FLAGS].list.contains(rq.QualityFlag.DECODED_BY_GUESS)
    assert flagged.to_list() == guessed.gather(valid[rq.SOURCE_POSITION]).to_list()
