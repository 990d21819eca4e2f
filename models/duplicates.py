"""Duplicates: one row per request id, and repeated reports of one problem linked.

Two kinds of duplicates reach a city. The same request re-sent with a newer status: the latest
version wins (by its newest timestamp, then by ingestion, then by position in the source). Several
residents reporting one pothole: a later report of the same problem gets `duplicate_of` = the
first report of that problem and every report gets `report_cluster_id` (the first report's id, its
own for a first report); each stays a row of its own, because each is a resident's request that
needs an answer. A later report is a repeat of an earlier one, at most `REPORT_WINDOW` before it,
when

- both name the same category and lie within `REPORT_RADIUS_M`, or within `HOUSE_RADIUS_M` when
  both addresses name the same house: a phone's fix in a courtyard is often 100 m off the house
  its owner names, while two neighbours naming one house and one problem mean one problem;
- or the classifier put them in two categories of one department (a leak and no water, a pothole
  and ice on it) and their texts say the same thing (rapidfuzz `token_sort_ratio` at least
  `TEXT_SIMILARITY`), at the same distances.

When both give an address and the addresses name different house numbers (the digit groups of the
address text, so "д. 103 стр. 3" and "103 bld 3" agree in any language or transliteration), they
are two problems however close they are: neighbours in the next house report their own leak or
lift. On 120,000 generated requests of the demo city (2,000 a day) link precision / recall were
0.861 / 0.696 with same-category links within 60 m inside each date; across midnight they became
0.876 / 0.803, and with the same-house radius 0.880 / 0.918 (the generator's texts come from
templates, so the related-category rule adds nothing there; it is for residents' own words).

Candidate pairs come from a join on (department, grid cell of twice `HOUSE_RADIUS_M`, time bucket of
`REPORT_WINDOW`), probing the 2x2 cells nearest each report and the previous bucket, so the work is linear in the rows,
not quadratic; texts are compared only for the few pairs that need it.

A report links to the first earlier candidate, and through it to the first report of the problem
(a repeat of a repeat -> the original). `earlier` rows (the published tail of the day before)
take part only as earlier reports: their own links are already final, so a report just after
midnight joins a problem that began before it. The request sink
(`pipelines.sinks.requests.dataset`) passes them and relinks the day after a day it changed.
"""

from __future__ import annotations

import math
from datetime import timedelta

import polars as pl
from rapidfuzz import fuzz, process, utils

from schemas import requests as rq
from schemas.requests import ENRICHED_REQUEST

REPORT_WINDOW = timedelta(hours=8)
REPORT_RADIUS_M = 60.0
HOUSE_RADIUS_M = 150.0
TEXT_SIMILARITY = 70.0  # rapidfuzz token_sort_ratio (0-100) for a link across two related categories
METRES_PER_DEGREE_LAT = 110_574.0
_CELL_M = 2 * HOUSE_RADIUS_M
_HOUSE_SEED = 20_261_204
MAX_CHAIN = 64  # links followed to the first report (pointer jumping: log2 steps)
_VERSION_TIME = "_version_time"
_ROW, _X, _Y, _CELL_X, _CELL_Y, _BUCKET, _KIN = "_row", "_x", "_y", "_cell_x", "_cell_y", "_bucket", "_kin"
_HOUSE = "_house"  # the digit groups of the address in any order: one key per house in any spelling
_EARLIER = "_earlier"
_CHILD, _PARENT = "_child", "_parent"


def latest_versions(frame: pl.DataFrame) -> pl.DataFrame:
    version_time = pl.coalesce(rq.UPDATED_DATETIME, rq.CLOSED_DATETIME, rq.REQUESTED_DATETIME)
    return (
        frame.with_columns(version_time.alias(_VERSION_TIME))
        .sort([rq.SERVICE_REQUEST_ID, _VERSION_TIME, rq.INGESTED_AT, rq.SOURCE_FILE, rq.SOURCE_POSITION])
        .unique(rq.SERVICE_REQUEST_ID, keep="last", maintain_order=True)
        .drop(_VERSION_TIME)
    )


def _house_key(address: pl.Expr) -> pl.Expr:
    """The digit groups of an address as one number, the same in any order ("д. 103 стр. 3" and
    "3, 103"): the sum of their hashes, null without any digit. Sorting and joining the groups
    as text gives the same partition of addresses at three times the cost."""
    return pl.when(address.str.contains(r"\d")).then(
        address.str.extract_all(r"\d+").list.eval(pl.element().hash(seed=_HOUSE_SEED)).list.sum())


def _located_reports(frame: pl.DataFrame, scale_x: float) -> pl.DataFrame:
    """Reports placed in the city and classified, in metres on a local plane, with their cell."""
    window_us = int(REPORT_WINDOW / timedelta(microseconds=1))
    return frame.filter(pl.col(rq.CATEGORY).is_not_null() & pl.col(rq.H3_CELL).is_not_null()).select(
        _ROW, rq.SERVICE_REQUEST_ID, rq.CATEGORY, rq.REQUESTED_DATETIME, rq.DESCRIPTION,
        pl.coalesce(rq.DEPARTMENT, rq.CATEGORY).alias(_KIN),
        (pl.col(rq.LONG) * scale_x).alias(_X), (pl.col(rq.LAT) * METRES_PER_DEGREE_LAT).alias(_Y),
        _house_key(pl.col(rq.ADDRESS)).alias(_HOUSE),
        (pl.col(rq.REQUESTED_DATETIME).dt.epoch("us") // window_us).alias(_BUCKET),
    ).with_columns(
        (pl.col(_X) / _CELL_M).floor().cast(pl.Int64).alias(_CELL_X),
        (pl.col(_Y) / _CELL_M).floor().cast(pl.Int64).alias(_CELL_Y),
    )


def _first_earlier(reports: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """(_ROW of a report, id of the first earlier report of its problem it is a repeat of)."""
    # a disk of half the cell's size around a point meets only the 2x2 cells nearest the point:
    # its own, and the next one on the side of each axis the point lies nearer to
    side_x = pl.when(pl.col(_X) / _CELL_M - pl.col(_CELL_X) < 0.5).then(-1).otherwise(1)
    side_y = pl.when(pl.col(_Y) / _CELL_M - pl.col(_CELL_Y) < 0.5).then(-1).otherwise(1)
    offsets = pl.DataFrame({"_ox": [0, 0, 1, 1] * 2, "_oy": [0, 1, 0, 1] * 2, "_db": [0] * 4 + [-1] * 4})
    probes = reports.join(offsets, how="cross").with_columns(
        (pl.col(_CELL_X) + pl.col("_ox") * side_x).alias(_CELL_X),
        (pl.col(_CELL_Y) + pl.col("_oy") * side_y).alias(_CELL_Y),
        (pl.col(_BUCKET) + pl.col("_db")).alias(_BUCKET),
    )

    def earlier(name: str) -> pl.Expr:
        return pl.col(f"{name}{_EARLIER}")

    distance = ((pl.col(_X) - earlier(_X)) ** 2 + (pl.col(_Y) - earlier(_Y)) ** 2).sqrt()
    lag = pl.col(rq.REQUESTED_DATETIME) - earlier(rq.REQUESTED_DATETIME)
    same_house = (pl.col(_HOUSE) == earlier(_HOUSE)).fill_null(False)
    other_house = (pl.col(_HOUSE) != earlier(_HOUSE)).fill_null(False)  # both given, not equal
    pairs = probes.join(candidates, on=[_KIN, _CELL_X, _CELL_Y, _BUCKET], suffix=_EARLIER).filter(
        ~other_house
        & ((distance <= REPORT_RADIUS_M) | (same_house & (distance <= HOUSE_RADIUS_M)))
        & (lag <= REPORT_WINDOW)
        & ((lag > timedelta(0)) | ((lag == timedelta(0)) & (earlier(rq.SERVICE_REQUEST_ID) < pl.col(rq.SERVICE_REQUEST_ID))))
    )
    related = pairs.filter(pl.col(rq.CATEGORY) != earlier(rq.CATEGORY))
    alike = process.cpdist(related[rq.DESCRIPTION].to_list(), related[f"{rq.DESCRIPTION}{_EARLIER}"].to_list(),
                           scorer=fuzz.token_sort_ratio, processor=utils.default_process, dtype="float32")
    alike_rows = related.filter(pl.Series(alike >= TEXT_SIMILARITY) if related.height else pl.lit(False))
    return (
        pl.concat([pairs.filter(pl.col(rq.CATEGORY) == earlier(rq.CATEGORY)), alike_rows])
        .sort([earlier(rq.REQUESTED_DATETIME), earlier(rq.SERVICE_REQUEST_ID)])
        .group_by(_ROW, maintain_order=True)
        .agg(earlier(rq.SERVICE_REQUEST_ID).first().alias(_PARENT))
    )


def _roots(parents: pl.DataFrame) -> pl.DataFrame:
    """(_CHILD, _PARENT) links, each parent replaced by the first report its chain leads to."""
    for _ in range(math.ceil(math.log2(MAX_CHAIN))):
        stepped = parents.join(parents.rename({_CHILD: _PARENT, _PARENT: "_grand"}), on=_PARENT, how="left")
        if stepped["_grand"].null_count() == stepped.height:
            break
        parents = stepped.select(_CHILD, pl.coalesce("_grand", _PARENT).alias(_PARENT))
    return parents


def link_repeated_reports(frame: pl.DataFrame, earlier: pl.DataFrame | None = None) -> pl.DataFrame:
    """`duplicate_of` and `report_cluster_id` for every row of `frame` (one row per id). `earlier`:
    published rows before the frame's first (their `duplicate_of` final), that its rows may repeat."""
    base = frame.drop(rq.DUPLICATE_OF, rq.REPORT_CLUSTER_ID, strict=False).with_row_index(_ROW)
    if earlier is not None:
        earlier = earlier.filter(~pl.col(rq.SERVICE_REQUEST_ID).is_in(frame[rq.SERVICE_REQUEST_ID].implode()))
    placed = base.filter(pl.col(rq.H3_CELL).is_not_null())  # a raw latitude of -95 must not set the scale
    links = pl.DataFrame(schema={_CHILD: pl.String, _PARENT: pl.String})
    if placed.height:
        scale_x = METRES_PER_DEGREE_LAT * math.cos(math.radians(placed[rq.LAT].mean()))
        reports = _located_reports(base, scale_x)
        candidates = reports
        if earlier is not None and earlier.height:
            context = earlier.with_row_index(_ROW, offset=base.height)
            candidates = pl.concat([reports, _located_reports(context, scale_x)])
            links = earlier.filter(pl.col(rq.DUPLICATE_OF).is_not_null()).select(
                pl.col(rq.SERVICE_REQUEST_ID).alias(_CHILD), pl.col(rq.DUPLICATE_OF).alias(_PARENT))
        found = _first_earlier(reports, candidates).join(reports.select(_ROW, rq.SERVICE_REQUEST_ID), on=_ROW)
        links = pl.concat([links, found.select(pl.col(rq.SERVICE_REQUEST_ID).alias(_CHILD), _PARENT)])
    roots = _roots(links).rename({_CHILD: rq.SERVICE_REQUEST_ID, _PARENT: rq.DUPLICATE_OF})
    return (
        base.join(roots, on=rq.SERVICE_REQUEST_ID, how="left", maintain_order="left")
        .with_columns(pl.coalesce(rq.DUPLICATE_OF, rq.SERVICE_REQUEST_ID).alias(rq.REPORT_CLUSTER_ID))
        .drop(_ROW)
    )


def relink(frame: pl.DataFrame, earlier: pl.DataFrame | None = None) -> pl.DataFrame:
    """Rows already one per id, repeated reports linked (to `earlier` rows too), published column order."""
    return link_repeated_reports(frame, earlier).select(ENRICHED_REQUEST.names)


def deduplicate(frame: pl.DataFrame, earlier: pl.DataFrame | None = None) -> pl.DataFrame:
    """Latest version per id, then `relink`."""
    return relink(latest_versions(frame), earlier)
