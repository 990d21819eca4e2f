"""Flat numbers in the address field: found, dropped with their separator, and nothing else.

The published address keeps its street and house (researchers map requests by them, and the
address parser must read the scrubbed address as it read the whole one).
"""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.geocoding.address_parser import HOUSE_KEY, STREET_KEY, TYPE_KEY, parse_addresses
from models.personal_data.detector import detect_address_flats, scrub_addresses
from schemas.personal_data import PII_END, PII_START, PII_TYPE, PiiType

# (address, its flat as written, the address as published)
WITH_FLATS = [
    ("ул. Ленина, д. 5, кв. 15", "кв. 15", "ул. Ленина, д. 5"),
    ("ул. Ленина д. 5 кв 15", "кв 15", "ул. Ленина д. 5"),
    ("Садовая ул., 9, квартира 15", "квартира 15", "Садовая ул., 9"),
    ("пр-т Мира, 7 стр. 1, кв.44а, подъезд 2", "кв.44а", "пр-т Мира, 7 стр. 1, подъезд 2"),
    ("кв. 7, ул. Садовая, д. 1", "кв. 7", "ул. Садовая, д. 1"),
    ("123 Main St Apt 4B", "Apt 4B", "123 Main St"),
    ("123 Main St, apartment 12", "apartment 12", "123 Main St"),
    ("123 Main St #4B", "#4B", "123 Main St"),
    ("123 Main St #12", "#12", "123 Main St"),
    ("350 W 42nd St, # 12-C", "# 12-C", "350 W 42nd St"),
    ("10 Downing St, Flat 3", "Flat 3", "10 Downing St"),
    ("55 Water St Unit 7", "Unit 7", "55 Water St"),
    ("848 PACIFIC AVE, Apt E, SAN FRANCISCO, CA, 94133", "Apt E", "848 PACIFIC AVE, SAN FRANCISCO, CA, 94133"),
]
# Addresses without a flat, some with words that look like one.
WITHOUT_FLATS = [
    "ул. Ленина, д. 15к2",
    "#536 Columbus Ave",
    "пр-т Мира, 7 строение 1",
    "Broadway & W 42nd St",
    "Квартальная ул., 5",
    "1000 Flatbush Ave",
    "Unity Plaza 5",
    "ул. Павлова, 43/14",
    "пр-т Андрея Сахарова, 5",
    "Flat Rock Rd 12",
]


@pytest.mark.parametrize(("address", "flat", "published"), WITH_FLATS)
def test_flat_is_found_and_dropped(address: str, flat: str, published: str) -> None:
    spans = detect_address_flats(pl.Series([address]))[0]
    assert [(s[PII_TYPE], address[s[PII_START] : s[PII_END]]) for s in spans] == [(PiiType.FLAT, flat)]
    assert scrub_addresses(pl.Series([address])).to_list() == [published]


def test_addresses_without_flats_stay_as_they_are() -> None:
    addresses = pl.Series(WITHOUT_FLATS + [None])
    assert detect_address_flats(addresses).list.len().to_list() == [0] * len(addresses)
    assert scrub_addresses(addresses).to_list() == addresses.to_list()


def test_scrubbed_address_parses_to_the_same_street_and_house() -> None:
    """The parser drops a numbered flat tail itself ("кв 15", "apt 4b"), so what the geocoder
    reads from a published address is what it read from the whole one; a "#" unit or a lettered
    "Apt E", which it could not drop, now goes before anyone parses the published address."""
    keys = [STREET_KEY, TYPE_KEY, HOUSE_KEY]
    dropped_by_parser = [
        address for address, flat, _ in WITH_FLATS
        if any(c.isdigit() for c in flat) and "#" not in flat and not address.startswith(flat)
    ]
    raw = pl.Series(dropped_by_parser)
    before = parse_addresses(raw).select(keys)
    assert before.get_column(HOUSE_KEY).null_count() == 0
    assert_frame_equal(parse_addresses(scrub_addresses(raw)).select(keys), before)
    others = pl.Series([address for address, _, _ in WITH_FLATS if address not in dropped_by_parser])
    assert parse_addresses(scrub_addresses(others)).get_column(HOUSE_KEY).null_count() == 0
