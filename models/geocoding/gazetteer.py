"""Learning a city's gazetteer from its own geocoded history, and merging it into the city pack.

Every past request that carries both an address and coordinates is evidence of where that
address is. Addresses are parsed and keyed on locality + normalised street + type + house, so
"Садовая ул., д. 15к2" and "ул. Садовая, дом 15 корпус 2" pool their evidence while "г. Петергоф,
ул. Веденеева, 5" and the city's "ул. Веденеева, 5" do not. A locality counts when it is marked
("г.", "пос.") or is one the gazetteer (an address register) or the history already names with a
marker; an unmarked place word nobody knows is not a locality. Per key the point is the median of
the reports; reports farther from it than a robust radius (3 scaled MADs of the distances, at
least `MIN_OUTLIER_RADIUS_M`) are dropped and the median taken again, so a resident who reported
from home does not drag a house across the district; two or three reports that still disagree by
more than that radius give no point (the number is interpolated instead). Coordinates that are
unusable or outside the city never count. An unmarked address whose street only one town has is
that town's, and a house learned without its town next to the same house learned with it goes. Merging matches a learned address to the gazetteer's (an imported address
register is the base) by its folded Latin key too, so "Sadovaya St 1" refines "ул. Садовая, 1".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from models.cities.pack import CityPack
from models.geocoding import address_parser as ap
from models.geocoding.gazetteer_index import LOCALITY, distance_m, locality_column, locality_key
from models.geocoding.reverse import ReverseGeocoder
from models.geocoding.transliteration import latin_key
from plumbing.atomic import write_atomic
from schemas import citypack as cp

MIN_OUTLIER_RADIUS_M = 75.0
MAD_TO_SIGMA = 1.4826
OUTLIER_SIGMAS = 3.0
# A learned point replaces a gazetteer row only on this much agreeing evidence.
OVERRIDE_MIN_REPORTS = 5
OVERRIDE_MAX_SPREAD_M = 50.0
SAME_HOUSE_M = 300.0
UNSURE_MAX_REPORTS = 3
OBSERVATIONS = "observations"
SPREAD_M = "spread_m"
_KEY = [LOCALITY, ap.STREET_KEY, ap.TYPE_KEY, ap.HOUSE_KEY]
_FOLD = "street_fold"
_SPELT = (cp.STREET, cp.STREET_TYPE, cp.STREET_EN, cp.STREET_TYPE_EN, cp.LOCALITY)
_TYPE = "type_key"
_WRITTEN = "locality_written"  # the parsed type key (beside the gazetteer's own street_type spelling)
_MERGE_KEY = [LOCALITY, _FOLD, ap.TYPE_KEY, ap.HOUSE_KEY]


@dataclass(frozen=True)
class GazetteerUpdate:
    gazetteer: pl.DataFrame
    learned: int  # addresses with a learned point
    added: int  # of them, new to the gazetteer
    replaced: int  # existing rows moved to stronger learned evidence
    reports_used: int
    reports_rejected: int  # outliers and unusable coordinates


def learn_addresses(addresses: pl.Series, lat: pl.Series, lon: pl.Series, pack: CityPack) -> pl.DataFrame:
    """Key columns (locality_key, street, street_type, house) + lat, long, observations, spread_m,
    district_id."""
    parsed = ap.parse_addresses(addresses).with_columns(
        pl.Series(cp.GAZ_LAT, lat.cast(pl.Float64, strict=False)),
        pl.Series(cp.GAZ_LONG, lon.cast(pl.Float64, strict=False)),
    )
    marked = parsed.select(locality_key(pl.col(ap.LOCALITY_KEY))).to_series()
    known = set(marked.drop_nulls().to_list())
    if pack.gazetteer is not None:
        known |= set(pack.gazetteer.select(locality_column(pack.gazetteer)).to_series().to_list())
    place = locality_key(pl.col(ap.PLACE_KEY))
    written = pl.coalesce(ap.LOCALITY_KEY, pl.when(place.is_in(sorted(known - {""}))).then(pl.col(ap.PLACE_KEY)))
    parsed = parsed.with_columns(written.alias(_WRITTEN)).with_columns(
        locality_key(pl.col(_WRITTEN)).fill_null("").alias(LOCALITY)
    )
    parsed = _only_locality_of_street(parsed, pack.gazetteer)
    usable = parsed.filter(
        pl.col(ap.STREET_KEY).is_not_null() & pl.col(ap.HOUSE_KEY).is_not_null()
        & pl.col(cp.GAZ_LAT).is_finite() & pl.col(cp.GAZ_LONG).is_finite()
        & (pl.col(cp.GAZ_LAT).abs() <= 90) & (pl.col(cp.GAZ_LONG).abs() <= 180)
    )
    district = ReverseGeocoder(pack).locate(usable[cp.GAZ_LAT].to_numpy(), usable[cp.GAZ_LONG].to_numpy())
    ids = pl.Series([*pack.district_ids, None], dtype=pl.String)
    usable = usable.with_columns(ids.gather(np.where(district >= 0, district, len(ids) - 1)).alias(cp.DISTRICT_ID))
    inside = usable.filter(pl.col(cp.DISTRICT_ID).is_not_null())
    points = robust_points(_one_spelling(inside))
    # how the locality is written back: its most common spelling, Cyrillic first
    cyrillic = pl.col(_WRITTEN).str.contains(r"[а-я]")
    spellings = inside.filter(pl.col(LOCALITY) != "").group_by(LOCALITY, _WRITTEN).agg(
        pl.len().alias("n"), cyrillic.first().alias("cyr")
    ).sort("cyr", "n", _WRITTEN, descending=[True, True, False]).unique(LOCALITY, keep="first")
    points = points.join(spellings.select(LOCALITY, _WRITTEN), on=LOCALITY, how="left")
    # two or three reports that disagree by more than a house's worth give no trustworthy point:
    # the number is better interpolated from its neighbours
    reliable = (pl.col(OBSERVATIONS) > UNSURE_MAX_REPORTS) | (pl.col(SPREAD_M) <= MIN_OUTLIER_RADIUS_M)
    return _unmarked_into_localities(points.filter(reliable))


def _one_spelling(reports: pl.DataFrame) -> pl.DataFrame:
    """Reports of one street in both scripts pool: each takes its street's most common Cyrillic
    spelling (else its most common one), per locality, type and folded key."""
    street = [LOCALITY, _FOLD, ap.TYPE_KEY]
    keyed = reports.with_columns(latin_key(pl.col(ap.STREET_KEY)).alias(_FOLD))
    cyrillic = pl.col(ap.STREET_KEY).str.contains(r"[а-я]")
    ranked = keyed.group_by(*street, ap.STREET_KEY).agg(pl.len().alias("n"), cyrillic.first().alias("cyr"))
    best = ranked.sort("cyr", "n", ap.STREET_KEY, descending=[True, True, False]).unique(street, keep="first")
    spelt = keyed.drop(ap.STREET_KEY).join(best.select(*street, ap.STREET_KEY), on=street, nulls_equal=True)
    return spelt.drop(_FOLD)


def _only_locality_of_street(parsed: pl.DataFrame, gazetteer: pl.DataFrame | None) -> pl.DataFrame:
    """An address naming no locality whose street the gazetteer knows in one other locality only
    (not in the city itself) is that locality's: "ул. Студенческая, 5" when only Петергоф has one."""
    if gazetteer is None or gazetteer.is_empty():
        return parsed
    rows = gazetteer.with_columns(locality_column(gazetteer))
    streets = ap.normalise_streets(rows[cp.STREET], rows[cp.STREET_TYPE]).select(
        rows[LOCALITY], latin_key(pl.col(ap.STREET_KEY)).alias(_FOLD), pl.col(ap.TYPE_KEY).alias(_TYPE)
    ).unique()
    in_city = streets.filter(pl.col(LOCALITY) == "").select(_FOLD, _TYPE)
    elsewhere = streets.filter(pl.col(LOCALITY) != "").join(in_city, on=[_FOLD, _TYPE], how="anti")
    only = elsewhere.filter(pl.len().over(_FOLD, _TYPE) == 1).rename({LOCALITY: "only_locality"})
    keyed = parsed.with_columns(latin_key(pl.col(ap.STREET_KEY)).alias(_FOLD), pl.col(ap.TYPE_KEY).alias(_TYPE))
    keyed = keyed.join(only, on=[_FOLD, _TYPE], how="left", nulls_equal=True, maintain_order="left")
    unmarked = pl.col(LOCALITY) == ""
    return keyed.with_columns(
        pl.when(unmarked).then(pl.col("only_locality").fill_null("")).otherwise(pl.col(LOCALITY)).alias(LOCALITY)
    ).drop(_FOLD, _TYPE, "only_locality")


def _unmarked_into_localities(learned: pl.DataFrame) -> pl.DataFrame:
    """A house learned without a locality that lies within `SAME_HOUSE_M` of the same house learned
    with one is that house, reported without its town: its row goes (the town's row keeps its
    point, learned from the reports that named the town)."""
    named = learned.filter(pl.col(LOCALITY) != "").select(
        ap.STREET_KEY, ap.TYPE_KEY, ap.HOUSE_KEY, pl.col(cp.GAZ_LAT).alias("lat_l"), pl.col(cp.GAZ_LONG).alias("lon_l")
    )
    bare = learned.filter(pl.col(LOCALITY) == "").with_row_index("bare_row")
    near = bare.join(named, on=[ap.STREET_KEY, ap.TYPE_KEY, ap.HOUSE_KEY], nulls_equal=True).filter(
        distance_m(pl.col(cp.GAZ_LAT), pl.col(cp.GAZ_LONG), pl.col("lat_l"), pl.col("lon_l")) <= SAME_HOUSE_M
    )
    kept = bare.filter(~pl.col("bare_row").is_in(near["bare_row"].implode())).drop("bare_row")
    return pl.concat([learned.filter(pl.col(LOCALITY) != ""), kept])


def robust_points(reports: pl.DataFrame) -> pl.DataFrame:
    """Per address key: median point of the reports left after dropping outliers."""
    lat, lon = pl.col(cp.GAZ_LAT), pl.col(cp.GAZ_LONG)
    first = reports.with_columns(
        distance_m(lat, lon, lat.median().over(_KEY), lon.median().over(_KEY)).alias("distance")
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
        distance_m(lat, lon, pl.col("lat0"), pl.col("lon0")).median().alias(SPREAD_M)
    )
    return points.join(spread, on=_KEY, nulls_equal=True)


def _existing_keys(gazetteer: pl.DataFrame) -> pl.DataFrame:
    """Row number and (locality, folded street, type, house) keys of every row, both spellings."""
    rows = gazetteer.with_row_index("row").with_columns(locality_column(gazetteer))
    house = ap.normalise_houses(rows[cp.HOUSE])
    spellings = [(cp.STREET, cp.STREET_TYPE), (cp.STREET_EN, cp.STREET_TYPE_EN)]
    keys = [
        ap.normalise_streets(rows[name].fill_null(""), rows[kind]).with_columns(
            house.alias(ap.HOUSE_KEY), rows["row"], rows[LOCALITY]
        )
        for name, kind in spellings
    ]
    keys = pl.concat(keys).filter(pl.col(ap.STREET_KEY).is_not_null())
    return keys.select(
        LOCALITY, latin_key(pl.col(ap.STREET_KEY)).alias(_FOLD), ap.TYPE_KEY, ap.HOUSE_KEY, "row"
    ).unique()


def with_locality(gazetteer: pl.DataFrame) -> pl.DataFrame:
    """A gazetteer in the schema with the locality column (null where an older pack has none)."""
    if cp.LOCALITY not in gazetteer.columns:
        gazetteer = gazetteer.with_columns(pl.lit(None, dtype=pl.String).alias(cp.LOCALITY))
    table = gazetteer.select(cp.GAZETTEER_WITH_LOCALITY.names).to_arrow()
    return pl.from_arrow(table.cast(cp.GAZETTEER_WITH_LOCALITY))


def merge_gazetteer(existing: pl.DataFrame | None, learned: pl.DataFrame) -> GazetteerUpdate:
    """Existing rows stay unless learned evidence is strong; new addresses are appended (under the
    gazetteer's own spelling when their street is known in another script)."""
    existing = pl.from_arrow(cp.GAZETTEER_WITH_LOCALITY.empty_table()) if existing is None else with_locality(existing)
    learned = learned.with_columns(latin_key(pl.col(ap.STREET_KEY)).alias(_FOLD))
    matched = learned.join(_existing_keys(existing), on=_MERGE_KEY, how="left", nulls_equal=True)
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
    new = matched.filter(pl.col("row").is_null()).unique(_MERGE_KEY)
    rows = _as_gazetteer_rows(new, _street_spellings(existing))
    merged = pl.concat([updated.select(cp.GAZETTEER_WITH_LOCALITY.names), rows])
    used = int(learned[OBSERVATIONS].sum() or 0)
    return GazetteerUpdate(merged, learned.height, new.height, moves.height, used, 0)


def _street_spellings(gazetteer: pl.DataFrame) -> pl.DataFrame:
    """(locality, folded street, type) -> the gazetteer's spellings of that street and locality."""
    rows = gazetteer.with_columns(locality_column(gazetteer))
    keys = ap.normalise_streets(rows[cp.STREET], rows[cp.STREET_TYPE])
    spelt = rows.select(LOCALITY, *[pl.col(c).alias(f"known_{c}") for c in _SPELT])
    spelt = spelt.hstack(keys.select(latin_key(pl.col(ap.STREET_KEY)).alias(_FOLD), pl.col(ap.TYPE_KEY).alias(_TYPE)))
    return spelt.unique([LOCALITY, _FOLD, _TYPE], keep="first")


def _as_gazetteer_rows(learned: pl.DataFrame, spellings: pl.DataFrame) -> pl.DataFrame:
    """Learned keys written the gazetteer's way: its spelling of a known street, else the title-case
    name and the type's usual abbreviation."""
    learned = learned.rename({ap.TYPE_KEY: _TYPE}).join(
        spellings, on=[LOCALITY, _FOLD, _TYPE], how="left", nulls_equal=True
    )
    name = pl.col(ap.STREET_KEY).str.to_titlecase()
    latin = pl.col(ap.STREET_KEY).str.contains(r"^[^а-я]*$")
    kind_ru = pl.col(_TYPE).replace_strict(ap.TYPE_ABBREVIATION_RU, default=None, return_dtype=pl.String)
    kind_en = pl.col(_TYPE).replace_strict(ap.TYPE_ABBREVIATION_EN, default=None, return_dtype=pl.String)
    known = pl.col(f"known_{cp.STREET}").is_not_null()

    def spelt(column: str) -> pl.Expr:
        return pl.col(f"known_{column}")

    locality = pl.when(pl.col(LOCALITY) != "").then(
        pl.col(_WRITTEN).str.to_titlecase() if _WRITTEN in learned.columns else pl.col(LOCALITY).str.to_titlecase()
    )
    frame = learned.select(
        pl.when(known).then(spelt(cp.STREET)).otherwise(name).alias(cp.STREET),
        pl.when(known).then(spelt(cp.STREET_TYPE)).when(latin).then(kind_en).otherwise(kind_ru)
        .alias(cp.STREET_TYPE),
        pl.when(known).then(spelt(cp.STREET_EN)).when(latin).then(name).alias(cp.STREET_EN),
        pl.when(known).then(spelt(cp.STREET_TYPE_EN)).when(latin).then(kind_en).alias(cp.STREET_TYPE_EN),
        pl.col(ap.HOUSE_KEY).alias(cp.HOUSE),
        pl.col(cp.GAZ_LAT), pl.col(cp.GAZ_LONG), pl.col(cp.DISTRICT_ID),
        pl.coalesce(spelt(cp.LOCALITY), locality).alias(cp.LOCALITY),
    )
    return pl.from_arrow(frame.to_arrow().cast(cp.GAZETTEER_WITH_LOCALITY))


def learn_into_pack(
    pack: CityPack, addresses: pl.Series, lat: pl.Series, lon: pl.Series
) -> GazetteerUpdate:
    """Learn from history, merge into the pack's gazetteer and publish it atomically."""
    learned = learn_addresses(addresses, lat, lon, pack)
    update = merge_gazetteer(pack.gazetteer, learned)
    publish_gazetteer(pack, update.gazetteer)
    used = update.reports_used
    return GazetteerUpdate(update.gazetteer, update.learned, update.added, update.replaced, used,
                           int(addresses.len() - used))


def publish_gazetteer(pack: CityPack, gazetteer: pl.DataFrame) -> None:
    """Atomic replace: a pipeline worker loading the pack sees the old gazetteer or the new one.
    Nothing else caches it (the reverse geocoder's grid depends on the boundaries only)."""
    table = with_locality(gazetteer).to_arrow().cast(cp.GAZETTEER_WITH_LOCALITY)
    write_atomic(table, Path(pack.root) / cp.PACK_GAZETTEER_FILE, Path(pack.root))
