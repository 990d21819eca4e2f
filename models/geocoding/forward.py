"""Forward geocoding: the address a resident wrote -> a point, with how precisely and how surely.

For each distinct address (a batch repeats addresses a lot) the locality and the street are found
(`models.geocoding.street_matching`). Then the point, the most precise first:
- `house`: a known house; a корпус / строение / литера variant of a known house ("15к3", "15 стр. 2",
  "15Б") and a bare number whose buildings are known fall back to that house, with a lower score;
- `interpolated`: a number never seen, between the known numbers of its side of the street
  (`models.geocoding.address_interpolation`: never across a gap wider than `max_gap_m`);
- `intersection`: two streets named as a crossing ("Lenina / Mira", "угол ул. Ленина и ул. Мира",
  "Broadway & W 42nd St"): the middle of the nearest pair of their houses;
- `street`: the street's midpoint, or the middle of the stretch a gap left, with its extent;
- `locality` / `district`: only the town or the district is known: its centre, with its extent.
Nothing found gives null coordinates and a reason in `geocode_issue`, never a made-up point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from models.geocoding import address_parser as ap
from models.geocoding import street_matching as sm
from models.geocoding.address_interpolation import (
    DEFAULT_MAX_GAP_M,
    GAP,
    OTHER_SIDE,
    PLACED_AS,
    interpolate_numbers,
)
from models.geocoding.address_places import place_key
from models.geocoding.gazetteer_index import (
    EXTENT_M,
    FOLD,
    LOCALITY,
    STREET_ID,
    GazetteerIndex,
    build_index,
    distance_m,
)
from models.geocoding.transliteration import latin_key
from schemas import citypack as cp
from schemas.requests import (
    GEOCODE_EXTENT_M,
    GEOCODE_ISSUE,
    GEOCODE_PRECISION,
    GEOCODE_SCORE,
    LAT,
    LONG,
    AddressIssue,
    GeocodePrecision,
)

FUZZY_CUTOFF = sm.FUZZY_CUTOFF
BUILDING_FALLBACK = 0.9  # a known house stands for its korpus / stroenie / litera variant
OTHER_SIDE_WEIGHT = 0.9  # interpolated from the numbers across the street
CROSSING_CELL_DEG = 0.003  # houses of two streets this close (about 200-330 m) may be at a crossing
# Confidence of the point, by precision, times the confidence of the street match; the order is
# the order of preference.
PRECISION_WEIGHT = {
    GeocodePrecision.HOUSE: 1.0,
    GeocodePrecision.INTERPOLATED: 0.8,
    GeocodePrecision.INTERSECTION: 0.8,
    GeocodePrecision.STREET: 0.5,
    GeocodePrecision.LOCALITY: 0.3,
    GeocodePrecision.DISTRICT: 0.2,
}
_QID, _SCORE, _RANK, AREA_KEY = sm.QID, sm.SCORE, "rank", "area_key"
OUTPUT_SCHEMA = {
    LAT: pl.Float64, LONG: pl.Float64, GEOCODE_PRECISION: pl.String, GEOCODE_SCORE: pl.Float64,
    GEOCODE_ISSUE: pl.String, GEOCODE_EXTENT_M: pl.Float64,
}
_OPTION = [_QID, _SCORE, cp.GAZ_LAT, cp.GAZ_LONG, EXTENT_M, GEOCODE_PRECISION]


class ForwardGeocoder:
    """`predict_batch(addresses)` -> lat, long, geocode_precision, geocode_score, geocode_issue,
    geocode_extent_m. `areas` (area_key, lat, long, extent_m: districts and parent areas, from
    `district_areas`) lets an address that names only a district be placed there."""

    def __init__(
        self, gazetteer: pl.DataFrame, fuzzy_cutoff: float = FUZZY_CUTOFF, max_gap_m: float = DEFAULT_MAX_GAP_M,
        areas: pl.DataFrame | None = None,
    ) -> None:
        self.index: GazetteerIndex = build_index(gazetteer)
        self.fuzzy_cutoff = fuzzy_cutoff
        self.max_gap_m = max_gap_m
        self.areas = areas

    @classmethod
    def from_pack(cls, pack, max_gap_m: float = DEFAULT_MAX_GAP_M) -> ForwardGeocoder | None:
        """The pack's geocoder (with its districts as areas), or None when it has no gazetteer."""
        if pack.gazetteer is None:
            return None
        return cls(pack.gazetteer, max_gap_m=max_gap_m, areas=district_areas(pack))

    @classmethod
    def load(cls, pack_root: Path | str) -> ForwardGeocoder | None:
        from models.cities.pack import CityPack

        return cls.from_pack(CityPack.load(pack_root))

    def predict_batch(self, addresses: pl.Series) -> pl.DataFrame:
        texts = addresses.cast(pl.String).str.strip_chars()
        texts = pl.select(pl.when(texts.str.len_chars() > 0).then(texts)).to_series()
        distinct = texts.drop_nulls().unique()
        found = self.geocode_parsed(ap.parse_addresses(distinct)).with_columns(distinct.alias("text"))
        out = pl.DataFrame({"text": texts}).join(found, on="text", how="left", maintain_order="left")
        no_address = pl.col("text").is_null()
        return out.select(
            pl.col(LAT), pl.col(LONG),
            pl.col(GEOCODE_PRECISION).fill_null(GeocodePrecision.NONE),
            pl.col(GEOCODE_SCORE),
            pl.when(no_address).then(pl.lit(AddressIssue.NO_ADDRESS)).otherwise(pl.col(GEOCODE_ISSUE))
            .alias(GEOCODE_ISSUE),
            pl.col(GEOCODE_EXTENT_M),
        )

    def geocode_parsed(self, parsed: pl.DataFrame) -> pl.DataFrame:
        """One output row per parsed address, in order."""
        queries = parsed.with_row_index(_QID).with_columns(pl.col(_QID).cast(pl.Int64))
        queries = queries.with_columns(sm.resolve_localities(queries, self.index))
        streets = sm.match_streets(queries, self.index, self.fuzzy_cutoff)
        options = [*self._street_options(queries, streets), self._crossings(queries, streets),
                   *self._area_options(queries, streets)]
        placed = _most_precise(pl.concat(options, how="vertical_relaxed"))
        out = queries.select(_QID, ap.STREET_KEY, ap.DISTRICT_KEY, ap.LOCALITY_KEY).join(
            placed, on=_QID, how="left").sort(_QID)
        named_place = pl.col(ap.DISTRICT_KEY).is_not_null() | pl.col(ap.LOCALITY_KEY).is_not_null()
        issue = (
            pl.when(pl.col(GEOCODE_PRECISION).is_not_null()).then(None)
            .when(pl.col(ap.STREET_KEY).is_null() & ~named_place).then(pl.lit(AddressIssue.NOT_UNDERSTOOD))
            .otherwise(pl.lit(AddressIssue.UNKNOWN_STREET))
        )
        return out.select(
            pl.col(LAT), pl.col(LONG),
            pl.col(GEOCODE_PRECISION).fill_null(GeocodePrecision.NONE),
            pl.col(GEOCODE_SCORE), issue.alias(GEOCODE_ISSUE), pl.col(GEOCODE_EXTENT_M),
        ).cast(OUTPUT_SCHEMA)

    # ------------------------------------------------------------------ street placements
    def _street_options(self, queries: pl.DataFrame, streets: pl.DataFrame) -> list[pl.DataFrame]:
        index = self.index
        asked = streets.join(queries.select(_QID, ap.HOUSE_KEY, ap.HOUSE_NUMBER), on=_QID)
        houses = asked.join(index.houses, on=[STREET_ID, ap.HOUSE_KEY])
        numbered = asked.filter(pl.col(ap.HOUSE_NUMBER).is_not_null()).join(houses.select(_QID), on=_QID, how="anti")
        buildings = numbered.join(index.numbers.drop("parity"), on=[STREET_ID, ap.HOUSE_NUMBER]).with_columns(
            pl.col(_SCORE) * BUILDING_FALLBACK
        )
        unseen = numbered.join(buildings.select(_QID, STREET_ID), on=[_QID, STREET_ID], how="anti")
        between = interpolate_numbers(unseen, index.numbers, self.max_gap_m)
        interpolated = between.filter(pl.col(PLACED_AS) != GAP).with_columns(
            pl.when(pl.col(PLACED_AS) == OTHER_SIDE).then(pl.col(_SCORE) * OTHER_SIDE_WEIGHT)
            .otherwise(pl.col(_SCORE)).alias(_SCORE)
        )
        gaps = between.filter(pl.col(PLACED_AS) == GAP)
        midpoints = asked.join(gaps.select(_QID, STREET_ID), on=[_QID, STREET_ID], how="anti").join(
            index.midpoints, on=STREET_ID
        )
        return [
            _option(houses, GeocodePrecision.HOUSE), _option(buildings, GeocodePrecision.HOUSE),
            _option(interpolated, GeocodePrecision.INTERPOLATED), _option(gaps, GeocodePrecision.STREET),
            _option(midpoints, GeocodePrecision.STREET),
        ]

    def _crossings(self, queries: pl.DataFrame, streets: pl.DataFrame) -> pl.DataFrame:
        """The middle of the nearest pair of houses of the two streets of a crossing."""
        asked = queries.filter(pl.col(ap.CROSS_STREET_KEY).is_not_null()).select(
            _QID, pl.col(ap.CROSS_STREET_KEY).alias(ap.STREET_KEY), pl.col(ap.CROSS_TYPE_KEY).alias(ap.TYPE_KEY),
            sm.ASKED_LOCALITY,
        )
        second = sm.match_streets(asked, self.index, self.fuzzy_cutoff)
        if second.is_empty():
            return _option(pl.DataFrame(schema={c: pl.Float64 for c in _OPTION[1:4]} | {_QID: pl.Int64}),
                           GeocodePrecision.INTERSECTION)
        cell = [(pl.col(cp.GAZ_LAT) / CROSSING_CELL_DEG).floor().cast(pl.Int64).alias("cy"),
                (pl.col(cp.GAZ_LONG) / CROSSING_CELL_DEG).floor().cast(pl.Int64).alias("cx")]
        points = self.index.numbers.select(STREET_ID, cp.GAZ_LAT, cp.GAZ_LONG).with_columns(cell)
        near = pl.DataFrame({"dy": np.repeat([-1, 0, 1], 3), "dx": np.tile([-1, 0, 1], 3)})
        where = [_QID, "cy", "cx"]

        def shifted(cells: pl.DataFrame) -> pl.DataFrame:  # every cell and its 8 neighbours
            return cells.join(near, how="cross").select(
                _QID, (pl.col("cy") + pl.col("dy")).alias("cy"), (pl.col("cx") + pl.col("dx")).alias("cx"))

        one = streets.join(second.select(_QID).unique(), on=_QID).join(points, on=STREET_ID)
        other = second.join(points, on=STREET_ID).select(
            _QID, pl.col(_SCORE).alias("score_b"), pl.col(cp.GAZ_LAT).alias("lat_b"),
            pl.col(cp.GAZ_LONG).alias("lon_b"), "cy", "cx",
        )
        # cells of the first street with a house of the second one cell away at most (few per crossing)
        shared = one.select(where).unique().join(shifted(other.select(where).unique()).unique(), on=where)
        one = one.join(shared, on=where, how="semi")
        other = other.join(shifted(shared).unique(), on=where, how="semi")
        pairs = one.join(other, on=_QID)
        pairs = pairs.filter(((pl.col("cy") - pl.col("cy_right")).abs() <= 1)
                             & ((pl.col("cx") - pl.col("cx_right")).abs() <= 1)).with_columns(
            distance_m(pl.col(cp.GAZ_LAT), pl.col(cp.GAZ_LONG), pl.col("lat_b"), pl.col("lon_b")).alias("apart")
        )
        nearest = pairs.sort("apart").group_by(_QID).first().select(
            _QID, pl.min_horizontal(_SCORE, "score_b").alias(_SCORE),
            ((pl.col(cp.GAZ_LAT) + pl.col("lat_b")) / 2).alias(cp.GAZ_LAT),
            ((pl.col(cp.GAZ_LONG) + pl.col("lon_b")) / 2).alias(cp.GAZ_LONG),
            (pl.col("apart") / 2).alias(EXTENT_M),
        )
        return _option(nearest, GeocodePrecision.INTERSECTION)

    # ------------------------------------------------------------------ areas
    def _area_options(self, queries: pl.DataFrame, streets: pl.DataFrame) -> list[pl.DataFrame]:
        """Locality and district centres for addresses whose street was not found."""
        without = queries.join(streets.select(_QID).unique(), on=_QID, how="anti")
        localities = without.filter(pl.col(sm.ASKED_LOCALITY).is_not_null()).join(
            self.index.localities.drop(FOLD), left_on=sm.ASKED_LOCALITY, right_on=LOCALITY
        ).with_columns(pl.lit(1.0).alias(_SCORE))
        options = [_option(localities, GeocodePrecision.LOCALITY)]
        if self.areas is not None:
            unmarked = pl.when(pl.col(sm.ASKED_LOCALITY).is_null()).then(pl.col(ap.PLACE_KEY))
            named = pl.coalesce(pl.col(ap.DISTRICT_KEY), unmarked)
            districts = without.with_columns(latin_key(named).alias(AREA_KEY)).join(
                self.areas, on=AREA_KEY
            ).with_columns(pl.lit(1.0).alias(_SCORE))
            options.append(_option(districts, GeocodePrecision.DISTRICT))
        return options


def district_areas(pack) -> pl.DataFrame:
    """area_key (folded name), lat, long, extent_m of every district and parent area of a pack."""
    import shapely

    names = list(pack.district_names) + [p for p in dict.fromkeys(pack.parent_names) if p]
    geoms = list(pack.geometries) + [
        shapely.union_all([g for g, p in zip(pack.geometries, pack.parent_names, strict=True) if p == parent])
        for parent in dict.fromkeys(pack.parent_names) if parent
    ]
    inner = shapely.point_on_surface(np.asarray(geoms, dtype=object))
    bounds = shapely.bounds(np.asarray(geoms, dtype=object))
    frame = pl.DataFrame({
        "name": names, cp.GAZ_LAT: shapely.get_y(inner), cp.GAZ_LONG: shapely.get_x(inner),
        "south": bounds[:, 1], "west": bounds[:, 0], "north": bounds[:, 3], "east": bounds[:, 2],
    })
    extent = distance_m(pl.col("south"), pl.col("west"), pl.col("north"), pl.col("east")) / 2
    return frame.select(
        latin_key(place_key(pl.col("name"))).alias(AREA_KEY), cp.GAZ_LAT, cp.GAZ_LONG, extent.alias(EXTENT_M)
    ).unique(AREA_KEY, keep="first")


def _option(frame: pl.DataFrame, precision: str) -> pl.DataFrame:
    if EXTENT_M not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(EXTENT_M))
    return frame.select(
        pl.col(_QID).cast(pl.Int64), pl.col(_SCORE).cast(pl.Float64), pl.col(cp.GAZ_LAT).cast(pl.Float64),
        pl.col(cp.GAZ_LONG).cast(pl.Float64), pl.col(EXTENT_M).cast(pl.Float64),
        pl.lit(precision, dtype=pl.String).alias(GEOCODE_PRECISION),
    )


def _most_precise(options: pl.DataFrame) -> pl.DataFrame:
    """query_id, lat, long, precision, score, extent: the most precise placement, then the surest."""
    weight = pl.col(GEOCODE_PRECISION).replace_strict(PRECISION_WEIGHT, return_dtype=pl.Float64)
    rank = pl.col(GEOCODE_PRECISION).replace_strict({p: i for i, p in enumerate(PRECISION_WEIGHT)},
                                                    return_dtype=pl.Int32)
    return (
        options.with_columns((pl.col(_SCORE) * weight).clip(0.0, 1.0).alias(GEOCODE_SCORE), rank.alias(_RANK))
        .sort(_QID, _RANK, GEOCODE_SCORE, cp.GAZ_LAT, descending=[False, False, True, False])
        .group_by(_QID, maintain_order=True)
        .first()
        .select(_QID, pl.col(cp.GAZ_LAT).alias(LAT), pl.col(cp.GAZ_LONG).alias(LONG), GEOCODE_PRECISION,
                GEOCODE_SCORE, pl.col(EXTENT_M).alias(GEOCODE_EXTENT_M))
    )
