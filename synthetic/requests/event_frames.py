"""Per distinct request (event): the Open311 fields all its versions share, and the truth about it.

`synthetic.requests.generator` draws the events and their lifecycles; this module draws what
residents wrote and how the source garbled it (language, reported coordinates, address, text,
service code, unparseable times), then cuts the records and the answer key from the same columns.
The draws happen in one fixed order (`_event_columns`): reorder them and every seed gives
different rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from models.cities.pack import CityPack
from schemas import requests as rq
from schemas.dead_letters import REASON, Reason
from schemas.personal_data import PII_SPANS
from schemas.taxonomy import (
    TAXONOMY_CATEGORY,
    TAXONOMY_DEPARTMENT,
    TAXONOMY_LABEL_EN,
    TAXONOMY_LABEL_RU,
)
from synthetic.requests import events as ev
from synthetic.requests import texts as tx

ID_PREFIX = "UP"
TIMESTAMP_TEXT = "%Y-%m-%dT%H:%M:%SZ"
BAD_TIMESTAMPS = ("31/02/2026 25:61", "yesterday", "2026-13-45T99:00:00Z", "вчера", "N/A")
GEOCODE_ISSUES = (
    None,
    rq.GeocodeIssue.NULL_ISLAND,
    rq.GeocodeIssue.OUT_OF_RANGE,
    rq.GeocodeIssue.OUTSIDE_CITY,
    rq.GeocodeIssue.MISSING,
)  # by CoordinateIssue
DEAD_LETTER_REASONS = (None, Reason.MISSING_ID, Reason.BAD_TIMESTAMP)  # by defect code

ENGLISH_SHARE = 0.35
GARBAGE_SHARE = 0.02
POINT_SHARE = 0.2  # located by a GPS point anywhere in a district rather than at a house
MISSING_COORD_SHARE = 0.15
INVALID_COORD_SHARE = 0.005
SERVICE_CODE_SHARE = 0.2
ADDRESS_IN_TEXT_SHARE = 0.9


@dataclass
class Events:
    """One entry per distinct request: base reports first, then other residents' reports of
    the same problems (`origin` = the base event each of those repeats)."""

    category: np.ndarray
    house: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    district: np.ndarray
    requested: np.ndarray
    origin: np.ndarray


@dataclass
class _EventColumns:
    """The per-event columns that the records and the truth are both cut from."""

    ids: pl.Series
    names: pl.Series  # category names (also the service code, when sent)
    departments: pl.Series
    labels: pl.Series  # the category's label in the text's language
    language: np.ndarray  # index into tx.LANGUAGES
    lon: np.ndarray  # as reported: NaN where missing
    lat: np.ndarray
    issue: np.ndarray  # index into GEOCODE_ISSUES
    address: pl.Series
    texts: pl.DataFrame  # description and its personal-data spans
    coded: np.ndarray  # the source sent service code, name and agency
    bad_time: pl.Series  # what a defective row carries instead of its request time


def event_frames(
    rng: np.random.Generator,
    pack: CityPack,
    taxonomy: pl.DataFrame,
    events: Events,
    sla: np.ndarray,
    defect: np.ndarray,
    first_id: int = 1,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per event: the Open311 fields every version shares, and the truth about it."""
    columns = _event_columns(rng, pack, taxonomy, events, first_id)
    return _record_frame(columns, events, sla, defect), _truth_frame(columns, pack, events, defect)


def _event_columns(
    rng: np.random.Generator, pack: CityPack, taxonomy: pl.DataFrame, events: Events, first_id: int
) -> _EventColumns:
    """Every random draw per event, in the order the seed fixes, plus the taxonomy lookups."""
    n, category = len(events.category), events.category
    language = (rng.random(n) < ENGLISH_SHARE).astype(np.int64)
    lon, lat, issue = ev.reported_coordinates(
        rng,
        events.lon,
        events.lat,
        events.house >= 0,
        MISSING_COORD_SHARE / (1 - POINT_SHARE),
        INVALID_COORD_SHARE,
    )
    pool = tx.address_pool(pack.gazetteer) if pack.gazetteer is not None else None
    address, in_text = tx.written_addresses(
        rng, pool, events.house, language, ADDRESS_IN_TEXT_SHARE
    )
    garbage = rng.random(n) < GARBAGE_SHARE
    texts = tx.compose_texts(rng, taxonomy[TAXONOMY_CATEGORY], category, language, in_text, garbage)
    coded = rng.random(n) < SERVICE_CODE_SHARE
    labels = pl.select(
        pl.when(pl.lit(pl.Series(language == 1)))
        .then(pl.lit(taxonomy.get_column(TAXONOMY_LABEL_EN).gather(category)))
        .otherwise(pl.lit(taxonomy.get_column(TAXONOMY_LABEL_RU).gather(category)))
    ).to_series()
    return _EventColumns(
        ids=_ids(events.requested, first_id),
        names=taxonomy.get_column(TAXONOMY_CATEGORY).gather(category),
        departments=taxonomy.get_column(TAXONOMY_DEPARTMENT).gather(category),
        labels=labels,
        language=language,
        lon=lon,
        lat=lat,
        issue=issue,
        address=address,
        texts=texts,
        coded=coded,
        bad_time=pl.Series(BAD_TIMESTAMPS).gather(rng.integers(0, len(BAD_TIMESTAMPS), n)),
    )


def _record_frame(
    columns: _EventColumns, events: Events, sla: np.ndarray, defect: np.ndarray
) -> pl.DataFrame:
    """What the source sends: defect 1 loses the id, defect 2 garbles the request time."""
    requested = masked(text_time(events.requested), defect != 2).fill_null(columns.bad_time)
    expected = text_time(events.requested + (sla * ev.US_PER_DAY).astype(np.int64))
    coded = columns.coded
    return pl.DataFrame(
        {
            rq.SERVICE_REQUEST_ID: masked(columns.ids, defect != 1),
            rq.SERVICE_CODE: masked(columns.names, coded),
            rq.SERVICE_NAME: masked(columns.labels.fill_null(columns.names), coded),
            rq.DESCRIPTION: columns.texts.get_column(rq.DESCRIPTION),
            rq.AGENCY_RESPONSIBLE: masked(columns.departments, coded),
            rq.REQUESTED_DATETIME: requested,
            rq.EXPECTED_DATETIME: expected,
            rq.ADDRESS: columns.address,
            rq.LAT: pl.Series(columns.lat).fill_nan(None),
            rq.LONG: pl.Series(columns.lon).fill_nan(None),
        }
    )


def _truth_frame(
    columns: _EventColumns, pack: CityPack, events: Events, defect: np.ndarray
) -> pl.DataFrame:
    """What the pipeline should find: the true place, the original of a repeat, the defects."""
    district_ids = pl.Series([*pack.district_ids, None], dtype=pl.String)
    n_base = len(events.category) - len(events.origin)
    ids = columns.ids
    return pl.DataFrame(
        {
            rq.SERVICE_REQUEST_ID: ids,
            rq.CATEGORY: columns.names,
            rq.DEPARTMENT: columns.departments,
            rq.LANGUAGE: pl.Series(tx.LANGUAGES).gather(columns.language),
            rq.LAT: events.lat,
            rq.LONG: events.lon,
            rq.DISTRICT_ID: district_ids.gather(
                np.where(events.district >= 0, events.district, -1)
            ),
            rq.DUPLICATE_OF: pl.concat(
                [pl.repeat(None, n_base, dtype=pl.String, eager=True), ids.gather(events.origin)]
            ),
            rq.GEOCODE_ISSUE: pl.Series(GEOCODE_ISSUES, dtype=pl.String).gather(columns.issue),
            REASON: pl.Series(DEAD_LETTER_REASONS, dtype=pl.String).gather(defect),
            PII_SPANS: columns.texts.get_column(PII_SPANS),
        }
    )


def _ids(requested: np.ndarray, first_id: int = 1) -> pl.Series:
    """Sequential ids in order of filing from `first_id` on, as a city's system hands them out."""
    rank = np.empty(len(requested), dtype=np.int64)
    rank[np.argsort(requested, kind="stable")] = np.arange(first_id, first_id + len(requested))
    return ID_PREFIX + pl.Series(rank).cast(pl.String).str.zfill(9)


def text_time(us: np.ndarray) -> pl.Series:
    """Microseconds since the epoch as the source's timestamp text."""
    return pl.Series(us).cast(pl.Datetime("us", "UTC")).dt.strftime(TIMESTAMP_TEXT)


def masked(values: pl.Series, keep: np.ndarray) -> pl.Series:
    """`values` where `keep`, null elsewhere."""
    kept = pl.select(pl.when(pl.lit(pl.Series(keep))).then(pl.lit(values)))
    return kept.to_series().alias(values.name)
