"""Where voters and projects are: the city pack's districts for a file's own area names and points.

A ballot names its area as text (Pabulib's `neighborhood`: "Praga-Północ", "Ursynów"); it is
matched to a district, or else to a parent area, of the pack by name, compared without case,
accents of `ё`, hyphens and repeated spaces. A project is placed by its own area name, else by
its coordinates (the request path's reverse geocoder). Without a city pack nothing is placed and
the groups fall back to the file's own names (group kind `neighborhood`).
"""

from __future__ import annotations

import polars as pl

from models.cities.pack import CityPack
from models.geocoding.reverse import ReverseGeocoder
from schemas import citypack as cp
from schemas import participation as pb
from schemas.requests import DISTRICT_ID, DISTRICT_NAME, LAT, LONG, PARENT_ID, PARENT_NAME

_KEY = "_place_key"
PLACE_COLUMNS = (DISTRICT_ID, DISTRICT_NAME, PARENT_ID, PARENT_NAME)


def place_key(name: pl.Expr) -> pl.Expr:
    return (name.str.to_lowercase().str.replace_all("ё", "е", literal=True)
            .str.replace_all(r"[-‐–—_]", " ").str.replace_all(r"\s+", " ").str.strip_chars())


def _lookup(pack: CityPack) -> pl.DataFrame:
    """Name key -> district and parent; parent names match too (district columns null then)."""
    districts = pack.districts_frame().select(
        pl.col(cp.DISTRICT_ID).alias(DISTRICT_ID), pl.col(cp.DISTRICT_NAME).alias(DISTRICT_NAME),
        pl.col(cp.PARENT_ID).alias(PARENT_ID), pl.col(cp.PARENT_NAME).alias(PARENT_NAME),
    )
    by_district = districts.with_columns(place_key(pl.col(DISTRICT_NAME)).alias(_KEY))
    by_parent = districts.drop_nulls(PARENT_NAME).unique(PARENT_ID, keep="first", maintain_order=True).select(
        pl.lit(None, pl.String).alias(DISTRICT_ID), pl.lit(None, pl.String).alias(DISTRICT_NAME),
        PARENT_ID, PARENT_NAME, place_key(pl.col(PARENT_NAME)).alias(_KEY),
    )
    return pl.concat([by_district, by_parent]).unique(_KEY, keep="first", maintain_order=True)


def place_by_name(frame: pl.DataFrame, column: str, pack: CityPack | None) -> pl.DataFrame:
    """`frame` with the district and parent area its `column` names (null when none matches)."""
    if pack is None:
        return frame.with_columns(*[pl.lit(None, pl.String).alias(c) for c in PLACE_COLUMNS])
    keyed = frame.with_columns(place_key(pl.col(column)).alias(_KEY))
    return keyed.join(_lookup(pack), on=_KEY, how="left", maintain_order="left").drop(_KEY)


def place_projects(projects: pl.DataFrame, pack: CityPack | None) -> pl.DataFrame:
    """Projects with a district: from their own area name, else from their coordinates."""
    named = place_by_name(projects, pb.NEIGHBORHOOD, pack)
    if pack is None or named[LAT].is_null().all():
        return named
    located = ReverseGeocoder(pack).predict_batch(named[LAT], named[LONG]).select(PLACE_COLUMNS)
    return named.with_columns(
        *[pl.coalesce(pl.col(c), located[c]).alias(c) for c in PLACE_COLUMNS]
    )


def populations(pack: CityPack | None) -> dict[tuple[str, str], float]:
    """Residents per district and per parent area, where the pack has them."""
    if pack is None:
        return {}
    known: dict[tuple[str, str], float] = {}
    for district, parent, people in zip(pack.district_ids, pack.parent_ids, pack.populations, strict=True):
        if people is None:
            continue
        known[(pb.GroupKind.DISTRICT, district)] = float(people)
        if parent is not None:
            key = (pb.GroupKind.PARENT, parent)
            known[key] = known.get(key, 0.0) + float(people)
    return known
