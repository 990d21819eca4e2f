"""Synthetic citizen requests for a city pack, with the answer key to grade the pipeline against.

`generate_requests` returns the records a 311 feed would deliver (Open311 vocabulary, every
timestamp as source text, so defective values survive) and a truth table saying, per row, what
the pipeline should find: category, language, true place and district, duplicate reports,
re-sent versions, personal-data spans, and which rows are defective on purpose (null island,
unparseable dates, missing ids). Everything is drawn column-wise with numpy/polars from one
seeded generator: the same seed gives the same frames, and a million rows take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from models.cities.pack import CityPack
from synthetic.requests import events as ev
from synthetic.requests import lifecycle as lc
from synthetic.requests import texts as tx
from synthetic.requests.personal_data import PII_SPANS
from synthetic.requests.templates import CATEGORY_WEIGHTS, TEMPLATES
from schemas import requests as rq
from schemas.dead_letters import REASON, Reason
from schemas.taxonomy import (
    TAXONOMY_CATEGORY,
    TAXONOMY_DEPARTMENT,
    TAXONOMY_LABEL_EN,
    TAXONOMY_LABEL_RU,
    TAXONOMY_SLA_DAYS,
)

# Truth-table column with no home in schemas/ yet (the others reuse schema names).
IS_RESEND = "is_resend"

DEFAULT_END = datetime(2026, 11, 1, tzinfo=UTC)
FORMATS = ("csv", "jsonl", "parquet", "open311-json")
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
RESEND_SHARE = 0.03
MULTI_REPORT_SHARE = 0.02
BAD_ROW_SHARE = 0.002
GARBAGE_SHARE = 0.02
POINT_SHARE = 0.2  # located by a GPS point anywhere in a district rather than at a house
MISSING_COORD_SHARE = 0.15
INVALID_COORD_SHARE = 0.005
CLOSED_BEFORE_REQUESTED_SHARE = 0.003
SERVICE_CODE_SHARE = 0.2
ADDRESS_IN_TEXT_SHARE = 0.9


class SyntheticDataError(ValueError):
    """The generator cannot work with the given pack or arguments; the message says why."""


@dataclass
class _Events:
    """One entry per distinct request: base reports first, then other residents' reports of
    the same problems (`origin` = the base event each of those repeats)."""

    category: np.ndarray
    house: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    district: np.ndarray
    requested: np.ndarray
    origin: np.ndarray


def truth_path(path: Path) -> Path:
    """Where `write_requests` puts the answer key next to a records file."""
    return path.with_name(f"{path.stem}.truth.parquet")


def generate_requests(
    pack: CityPack, count: int, seed: int, start: datetime | None = None, days: int = 60
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(records, truth) for `count` rows over `days` days from `start` (naive means UTC).

    Without `start` the window ends at DEFAULT_END. Row i of truth describes row i of records.
    """
    if count < 1 or days < 1:
        raise SyntheticDataError(f"count and days must be positive, got {count=}, {days=}")
    rng = np.random.default_rng(seed)
    start = (DEFAULT_END - timedelta(days=days)) if start is None else start
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    end_us = int((start + timedelta(days=days)).timestamp()) * 1_000_000
    taxonomy = _taxonomy(pack)
    n_resend, n_multi = round(count * RESEND_SHARE), round(count * MULTI_REPORT_SHARE)
    n_base = count - n_resend - n_multi

    events = _events(rng, pack, taxonomy, n_base, n_multi, start, days, end_us)
    sla = taxonomy.get_column(TAXONOMY_SLA_DAYS).to_numpy()[events.category]
    life = lc.lifecycle(
        rng,
        events.requested,
        events.category,
        sla,
        taxonomy.height,
        CLOSED_BEFORE_REQUESTED_SHARE,
        end_us,
    )
    rows = lc.versions(rng, life, events.requested, n_resend, end_us)
    protected = np.zeros(len(events.category), dtype=bool)
    protected[rows.resent] = protected[events.origin] = True
    protected[n_base:] = True
    defect = np.zeros(len(protected), dtype=np.int64)  # 1 missing id, 2 unparseable time
    defective = rng.choice(np.flatnonzero(~protected), round(count * BAD_ROW_SHARE), replace=False)
    defect[defective] = rng.integers(1, 3, size=defective.size)

    record_events, truth_events = _event_frames(rng, pack, taxonomy, events, sla, defect)
    at = pl.Series(rows.event)
    records = record_events.select(pl.all().gather(at)).with_columns(
        pl.Series(rq.STATUS, np.where(rows.is_closed, rq.Status.CLOSED, rq.Status.OPEN)),
        _masked(_text_time(life.closed[rows.event]), rows.is_closed).alias(rq.CLOSED_DATETIME),
        _text_time(rows.updated).alias(rq.UPDATED_DATETIME),
    )
    truth = truth_events.select(pl.all().gather(at)).with_columns(
        pl.Series(rq.SOURCE_POSITION, np.arange(count, dtype=np.int64)),
        pl.Series(IS_RESEND, rows.is_resend),
    )
    # Open311 fields the generator has nothing to say about (e.g. `status_notes`) stay null.
    unknown = [pl.lit(None, pl.String).alias(f) for f in rq.OPEN311_FIELDS if f not in records]
    return records.with_columns(unknown).select(rq.OPEN311_FIELDS), truth


def write_requests(
    records: pl.DataFrame, path: Path, fmt: str, truth: pl.DataFrame | None = None
) -> None:
    """Write records as csv | jsonl | parquet | open311-json, and `truth` next to them if given."""
    path = Path(path)
    if fmt not in FORMATS:
        raise SyntheticDataError(f"unknown format {fmt!r} for {path}; use one of {FORMATS}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        records.write_csv(path)
    elif fmt == "jsonl":
        records.write_ndjson(path)
    elif fmt == "parquet":
        records.write_parquet(path)
    else:  # the body of a GeoReport v2 `GET requests.json`: one array of request objects
        records.write_json(path)
    if truth is not None:
        truth.write_parquet(truth_path(path))


# ------------------------------------------------------------------------------------ stages
def _taxonomy(pack: CityPack) -> pl.DataFrame:
    known = pack.taxonomy.filter(pl.col(TAXONOMY_CATEGORY).is_in(list(TEMPLATES)))
    if known.height == 0:
        raise SyntheticDataError(
            f"city pack {pack.name!r} has no category the generator has texts for; its taxonomy "
            f"must include some of: {', '.join(TEMPLATES)}"
        )
    return known


def _events(
    rng: np.random.Generator,
    pack: CityPack,
    taxonomy: pl.DataFrame,
    n_base: int,
    n_multi: int,
    start: datetime,
    days: int,
    end_us: int,
) -> _Events:
    weights = np.array([CATEGORY_WEIGHTS.get(c, 0.05) for c in taxonomy[TAXONOMY_CATEGORY]])
    category = rng.choice(len(weights), size=n_base, p=weights / weights.sum())
    house, lon, lat, district = ev.places(rng, pack, n_base, POINT_SHARE)
    requested = ev.request_times(rng, n_base, start, days, pack.timezone)
    # Neighbours report the same problem: a few dozen metres away, within hours of the first.
    origin = rng.choice(n_base, size=n_multi, replace=False)
    near_lon, near_lat = ev.displace(rng, lon[origin], lat[origin], 5.0, 40.0)
    near_district = ev.locate(pack, near_lon, near_lat)
    near_district = np.where(near_district >= 0, near_district, district[origin])
    later = ev.shift(requested[origin], rng.uniform(0.2, 6.0, n_multi))
    return _Events(
        category=np.concatenate([category, category[origin]]),
        house=np.concatenate([house, house[origin]]),
        lon=np.concatenate([lon, near_lon]),
        lat=np.concatenate([lat, near_lat]),
        district=np.concatenate([district, near_district]),
        requested=np.concatenate([requested, np.minimum(later, end_us - 1_000_000)]),
        origin=origin,
    )


def _event_frames(
    rng: np.random.Generator,
    pack: CityPack,
    taxonomy: pl.DataFrame,
    events: _Events,
    sla: np.ndarray,
    defect: np.ndarray,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per event: the Open311 fields every version shares, and the truth about it."""
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
    names = taxonomy.get_column(TAXONOMY_CATEGORY).gather(category)
    departments = taxonomy.get_column(TAXONOMY_DEPARTMENT).gather(category)
    labels = pl.select(
        pl.when(pl.lit(pl.Series(language == 1)))
        .then(pl.lit(taxonomy.get_column(TAXONOMY_LABEL_EN).gather(category)))
        .otherwise(pl.lit(taxonomy.get_column(TAXONOMY_LABEL_RU).gather(category)))
    ).to_series()
    ids = _ids(events.requested)
    bad_time = pl.Series(BAD_TIMESTAMPS).gather(rng.integers(0, len(BAD_TIMESTAMPS), n))
    requested = _masked(_text_time(events.requested), defect != 2).fill_null(bad_time)
    expected = _text_time(events.requested + (sla * ev.US_PER_DAY).astype(np.int64))
    records = pl.DataFrame(
        {
            rq.SERVICE_REQUEST_ID: _masked(ids, defect != 1),
            rq.SERVICE_CODE: _masked(names, coded),
            rq.SERVICE_NAME: _masked(labels.fill_null(names), coded),
            rq.DESCRIPTION: texts.get_column(rq.DESCRIPTION),
            rq.AGENCY_RESPONSIBLE: _masked(departments, coded),
            rq.REQUESTED_DATETIME: requested,
            rq.EXPECTED_DATETIME: expected,
            rq.ADDRESS: address,
            rq.LAT: pl.Series(lat).fill_nan(None),
            rq.LONG: pl.Series(lon).fill_nan(None),
        }
    )
    district_ids = pl.Series([*pack.district_ids, None], dtype=pl.String)
    n_base = n - len(events.origin)
    truth = pl.DataFrame(
        {
            rq.SERVICE_REQUEST_ID: ids,
            rq.CATEGORY: names,
            rq.DEPARTMENT: departments,
            rq.LANGUAGE: pl.Series(tx.LANGUAGES).gather(language),
            rq.LAT: events.lat,
            rq.LONG: events.lon,
            rq.DISTRICT_ID: district_ids.gather(
                np.where(events.district >= 0, events.district, -1)
            ),
            rq.DUPLICATE_OF: pl.concat(
                [pl.repeat(None, n_base, dtype=pl.String, eager=True), ids.gather(events.origin)]
            ),
            rq.GEOCODE_ISSUE: pl.Series(GEOCODE_ISSUES, dtype=pl.String).gather(issue),
            REASON: pl.Series(DEAD_LETTER_REASONS, dtype=pl.String).gather(defect),
            PII_SPANS: texts.get_column(PII_SPANS),
        }
    )
    return records, truth


# ----------------------------------------------------------------------------------- helpers
def _ids(requested: np.ndarray) -> pl.Series:
    """Sequential ids in order of filing, as a city's system hands them out."""
    rank = np.empty(len(requested), dtype=np.int64)
    rank[np.argsort(requested, kind="stable")] = np.arange(1, len(requested) + 1)
    return ID_PREFIX + pl.Series(rank).cast(pl.String).str.zfill(9)


def _text_time(us: np.ndarray) -> pl.Series:
    return pl.Series(us).cast(pl.Datetime("us", "UTC")).dt.strftime(TIMESTAMP_TEXT)


def _masked(values: pl.Series, keep: np.ndarray) -> pl.Series:
    """`values` where `keep`, null elsewhere."""
    kept = pl.select(pl.when(pl.lit(pl.Series(keep))).then(pl.lit(values)))
    return kept.to_series().alias(values.name)
