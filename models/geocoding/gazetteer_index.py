"""A city's gazetteer arranged for forward geocoding: street keys, house points, numbers, midpoints.

Built once per pack (a worker's `setup`, a CLI run) from the gazetteer parquet: every street gets
an integer id and two keys (its Russian and its English spelling, normalised by
`models.geocoding.address_parser`), every house a normalised key, every house number a point (the mean
of its buildings, so "15к1" and "15к2" give number 15 one point) and every street a midpoint:
the house nearest to the mean of its houses, so a curved street's midpoint is still on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from models.geocoding import address_parser as ap
from schemas import citypack as cp

STREET_ID = "street_id"
PARITY = "parity"


@dataclass(frozen=True)
class GazetteerIndex:
    street_keys: pl.DataFrame  # street_id, street (name key), street_type (type key); 2 per street
    houses: pl.DataFrame  # street_id, house (key), lat, long
    numbers: pl.DataFrame  # street_id, house_number, parity, lat, long; sorted by house_number
    midpoints: pl.DataFrame  # street_id, lat, long

    @property
    def street_names(self) -> pl.Series:
        return self.street_keys.get_column(ap.STREET_KEY).unique().sort()


def build_index(gazetteer: pl.DataFrame) -> GazetteerIndex:
    rows = gazetteer.with_columns(
        pl.struct(cp.STREET, cp.STREET_TYPE).rank("dense").cast(pl.Int64).alias(STREET_ID)
    )
    ru = ap.normalise_streets(rows[cp.STREET], rows[cp.STREET_TYPE])
    en = ap.normalise_streets(
        rows[cp.STREET_EN].fill_null(rows[cp.STREET]), rows[cp.STREET_TYPE_EN].fill_null(rows[cp.STREET_TYPE])
    )
    ids = rows.select(STREET_ID)
    street_keys = (
        pl.concat([ids.hstack(ru), ids.hstack(en)])
        .filter(pl.col(ap.STREET_KEY).is_not_null())
        .unique()
    )
    points = rows.select(
        STREET_ID,
        ap.normalise_houses(rows[cp.HOUSE]).alias(ap.HOUSE_KEY),
        pl.col(cp.GAZ_LAT),
        pl.col(cp.GAZ_LONG),
    ).filter(pl.col(ap.HOUSE_KEY).is_not_null())
    houses = points.group_by(STREET_ID, ap.HOUSE_KEY).agg(pl.col(cp.GAZ_LAT, cp.GAZ_LONG).mean())
    number = pl.col(ap.HOUSE_KEY).str.extract(r"^(\d+)").cast(pl.Int64)
    numbers = (
        points.with_columns(number.alias(ap.HOUSE_NUMBER))
        .group_by(STREET_ID, ap.HOUSE_NUMBER)
        .agg(pl.col(cp.GAZ_LAT, cp.GAZ_LONG).mean())
        .with_columns((pl.col(ap.HOUSE_NUMBER) % 2).alias(PARITY))
        .sort(ap.HOUSE_NUMBER)
    )
    return GazetteerIndex(street_keys, houses, numbers, _midpoints(rows))


def _midpoints(rows: pl.DataFrame) -> pl.DataFrame:
    lat, lon = pl.col(cp.GAZ_LAT), pl.col(cp.GAZ_LONG)
    off_centre = (lat - lat.mean().over(STREET_ID)) ** 2 + (lon - lon.mean().over(STREET_ID)) ** 2
    return (
        rows.with_columns(off_centre.alias("off_centre"))
        .sort("off_centre")
        .group_by(STREET_ID)
        .agg(lat.first(), lon.first())
    )
