"""Normalise, route, SLA and deduplication on small inline frames."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest
from conftest import frame_of

from models.cities.routing import route
from pipelines.transforms.requests.normalise import normalise_frame
from pipelines.transforms.requests.sla import sla_frame
from pipelines.transforms.requests.validate import validate_frame
from schemas import requests as rq
from schemas.requests import QualityFlag

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def normalised(rows: list[dict]) -> pl.DataFrame:
    valid, dead = validate_frame(frame_of(rows), NOW)
    assert dead.height == 0
    return normalise_frame(valid, "Europe/Moscow", NOW)


@pytest.mark.parametrize(
    ("status", "closed", "expected"),
    [("Closed", None, "closed"), ("RESOLVED", None, "closed"), ("Закрыта", None, "closed"),
     ("In Progress", None, "open"), (None, "2026-10-02T00:00:00Z", "closed"), ("Open", None, "open")],
)
def test_status_words_map_to_open_or_closed(status, closed, expected):
    frame = normalised([{rq.SERVICE_REQUEST_ID: "1", rq.REQUESTED_DATETIME: "2026-10-01T00:00:00Z",
                         rq.STATUS: status, rq.CLOSED_DATETIME: closed}])
    assert frame[rq.STATUS][0] == expected


def test_mojibake_is_repaired_and_flagged():
    text = "Department of Transportation\u00e2\u0080\u0099s website"
    frame = normalised([{rq.SERVICE_REQUEST_ID: "1", rq.REQUESTED_DATETIME: "2026-10-01T00:00:00Z",
                         rq.DESCRIPTION: text}, {rq.SERVICE_REQUEST_ID: "2",
                         rq.REQUESTED_DATETIME: "2026-10-01T00:00:00Z", rq.DESCRIPTION: "Яма на дороге"}])
    assert frame[rq.DESCRIPTION].to_list() == ["Department of Transportation's website", "Яма на дороге"]
    assert QualityFlag.MOJIBAKE_REPAIRED in frame[rq.QUALITY_FLAGS][0].to_list()
    assert QualityFlag.MOJIBAKE_REPAIRED not in frame[rq.QUALITY_FLAGS][1].to_list()


def test_local_date_uses_city_timezone():
    frame = normalised([{rq.SERVICE_REQUEST_ID: "1", rq.REQUESTED_DATETIME: "2026-10-01T22:30:00Z"}])
    assert frame[rq.REQUEST_DATE][0] == date(2026, 10, 2)  # 01:30 in Moscow


def test_sla_outcomes_and_closed_before_requested():
    frame = normalised([
        {rq.SERVICE_REQUEST_ID: "fast", rq.REQUESTED_DATETIME: "2026-10-01T00:00:00Z",
         rq.CLOSED_DATETIME: "2026-10-01T12:00:00Z", rq.DESCRIPTION: "x"},
        {rq.SERVICE_REQUEST_ID: "late", rq.REQUESTED_DATETIME: "2026-10-01T00:00:00Z",
         rq.CLOSED_DATETIME: "2026-10-03T00:00:00Z", rq.DESCRIPTION: "x"},
        {rq.SERVICE_REQUEST_ID: "odd", rq.REQUESTED_DATETIME: "2026-10-01T00:00:00Z",
         rq.CLOSED_DATETIME: "2026-09-01T00:00:00Z", rq.DESCRIPTION: "x"},
        {rq.SERVICE_REQUEST_ID: "open", rq.REQUESTED_DATETIME: "2026-10-01T00:00:00Z", rq.DESCRIPTION: "x"},
    ]).with_columns(pl.lit("noise").alias(rq.CATEGORY))
    taxonomy = pl.DataFrame({"category": ["noise"], "department": ["police"], "sla_days": [1.0],
                             "label_en": [None], "label_ru": [None]}, schema_overrides={"label_en": pl.String, "label_ru": pl.String})
    out = sla_frame(route(frame, taxonomy))
    assert out[rq.DEPARTMENT].to_list() == ["police"] * 4
    assert out[rq.HOURS_TO_CLOSE].to_list() == [12.0, 48.0, None, None]
    assert out[rq.CLOSED_WITHIN_SLA].to_list() == [True, False, None, None]
    assert out[rq.SLA_DUE_DATETIME][0] == datetime(2026, 10, 2, tzinfo=UTC)
    assert QualityFlag.CLOSED_BEFORE_REQUESTED in out[rq.QUALITY_FLAGS][2].to_list()


def test_route_falls_back_to_agency_then_triage_and_default_sla():
    frame = pl.DataFrame({rq.CATEGORY: ["unknown_thing", None], rq.AGENCY_RESPONSIBLE: ["DOT", None]})
    taxonomy = pl.DataFrame(schema={"category": pl.String, "department": pl.String, "sla_days": pl.Float64,
                                    "label_en": pl.String, "label_ru": pl.String})
    out = route(frame, taxonomy)
    assert out[rq.DEPARTMENT].to_list() == ["DOT", "triage"]
    assert out[rq.SLA_DAYS].to_list() == [8.0, 8.0]
