"""Synthetic citizen requests for a city pack, with the answer key to grade the pipeline against.

`generate_requests` returns the records a 311 feed would deliver (Open311 vocabulary, every
timestamp as source text, so defective values survive) and a truth table saying, per row, what
the pipeline should find: category, language, true place and district, duplicate reports,
re-sent versions, personal-data spans, and which rows are defective on purpose (null island,
unparseable dates, missing ids). Everything is drawn column-wise with numpy/polars from one
seeded generator: the same seed gives the same frames, and a million rows take seconds.
What each event's fields look like, and how often they are defective, is drawn in
`synthetic.requests.event_frames`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from models.cities.pack import CityPack
from schemas import requests as rq
from schemas.taxonomy import TAXONOMY_CATEGORY, TAXONOMY_SLA_DAYS
from synthetic.requests import events as ev
from synthetic.requests import lifecycle as lc
from synthetic.requests.event_frames import POINT_SHARE, Events, event_frames, masked, text_time
from synthetic.requests.templates import CATEGORY_WEIGHTS, TEMPLATES

# Truth-table column with no home in schemas/ yet (the others reuse schema names).
IS_RESEND = "is_resend"

DEFAULT_END = datetime(2026, 11, 1, tzinfo=UTC)
FORMATS = ("csv", "jsonl", "parquet", "open311-json")

RESEND_SHARE = 0.03
MULTI_REPORT_SHARE = 0.02
BAD_ROW_SHARE = 0.002
CLOSED_BEFORE_REQUESTED_SHARE = 0.003


class SyntheticDataError(ValueError):
    """The generator cannot work with the given pack or arguments; the message says why."""


def truth_path(path: Path) -> Path:
    """Where `write_requests` puts the answer key next to a records file."""
    return path.with_name(f"{path.stem}.truth.parquet")


def generate_requests(
    pack: CityPack, count: int, seed: int, start: datetime | None = None, days: int = 60,
    first_id: int = 1,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(records, truth) for `count` rows over `days` days from `start` (naive means UTC).

    Without `start` the window ends at DEFAULT_END. Row i of truth describes row i of records.
    Request ids are numbered in order of filing from `first_id` and stay below `first_id + count`
    (re-sent versions repeat an id), so a later feed of the same city that starts at
    `first_id + count` never reuses one.
    """
    if count < 1 or days < 1 or first_id < 1:
        raise SyntheticDataError(f"count, days and first_id must be positive, got {count=}, {days=}, {first_id=}")
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

    record_events, truth_events = event_frames(rng, pack, taxonomy, events, sla, defect, first_id)
    at = pl.Series(rows.event)
    records = record_events.select(pl.all().gather(at)).with_columns(
        pl.Series(rq.STATUS, np.where(rows.is_closed, rq.Status.CLOSED, rq.Status.OPEN)),
        masked(text_time(life.closed[rows.event]), rows.is_closed).alias(rq.CLOSED_DATETIME),
        text_time(rows.updated).alias(rq.UPDATED_DATETIME),
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
) -> Events:
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
    return Events(
        category=np.concatenate([category, category[origin]]),
        house=np.concatenate([house, house[origin]]),
        lon=np.concatenate([lon, near_lon]),
        lat=np.concatenate([lat, near_lat]),
        district=np.concatenate([district, near_district]),
        requested=np.concatenate([requested, np.minimum(later, end_us - 1_000_000)]),
        origin=origin,
    )
