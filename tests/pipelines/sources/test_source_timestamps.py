"""Source timestamps to ISO 8601 UTC text: what parses is rewritten, nothing else is touched."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_series_equal

from pipelines.sources.requests import ISO_8601_FORMATS
from pipelines.sources.timestamps import text_to_iso_utc

US = ("%m/%d/%Y %I:%M:%S %p",)


@pytest.mark.parametrize(
    ("formats", "timezone", "given", "expected"),
    [
        (US, "America/New_York", "02/28/2023 11:45:00 PM", "2023-03-01T04:45:00Z"),
        (US, "America/New_York", "03/01/2023 12:10:41 AM", "2023-03-01T05:10:41Z"),
        (US, "America/New_York", "07/25/2023 02:22:23 AM", "2023-07-25T06:22:23Z"),
        # 01:30 happens twice on 5 Nov 2023: the earlier (EDT) instant is chosen
        (US, "America/New_York", "11/05/2023 01:30:00 AM", "2023-11-05T05:30:00Z"),
        # 02:30 never happens on 12 Mar 2023: not guessed, kept for validation to reject
        (US, "America/New_York", "03/12/2023 02:30:00 AM", "03/12/2023 02:30:00 AM"),
        (US, "America/New_York", "2023-02-28T23:45:00Z", "2023-02-28T23:45:00Z"),  # not US form
        (US, "America/New_York", "13/45/2023 01:00:00 PM", "13/45/2023 01:00:00 PM"),
        (ISO_8601_FORMATS, "UTC", "2023-02-28T23:45:00Z", "2023-02-28T23:45:00Z"),
        (ISO_8601_FORMATS, "Asia/Tokyo", "2023-02-28T23:45:00Z", "2023-02-28T23:45:00Z"),
        (ISO_8601_FORMATS, "UTC", "2012-05-23T15:55:28-04:00", "2012-05-23T19:55:28Z"),
        (ISO_8601_FORMATS, "UTC", "2016-07-13 15:11:07+00:00", "2016-07-13T15:11:07Z"),
        (ISO_8601_FORMATS, "UTC", "2012-05-22 23:57:23.97", "2012-05-22T23:57:23.970000Z"),
        (
            ISO_8601_FORMATS,
            "America/Los_Angeles",
            "2012-05-22 23:57:23.97",
            "2012-05-23T06:57:23.970000Z",
        ),
        (ISO_8601_FORMATS, "UTC", "2023-02-28T23:45:00.123456789Z", "2023-02-28T23:45:00.123456Z"),
        (ISO_8601_FORMATS, "UTC", "2023-02-28T23:45:00.000Z", "2023-02-28T23:45:00Z"),
        (ISO_8601_FORMATS, "Europe/Berlin", "2023-03-10", "2023-03-09T23:00:00Z"),
        (ISO_8601_FORMATS, "UTC", " 2023-02-28T23:45:00Z ", "2023-02-28T23:45:00Z"),
        (ISO_8601_FORMATS, "UTC", "yesterday", "yesterday"),
        (ISO_8601_FORMATS, "UTC", "", None),
        (ISO_8601_FORMATS, "UTC", "   ", None),
        (ISO_8601_FORMATS, "UTC", None, None),
    ],
)
def test_one_value(
    formats: tuple[str, ...], timezone: str, given: str | None, expected: str | None
) -> None:
    out = text_to_iso_utc(pl.Series("t", [given], dtype=pl.String), formats, timezone)
    assert out.to_list() == [expected]


def test_mixed_column_keeps_order_and_name() -> None:
    given = pl.Series("requested", ["2023-02-28T23:45:00Z", "bad", None, "2023-02-28 01:00:00"])
    out = text_to_iso_utc(given, ISO_8601_FORMATS, "UTC")
    expected = pl.Series("requested", ["2023-02-28T23:45:00Z", "bad", None, "2023-02-28T01:00:00Z"])
    assert_series_equal(out, expected)


@pytest.mark.parametrize(
    ("timezone", "given", "expected"),
    [
        ("America/New_York", "9999-12-31 23:30:00", "+10000-01-01T04:30:00Z"),
        ("UTC", "9999-12-31T23:30:00-05:00", "+10000-01-01T04:30:00Z"),
        ("UTC", "0001-01-01T00:00:00+14:00", "0000-12-31T10:00:00Z"),
    ],
)
def test_instants_past_the_years_1_to_9999_are_rendered_not_raised(timezone: str, given: str, expected: str) -> None:
    """Sources hand such instants on as ISO text; validation dead-letters them (out of range)."""
    out = text_to_iso_utc(pl.Series([given]), ISO_8601_FORMATS, timezone)
    assert out.to_list() == [expected]


def test_values_already_in_the_output_form_come_out_as_the_general_parser_renders_them() -> None:
    """The shortcut for text already written as `YYYY-MM-DDTHH:MM:SSZ` must agree with parsing
    and rendering it, among values that need the general path, in the order given."""
    given = pl.Series("requested_datetime", [
        "2023-02-28T23:45:00Z", "2023-02-30T00:00:00Z",  # no 30 February: the text is kept
        "2023-12-31T23:59:60Z",  # a leap second: read as the next second, so not as written
        " 2023-02-28T23:45:00Z", "2023-02-28T23:45:00.5Z", "2012-05-23T15:55:28-04:00",
        "٢٠٢٣-02-28T23:45:00Z", "", "  ", None, "garbage", "2023-02-28T23:45:00Z",
    ])
    expected = [
        "2023-02-28T23:45:00Z", "2023-02-30T00:00:00Z", "2024-01-01T00:00:00Z",
        "2023-02-28T23:45:00Z", "2023-02-28T23:45:00.500000Z", "2012-05-23T19:55:28Z",
        "٢٠٢٣-02-28T23:45:00Z", None, None, None, "garbage", "2023-02-28T23:45:00Z",
    ]
    assert text_to_iso_utc(given, ISO_8601_FORMATS, "Europe/Moscow").to_list() == expected
    # the same values one at a time (no shortcut for a lone value that needs the general path)
    assert [text_to_iso_utc(pl.Series([v], dtype=pl.String), ISO_8601_FORMATS, "Europe/Moscow")[0]
            for v in given.to_list()] == expected


def test_text_in_the_output_form_is_read_by_the_mapping_formats_when_they_come_first() -> None:
    # a city whose export writes day before month in the same shape: its format wins, no shortcut
    swapped = ("%Y-%d-%mT%H:%M:%SZ",)
    assert text_to_iso_utc(pl.Series(["2023-28-02T23:45:00Z"]), swapped, "UTC").to_list() == ["2023-02-28T23:45:00Z"]
    assert text_to_iso_utc(pl.Series(["2023-01-02T23:45:00Z"]), swapped, "UTC").to_list() == ["2023-02-01T23:45:00Z"]
