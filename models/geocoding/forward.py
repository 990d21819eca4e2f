"""Forward geocoding: the address a resident wrote -> a point, with how precisely and how surely.

For each distinct address (a batch repeats addresses a lot) the street is found by exact key
(name + type), then by name alone, then by fuzzy match (rapidfuzz `cdist`, in chunks, with a
score cutoff) for spellings the gazetteer has never seen. Words a resident put before the name
("около дома", "столб") are tried off one by one. Then the house: a known house gives its point
(`house`); a number never seen is interpolated between the nearest known numbers of that street
on the same side (`interpolated`); no number gives the street's midpoint (`street`). Nothing
found gives null coordinates and a reason in `geocode_issue`, never a made-up point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from models.geocoding import address_parser as ap
from models.geocoding.address_interpolation import interpolate_numbers
from models.geocoding.gazetteer_index import STREET_ID, GazetteerIndex, build_index
from schemas import citypack as cp
from schemas.requests import (
    GEOCODE_ISSUE,
    GEOCODE_PRECISION,
    GEOCODE_SCORE,
    LAT,
    LONG,
    AddressIssue,
    GeocodePrecision,
)

FUZZY_CUTOFF = 85.0  # rapidfuzz ratio (0-100) below which a spelling is not taken for a street
FUZZY_CHUNK = 2048
LEADING_WORDS_TRIED = 5  # a span from free text may start with the resident's words
# Confidence of the street match, by how it was found ...
EXACT, NAME_ONLY, WRONG_TYPE, FUZZY_WEIGHT, PER_WORD_DROPPED = 1.0, 0.9, 0.75, 0.9, 0.01
# ... times the confidence of the point, by precision.
PRECISION_WEIGHT = {
    GeocodePrecision.HOUSE: 1.0,
    GeocodePrecision.INTERPOLATED: 0.8,
    GeocodePrecision.STREET: 0.5,
}
_QID, _SCORE, _DROPPED, _VARIANT, _RANK = "query_id", "match_score", "words_dropped", "variant", "rank"
OUTPUT_SCHEMA = {
    LAT: pl.Float64, LONG: pl.Float64, GEOCODE_PRECISION: pl.String, GEOCODE_SCORE: pl.Float64,
    GEOCODE_ISSUE: pl.String,
}


class ForwardGeocoder:
    """`predict_batch(addresses)` -> lat, long, geocode_precision, geocode_score, geocode_issue."""

    def __init__(self, gazetteer: pl.DataFrame, fuzzy_cutoff: float = FUZZY_CUTOFF) -> None:
        self.index: GazetteerIndex = build_index(gazetteer)
        self.fuzzy_cutoff = fuzzy_cutoff
        self._names = self.index.street_names

    @classmethod
    def load(cls, pack_root: Path | str) -> ForwardGeocoder | None:
        """The pack's geocoder, or None when the pack has no gazetteer."""
        path = Path(pack_root) / cp.PACK_GAZETTEER_FILE
        return cls(pl.read_parquet(path)) if path.exists() else None

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
        )

    def geocode_parsed(self, parsed: pl.DataFrame) -> pl.DataFrame:
        """One output row per parsed address, in order."""
        queries = parsed.with_row_index(_QID).with_columns(pl.col(_QID).cast(pl.Int64))
        streets = self._match_streets(queries)
        placed = self._place(queries, streets)
        out = queries.select(_QID, ap.STREET_KEY).join(placed, on=_QID, how="left").sort(_QID)
        issue = (
            pl.when(pl.col(GEOCODE_PRECISION).is_not_null()).then(None)
            .when(pl.col(ap.STREET_KEY).is_null()).then(pl.lit(AddressIssue.NOT_UNDERSTOOD))
            .otherwise(pl.lit(AddressIssue.UNKNOWN_STREET))
        )
        return out.select(
            pl.col(LAT), pl.col(LONG),
            pl.col(GEOCODE_PRECISION).fill_null(GeocodePrecision.NONE),
            pl.col(GEOCODE_SCORE), issue.alias(GEOCODE_ISSUE),
        ).cast(OUTPUT_SCHEMA)

    # ------------------------------------------------------------------ streets
    def _match_streets(self, queries: pl.DataFrame) -> pl.DataFrame:
        """Candidate streets per query: query_id, street_id, match_score (best ones only)."""
        words = pl.col(ap.STREET_KEY).str.split(" ")
        variants = pl.concat(
            [
                queries.filter(words.list.len() > dropped).select(
                    _QID, ap.TYPE_KEY, pl.lit(dropped).alias(_DROPPED),
                    words.list.slice(dropped).list.join(" ").alias(_VARIANT),
                )
                for dropped in range(LEADING_WORDS_TRIED)
            ]
        )
        keys = self.index.street_keys.rename({ap.STREET_KEY: _VARIANT, ap.TYPE_KEY: "known_type"})
        by_name = variants.join(keys, on=_VARIANT)
        same_type = pl.col(ap.TYPE_KEY) == pl.col("known_type")
        exact = by_name.with_columns(
            pl.when(same_type).then(EXACT)
            .when(pl.col(ap.TYPE_KEY).is_null()).then(NAME_ONLY)
            .otherwise(WRONG_TYPE).alias(_SCORE)
        )
        missing = variants.join(exact.select(_QID).unique(), on=_QID, how="anti")
        type_agrees = same_type | pl.col(ap.TYPE_KEY).is_null()
        fuzzy = self._fuzzy(missing).join(keys, on=_VARIANT).with_columns(
            pl.col(_SCORE) * pl.when(type_agrees).then(1.0).otherwise(WRONG_TYPE)
        )
        columns = [_QID, STREET_ID, _SCORE]
        found = pl.concat([
            exact.with_columns(pl.col(_SCORE) - PER_WORD_DROPPED * pl.col(_DROPPED)).select(columns),
            fuzzy.select(columns),
        ])
        best = pl.col(_SCORE) == pl.col(_SCORE).max().over(_QID)
        return found.group_by(_QID, STREET_ID).agg(pl.col(_SCORE).max()).filter(best)

    def _fuzzy(self, variants: pl.DataFrame) -> pl.DataFrame:
        """query_id, variant (a known name), match_score for spellings no key matched exactly."""
        if variants.is_empty() or self._names.is_empty():
            return pl.DataFrame(
                schema={_QID: pl.Int64, ap.TYPE_KEY: pl.String, _VARIANT: pl.String, _SCORE: pl.Float64}
            )
        asked = variants.get_column(_VARIANT).to_list()
        names = self._names.to_list()
        best_at, best_score = [], []
        for start in range(0, len(asked), FUZZY_CHUNK):
            scores = process.cdist(
                asked[start:start + FUZZY_CHUNK], names, scorer=fuzz.ratio,
                score_cutoff=self.fuzzy_cutoff, dtype=np.uint8,
            )
            best_at.append(scores.argmax(axis=1))
            best_score.append(scores.max(axis=1))
        at, score = np.concatenate(best_at), np.concatenate(best_score).astype(np.float64)
        matched = variants.select(_QID, ap.TYPE_KEY, _DROPPED).with_columns(
            pl.Series(_VARIANT, self._names.gather(at)),
            pl.Series(_SCORE, score / 100 * FUZZY_WEIGHT),
        )
        matched = matched.with_columns(pl.col(_SCORE) - PER_WORD_DROPPED * pl.col(_DROPPED))
        return matched.filter(pl.Series(score > 0)).select(_QID, ap.TYPE_KEY, _VARIANT, _SCORE)

    # ------------------------------------------------------------------ points
    def _place(self, queries: pl.DataFrame, streets: pl.DataFrame) -> pl.DataFrame:
        """query_id, lat, long, geocode_precision, geocode_score: the most precise placement."""
        index = self.index
        asked = streets.join(
            queries.select(_QID, ap.HOUSE_KEY, ap.HOUSE_NUMBER), on=_QID
        )
        houses = asked.join(index.houses, on=[STREET_ID, ap.HOUSE_KEY]).with_columns(
            pl.lit(GeocodePrecision.HOUSE).alias(GEOCODE_PRECISION)
        )
        numbered = asked.filter(pl.col(ap.HOUSE_NUMBER).is_not_null())
        numbered = numbered.join(houses.select(_QID), on=_QID, how="anti")
        interpolated = interpolate_numbers(numbered, index.numbers).with_columns(
            pl.lit(GeocodePrecision.INTERPOLATED).alias(GEOCODE_PRECISION)
        )
        midpoints = asked.join(index.midpoints, on=STREET_ID).with_columns(
            pl.lit(GeocodePrecision.STREET).alias(GEOCODE_PRECISION)
        )
        columns = [_QID, STREET_ID, _SCORE, cp.GAZ_LAT, cp.GAZ_LONG, GEOCODE_PRECISION]
        options = pl.concat([frame.select(columns) for frame in (houses, interpolated, midpoints)])
        weight = pl.col(GEOCODE_PRECISION).replace_strict(PRECISION_WEIGHT, return_dtype=pl.Float64)
        options = options.with_columns((pl.col(_SCORE) * weight).clip(0.0, 1.0).alias(GEOCODE_SCORE))
        # the most precise placement first; among equals, the surest street
        rank = pl.col(GEOCODE_PRECISION).replace_strict(
            {p: i for i, p in enumerate(PRECISION_WEIGHT)}, return_dtype=pl.Int32
        )
        return (
            options.with_columns(rank.alias(_RANK))
            .sort(_QID, _RANK, GEOCODE_SCORE, STREET_ID, descending=[False, False, True, False])
            .group_by(_QID, maintain_order=True)
            .first()
            .select(_QID, pl.col(cp.GAZ_LAT).alias(LAT), pl.col(cp.GAZ_LONG).alias(LONG),
                    GEOCODE_PRECISION, GEOCODE_SCORE)
        )
