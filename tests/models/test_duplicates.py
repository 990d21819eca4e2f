"""Duplicates: the latest version of a request wins, repeated reports of one problem are linked."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from conftest import enriched_frame

from models.duplicates import deduplicate
from schemas import requests as rq

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def report(rid: str, when: str, category: str = "road_damage", lat: float = 55.15, long: float = 37.05,
           position: int = 0, **extra) -> dict:
    return {rq.SERVICE_REQUEST_ID: rid, rq.REQUESTED_DATETIME: ts(when), rq.CATEGORY: category,
            rq.H3_CELL: "89abc", rq.LAT: lat, rq.LONG: long, rq.INGESTED_AT: NOW, rq.SOURCE_FILE: "f",
            rq.SOURCE_POSITION: position, **extra}


def test_latest_version_wins():
    frame = enriched_frame([
        report("A", "2026-10-01T08:00", position=0, **{rq.STATUS: "open", rq.UPDATED_DATETIME: ts("2026-10-01T08:00")}),
        report("A", "2026-10-01T08:00", position=5, **{rq.STATUS: "closed", rq.UPDATED_DATETIME: ts("2026-10-03T08:00")}),
        report("A", "2026-10-01T08:00", position=9, **{rq.STATUS: "open", rq.UPDATED_DATETIME: ts("2026-10-02T08:00")}),
    ])
    out = deduplicate(frame)
    assert out.height == 1 and out[rq.STATUS][0] == "closed" and out[rq.SOURCE_POSITION][0] == 5
    assert deduplicate(pl.concat([out, out])).height == 1


def test_repeated_reports_link_to_the_first_report_nearby():
    metres = 1 / 111_000
    frame = enriched_frame([
        report("A", "2026-10-01T08:00"),
        report("B", "2026-10-01T09:00", lat=55.15 + 20 * metres),   # 20 m away, 1 h later
        report("C", "2026-10-01T09:30", category="noise"),            # other problem
        report("D", "2026-10-01T10:00", lat=55.15 + 400 * metres),  # 400 m away
        report("E", "2026-10-01T15:00", lat=55.15 + 70 * metres),   # 7 h after A, 50 m from B
        report("F", "2026-10-01T22:00", lat=55.15 + 110 * metres),  # 14 h after A, 40 m from E
        report("G", "2026-10-01T23:30", lat=55.15 + 300 * metres),  # near nobody recent
        report("H", "2026-10-01T09:00", **{rq.H3_CELL: None}),        # not placed in the city
    ])
    out = deduplicate(frame).sort(rq.SERVICE_REQUEST_ID)
    assert dict(zip(out[rq.SERVICE_REQUEST_ID], out[rq.DUPLICATE_OF], strict=True)) == {
        "A": None, "B": "A", "C": None, "D": None, "E": "A", "F": "A", "G": None, "H": None,
    }


def test_reports_at_other_house_numbers_are_other_problems_in_any_spelling():
    metres = 1 / 111_000
    frame = enriched_frame([
        report("A", "2026-10-01T08:00", category="water_leak", **{rq.ADDRESS: "Вокзальный пер., д. 17"}),
        report("B", "2026-10-01T09:00", category="water_leak", lat=55.15 + 15 * metres,
               **{rq.ADDRESS: "17 Vokzalny Ln"}),                        # the same house, transliterated
        report("C", "2026-10-01T09:30", category="water_leak", lat=55.15 + 20 * metres,
               **{rq.ADDRESS: "Вокзальный пер., д. 19"}),                # the next house: its own leak
        report("E", "2026-10-01T10:00", category="water_leak", lat=55.15 + 10 * metres,
               **{rq.ADDRESS: "Вокзальный пер., д. 103 стр. 3"}),
        report("F", "2026-10-01T10:30", category="water_leak", lat=55.15 + 12 * metres,
               **{rq.ADDRESS: "103 bld 3 Vokzalny Ln"}),                 # E's house in other words
        report("D", "2026-10-01T11:00", category="water_leak", lat=55.15 + 25 * metres),  # no address: by place
    ])
    links = dict(deduplicate(frame).select(rq.SERVICE_REQUEST_ID, rq.DUPLICATE_OF).iter_rows())
    assert links == {"A": None, "B": "A", "C": None, "D": "A", "E": None, "F": "E"}


METRES = 1 / 111_000


def links_of(frame: pl.DataFrame) -> dict[str, str | None]:
    return dict(frame.select(rq.SERVICE_REQUEST_ID, rq.DUPLICATE_OF).iter_rows())


def test_a_repeat_just_after_midnight_joins_the_problem_reported_before_it():
    """The tail of the day before takes part as earlier reports with their final links: B (00:40)
    repeats A2 (23:10), itself a repeat of A; C is the same category but 300 m away."""
    earlier = deduplicate(enriched_frame([
        report("A", "2026-10-01T20:00"),
        report("A2", "2026-10-01T23:10", lat=55.15 + 20 * METRES),
    ]))
    assert links_of(earlier) == {"A": None, "A2": "A"}
    today = enriched_frame([
        report("B", "2026-10-02T00:40", lat=55.15 + 35 * METRES),
        report("C", "2026-10-02T01:00", lat=55.15 + 300 * METRES),
        report("D", "2026-10-02T09:30", lat=55.15 + 5 * METRES),  # 10 h after A2, 9 h after B
    ])
    out = deduplicate(today, earlier)
    assert links_of(out) == {"B": "A", "C": None, "D": None}
    assert dict(out.select(rq.SERVICE_REQUEST_ID, rq.REPORT_CLUSTER_ID).iter_rows()) == {"B": "A", "C": "C", "D": "D"}
    assert links_of(deduplicate(today)) == {"B": None, "C": None, "D": None}  # without the tail: nothing to join


def test_two_residents_naming_one_house_are_linked_further_apart():
    """A phone's fix may be 100 m off the house its owner names: within 150 m the same house
    number links, while without addresses 120 m is too far, and another number never links."""
    frame = enriched_frame([
        report("A", "2026-10-01T08:00", **{rq.ADDRESS: "ул. Ленина, д. 12"}),
        report("B", "2026-10-01T09:00", lat=55.15 + 120 * METRES, **{rq.ADDRESS: "12 Lenina St"}),
        report("C", "2026-10-01T09:30", lat=55.15 - 120 * METRES),
        report("D", "2026-10-01T10:00", lat=55.15 + 280 * METRES, **{rq.ADDRESS: "ул. Ленина, д. 12"}),  # 160 m from B
        report("E", "2026-10-01T10:30", lat=55.15 + 110 * METRES, **{rq.ADDRESS: "ул. Ленина, д. 14"}),
    ])
    assert links_of(deduplicate(frame)) == {"A": None, "B": "A", "C": None, "D": None, "E": None}


def test_related_categories_link_when_their_texts_say_the_same():
    """The classifier split one problem over two categories of one department: the texts decide."""
    housing = {rq.DEPARTMENT: "housing"}
    frame = enriched_frame([
        report("A", "2026-10-01T08:00", category="water_leak", **housing,
               **{rq.DESCRIPTION: "No hot water in the building since morning"}),
        report("B", "2026-10-01T09:00", category="heating", lat=55.15 + 10 * METRES, **housing,
               **{rq.DESCRIPTION: "since morning no hot water in building"}),
        report("C", "2026-10-01T09:30", category="elevator", lat=55.15 + 10 * METRES, **housing,
               **{rq.DESCRIPTION: "The lift is stuck between floors"}),
        report("D", "2026-10-01T10:00", category="noise", lat=55.15 + 10 * METRES, **{rq.DEPARTMENT: "police"},
               **{rq.DESCRIPTION: "No hot water in the building since morning"}),
    ])
    assert links_of(deduplicate(frame)) == {"A": None, "B": "A", "C": None, "D": None}
