"""A city's gazetteer arranged for forward geocoding: streets per locality, houses, numbers, extents.

Built once per pack (a worker's `setup`, a CLI run) from the gazetteer parquet. A street is one
locality + street type + the folded Latin key of its name (`models.geocoding.transliteration`),
so "ул. Веденеева" of the town Петергоф and of the city itself are two streets, while "Садовая
ул." and a learned "Sadovaya St" of the same locality are one. Every street has its keys (each
spelling, normalised by `models.geocoding.address_parser`, and their folded keys), every house a
normalised key, every house number a point (the mean of its buildings, so "15к1" and "15к2" give
number 15 one point) and every street a midpoint - the house nearest to the mean of its houses,
so a curved street's midpoint is still on it - with its extent (the farthest house from it).
Localities get a centre and an extent the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from models.geocoding import address_parser as ap
from models.geocoding.address_places import locality_name
from models.geocoding.transliteration import latin_key
from schemas import citypack as cp

STREET_ID = "street_id"
PARITY = "parity"
LOCALITY = "locality_key"  # folded Latin name of the locality; "" for the city itself
FOLD = "street_fold"
EXTENT_M = "extent_m"
_M_PER_DEG_LAT = 111_200.0
# A spelling this close (rapidfuzz ratio of the folded keys) to a street of the same locality and
# type with this many times its houses is a misspelling of it (learned from residents' texts).
SPELLING_MERGE_RATIO = 80.0
SPELLING_MERGE_FACTOR = 4


def distance_m(lat: pl.Expr, lon: pl.Expr, lat0: pl.Expr, lon0: pl.Expr) -> pl.Expr:
    """Metres between points (equirectangular: exact enough within a city)."""
    dy = (lat - lat0) * _M_PER_DEG_LAT
    dx = (lon - lon0) * _M_PER_DEG_LAT * (lat0 * np.pi / 180).cos()
    return (dx**2 + dy**2).sqrt()


@dataclass(frozen=True)
class GazetteerIndex:
    street_keys: pl.DataFrame  # street_id, street, street_type, street_fold, locality_key
    houses: pl.DataFrame  # street_id, house (key), lat, long
    numbers: pl.DataFrame  # street_id, house_number, parity, lat, long; sorted by house_number
    midpoints: pl.DataFrame  # street_id, lat, long, extent_m
    localities: pl.DataFrame  # locality_key, street_fold (its folded key), lat, long, extent_m
    default_locality: str  # the locality of most houses: an address naming none is looked up there

    @property
    def street_names(self) -> pl.Series:
        return self.street_keys.get_column(ap.STREET_KEY).unique().sort()


def locality_column(gazetteer: pl.DataFrame) -> pl.Expr:
    """The gazetteer's locality as a key: its folded Latin name, so "Петергоф" and "Peterhof" are one
    ("" for the city itself, or when the gazetteer has no locality column)."""
    if cp.LOCALITY not in gazetteer.columns:
        return pl.lit("").alias(LOCALITY)
    return locality_key(pl.col(cp.LOCALITY)).fill_null("").alias(LOCALITY)


def locality_key(names: pl.Expr) -> pl.Expr:
    """A written locality ("город Петергоф", "Peterhof") -> its key."""
    return latin_key(locality_name(names))


def build_index(gazetteer: pl.DataFrame) -> GazetteerIndex:
    rows = gazetteer.with_columns(locality_column(gazetteer))
    ru = ap.normalise_streets(rows[cp.STREET], rows[cp.STREET_TYPE])
    en = ap.normalise_streets(
        rows[cp.STREET_EN].fill_null(rows[cp.STREET]), rows[cp.STREET_TYPE_EN].fill_null(rows[cp.STREET_TYPE])
    )
    fold = latin_key(pl.col(ap.STREET_KEY))
    rows = rows.with_columns(_street_ids(rows, ru))
    ids = rows.select(STREET_ID, LOCALITY)
    street_keys = (
        pl.concat([ids.hstack(ru), ids.hstack(en)])
        .filter(pl.col(ap.STREET_KEY).is_not_null())
        .with_columns(fold.alias(FOLD))
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
    localities = _centres(rows, LOCALITY).with_columns(latin_key(pl.col(LOCALITY)).alias(FOLD))
    counts = rows.group_by(LOCALITY).len().sort("len", LOCALITY, descending=[True, False])
    default = counts[LOCALITY][0] if counts.height else ""
    return GazetteerIndex(street_keys, houses, numbers, _centres(rows, STREET_ID), localities, default)


def _street_ids(rows: pl.DataFrame, ru: pl.DataFrame) -> pl.Series:
    """One id per locality + type + folded name (both scripts of one street share it); a rare
    spelling close to a street with many more houses (a misspelling learned from history) joins it."""
    keys = pl.DataFrame({LOCALITY: rows[LOCALITY]}).hstack(ru).select(
        LOCALITY, pl.col(ap.TYPE_KEY).fill_null(""),
        latin_key(pl.col(ap.STREET_KEY)).fill_null(pl.col(ap.STREET_KEY)).fill_null("").alias(FOLD),
    )
    identity = [LOCALITY, ap.TYPE_KEY, FOLD]
    sizes = keys.group_by(identity).len().sort(identity)
    canonical = sizes.select(identity).with_columns(_canonical_folds(sizes).alias("canonical"))
    keys = keys.join(canonical, on=identity, how="left", maintain_order="left")
    merged = pl.struct(pl.col(LOCALITY), pl.col(ap.TYPE_KEY), pl.col("canonical"))
    return keys.select(merged.rank("dense").cast(pl.Int64).alias(STREET_ID)).to_series()


def _canonical_folds(sizes: pl.DataFrame) -> pl.Series:
    """Per (locality, type, fold) with its house count: the fold it is merged into (its own, or
    the biggest similar one with the same digits and `SPELLING_MERGE_FACTOR` times its houses)."""
    folds = sizes[FOLD].to_list()
    out = list(folds)
    counts = sizes["len"].to_numpy()
    digits = sizes.select(pl.col(FOLD).str.replace_all(r"\D", "")).to_series().to_list()
    for _, group in sizes.with_row_index("at").group_by(LOCALITY, ap.TYPE_KEY):
        at = group["at"].to_numpy()
        if at.size < 2:
            continue
        names = [folds[a] for a in at]
        scores = process.cdist(names, names, scorer=fuzz.ratio, score_cutoff=SPELLING_MERGE_RATIO, dtype=np.uint8)
        for i, j in zip(*np.nonzero(scores), strict=True):
            a, b = int(at[i]), int(at[j])
            bigger = counts[b] >= SPELLING_MERGE_FACTOR * counts[a] and digits[a] == digits[b]
            if bigger and (out[a] == folds[a] or counts[b] > counts[folds.index(out[a])]):
                out[a] = folds[b]
    return pl.Series("canonical", out, dtype=pl.String)


def _centres(rows: pl.DataFrame, by: str) -> pl.DataFrame:
    """Per group: the row nearest the mean of its rows, and the distance to its farthest row."""
    lat, lon = pl.col(cp.GAZ_LAT), pl.col(cp.GAZ_LONG)
    off_centre = (lat - lat.mean().over(by)) ** 2 + (lon - lon.mean().over(by)) ** 2
    centres = (
        rows.select(by, cp.GAZ_LAT, cp.GAZ_LONG)
        .with_columns(off_centre.alias("off_centre"))
        .sort("off_centre")
        .group_by(by)
        .agg(lat.first(), lon.first())
    )
    reach = rows.select(by, cp.GAZ_LAT, cp.GAZ_LONG).join(
        centres.rename({cp.GAZ_LAT: "c_lat", cp.GAZ_LONG: "c_lon"}), on=by
    )
    extent = reach.group_by(by).agg(
        distance_m(lat, lon, pl.col("c_lat"), pl.col("c_lon")).max().alias(EXTENT_M)
    )
    return centres.join(extent, on=by)
