"""Learning a city's gazetteer from its own geocoded history, and merging it into the city pack.

Every past request that carries both an address and coordinates is evidence of where that
address is. Addresses are parsed and keyed on normalised street + type + house, so "Садовая ул.,
д. 15к2" and "ул. Садовая, дом 15 корпус 2" pool their evidence. Per key the point is the
median of the reports; reports farther from it than a robust radius (3 scaled MADs of the
distances, at least `MIN_OUTLIER_RADIUS_M`) are dropped and the median taken again, so a
resident who reported from home does not drag a house across the district. Coordinates that are
unusable or outside the city never count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from models.cities.pack import CityPack
from models.geocoding import address_parser as ap
from models.geocoding.reverse import ReverseGeocoder
from plumbing.atomic import write_atomic
from schemas import citypack as cp

MIN_OUTLIER_RADIUS_M = 75.0
MAD_TO_SIGMA = 1.4826
OUTLIER_SIGMAS = 3.0
# A learned point replaces a gazetteer row only on this much agreeing evidence.
OVERRIDE_MIN_REPORTS = 5
OVERRIDE_MAX_SPREAD_M = 50.0
OBSERVATIONS = "observations"
SPREAD_M = "spread_m"
_M_PER_DEG_LAT = 111_200.0
_KEY = [ap.STREET_KEY, ap.TYPE_KEY, ap.HOUSE_KEY]


@dataclass(frozen=True)
class GazetteerUpdate:
    gazetteer: pl.DataFrame
    learned: int  # addresses with a learned point
    added: int  # of them, new to the gazetteer
    replaced: int  # existing rows moved to stronger learned evidence
    reports_used: int
    reports_rejected: int  # outliers and unusable coordinates


def learn_addresses(addresses: pl.Series, lat: pl.Series, lon: pl.Series, pack: CityPack) -> pl.DataFrame:
    """Key columns + the cleaned original spelling, lat, long, observations, spread_m, district_id."""
    parsed = ap.parse_addresses(addresses).with_columns(
        pl.Series(cp.GAZ_LAT, lat.cast(pl.Float64, strict=False)),
        pl.Series(cp.GAZ_LONG, lon.cast(pl.Float64, strict=False)),
    )
    usable = parsed.filter(
        pl.col(ap.STREET_KEY).is_not_null() & pl.col(ap.HOUSE_KEY).is_not_null()
        & pl.col(cp.GAZ_LAT).is_finite() & pl.col(cp.GAZ_LONG).is_finite()
        & (pl.col(cp.GAZ_LAT).abs() <= 90) & (pl.col(cp.GAZ_LONG).abs() <= 180)
    )
    district = ReverseGeocoder(pack).locate(usable[cp.GAZ_LAT].to_numpy(), usable[cp.GAZ_LONG].to_numpy())
    ids = pl.Series([*pack.district_ids, None], dtype=pl.String)
    usable = usable.with_columns(ids.gather(np.where(district >= 0, district, len(ids) - 1)).alias(cp.DISTRICT_ID))
    inside = usable.filter(pl.col(cp.DISTRICT_ID).is_not_null())
    return robust_points(inside)


def _distance_m(lat: pl.Expr, lon: pl.Expr, lat0: pl.Expr, lon0: pl.Expr) -> pl.Expr:
    dy = (lat - lat0) * _M_PER_DEG_LAT
    dx = (lon - lon0) * _M_PER_DEG_LAT * (lat0 * np.pi / 180).cos()
    return (dx**2 + dy**2).sqrt()


def robust_points(reports: pl.DataFrame) -> pl.DataFrame:
    """Per address key: median point of the reports left after dropping outliers."""
    lat, lon = pl.col(cp.GAZ_LAT), pl.col(cp.GAZ_LONG)
    first = reports.with_columns(
        _distance_m(lat, lon, lat.median().over(_KEY), lon.median().over(_KEY)).alias("distance")
    )
    radius = (pl.col("distance").median().over(_KEY) * MAD_TO_SIGMA * OUTLIER_SIGMAS).clip(
        lower_bound=MIN_OUTLIER_RADIUS_M
    )
    kept = first.filter(pl.col("distance") <= radius)
    points = kept.group_by(_KEY).agg(
        lat.median(), lon.median(), pl.len().alias(OBSERVATIONS),
        pl.col(cp.DISTRICT_ID).mode().first(),
    )
    spread = kept.join(points.select(*_KEY, lat.alias("lat0"), lon.alias("lon0")), on=_KEY, nulls_equal=True)
    spread = spread.group_by(_KEY).agg(
        _distance_m(lat, lon, pl.col("lat0"), pl.col("lon0")).median().alias(SPREAD_M)
    )
    return points.join(spread, on=_KEY, nulls_equal=True)


def _existing_keys(gazetteer: pl.DataFrame) -> pl.DataFrame:
    """Row number and (street, type, house) keys of every gazetteer row, both spellings."""
    rows = gazetteer.with_row_index("row")
    house = ap.normalise_houses(rows[cp.HOUSE])
    spellings = [(cp.STREET, cp.STREET_TYPE), (cp.STREET_EN, cp.STREET_TYPE_EN)]
    keys = [
        ap.normalise_streets(rows[name].fill_null(""), rows[kind]).with_columns(
            house.alias(ap.HOUSE_KEY), rows["row"]
        )
        for name, kind in spellings
    ]
    return pl.concat(keys).filter(pl.col(ap.STREET_KEY).is_not_null()).unique()


def merge_gazetteer(existing: pl.DataFrame | None, learned: pl.DataFrame) -> GazetteerUpdate:
    """Existing rows stay unless learned evidence is strong; new addresses are appended."""
    empty = pl.from_arrow(cp.GAZETTEER.empty_table())
    existing = empty if existing is None else existing.select(cp.GAZETTEER.names)
    matched = learned.join(_existing_keys(existing), on=_KEY, how="left", nulls_equal=True)
    strong = (pl.col(OBSERVATIONS) >= OVERRIDE_MIN_REPORTS) & (pl.col(SPREAD_M) <= OVERRIDE_MAX_SPREAD_M)
    moves = matched.filter(pl.col("row").is_not_null() & strong).unique("row")
    updated = existing.with_row_index("row").join(
        moves.select("row", pl.col(cp.GAZ_LAT).alias("new_lat"), pl.col(cp.GAZ_LONG).alias("new_long"),
                     pl.col(cp.DISTRICT_ID).alias("new_district")),
        on="row", how="left",
    ).select(
        pl.exclude("row", "new_lat", "new_long", "new_district", cp.GAZ_LAT, cp.GAZ_LONG, cp.DISTRICT_ID),
        pl.coalesce("new_lat", cp.GAZ_LAT).alias(cp.GAZ_LAT),
        pl.coalesce("new_long", cp.GAZ_LONG).alias(cp.GAZ_LONG),
        pl.coalesce("new_district", cp.DISTRICT_ID).alias(cp.DISTRICT_ID),
    )
    new = matched.filter(pl.col("row").is_null()).unique(_KEY)
    merged = pl.concat([updated.select(cp.GAZETTEER.names), _as_gazetteer_rows(new)])
    used = int(learned[OBSERVATIONS].sum() or 0)
    return GazetteerUpdate(merged, learned.height, new.height, moves.height, used, 0)


def _as_gazetteer_rows(learned: pl.DataFrame) -> pl.DataFrame:
    """Learned keys written the gazetteer's way: title-case name, the type's usual abbreviation."""
    name = pl.col(ap.STREET_KEY).str.to_titlecase()
    latin = pl.col(ap.STREET_KEY).str.contains(r"^[^а-я]*$")
    kind_ru = pl.col(ap.TYPE_KEY).replace_strict(ap.TYPE_ABBREVIATION_RU, default=None, return_dtype=pl.String)
    kind_en = pl.col(ap.TYPE_KEY).replace_strict(ap.TYPE_ABBREVIATION_EN, default=None, return_dtype=pl.String)
    frame = learned.select(
        name.alias(cp.STREET),
        pl.when(latin).then(kind_en).otherwise(kind_ru).alias(cp.STREET_TYPE),
        pl.when(latin).then(name).alias(cp.STREET_EN),
        pl.when(latin).then(kind_en).alias(cp.STREET_TYPE_EN),
        pl.col(ap.HOUSE_KEY).alias(cp.HOUSE),
        pl.col(cp.GAZ_LAT), pl.col(cp.GAZ_LONG), pl.col(cp.DISTRICT_ID),
    )
    return pl.from_arrow(frame.to_arrow().cast(cp.GAZETTEER))


def learn_into_pack(
    pack: CityPack, addresses: pl.Series, lat: pl.Series, lon: pl.Series
) -> GazetteerUpdate:
    """Learn from history, merge into the pack's gazetteer and publish it atomically."""
    learned = learn_addresses(addresses, lat, lon, pack)
    update = merge_gazetteer(pack.gazetteer, learned)
    table = update.gazetteer.to_arrow().cast(cp.GAZETTEER)
    # atomic replace: a pipeline worker loading the pack sees the old gazetteer or the new one.
    # Nothing else caches it (the reverse geocoder's grid depends on the boundaries only).
    write_atomic(table, Path(pack.root) / cp.PACK_GAZETTEER_FILE, Path(pack.root))
    used = update.reports_used
    return GazetteerUpdate(update.gazetteer, update.learned, update.added, update.replaced, used,
                           int(addresses.len() - used))

