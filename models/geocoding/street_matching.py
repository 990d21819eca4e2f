"""Which known street (and locality) a parsed address names: exact, transliterated, then fuzzy.

The locality is part of the key. An address that names a known locality ("г. Петергоф", or an
unmarked "Петергоф, ..." / "Brooklyn, ...") is looked up among that locality's streets only; one
that names none (or one the gazetteer does not know) is looked up everywhere, with the city's main
locality preferred (`OTHER_LOCALITY` weighs the others down), so "ул. Веденеева, 5" is the city's
street and "Петергоф, ул. Веденеева, 5" the town's. Street spellings are tried as written, then by
their folded Latin key (Russian and English spellings of one street meet there), then with
rapidfuzz `cdist` (in chunks, with a score cutoff) for spellings never seen. Words a resident put
before the name ("около дома", "столб") are tried off one by one.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from models.geocoding import address_parser as ap
from models.geocoding.gazetteer_index import FOLD, LOCALITY, STREET_ID, GazetteerIndex, locality_key
from models.geocoding.transliteration import latin_key

FUZZY_CUTOFF = 85.0  # rapidfuzz ratio (0-100) below which a spelling is not taken for a street
FUZZY_CHUNK = 2048
LEADING_WORDS_TRIED = 5  # a span from free text may start with the resident's words
# Confidence of the street match, by how it was found.
EXACT, NAME_ONLY, WRONG_TYPE, FOLDED, FUZZY_WEIGHT, PER_WORD_DROPPED = 1.0, 0.9, 0.75, 0.95, 0.9, 0.01
OTHER_LOCALITY = 0.85  # a street found outside the main locality when the address named none
QID, SCORE = "query_id", "match_score"
ASKED_LOCALITY = "asked_locality"  # the known locality key an address names, or null
_DROPPED, _VARIANT, _KNOWN_TYPE = "words_dropped", "variant", "known_type"


def resolve_localities(queries: pl.DataFrame, index: GazetteerIndex) -> pl.Expr:
    """Per query, the known locality key its marked locality, else its unmarked place, names."""
    known = index.localities.filter(pl.col(LOCALITY) != "").get_column(LOCALITY).to_list()

    def find(column: str) -> pl.Expr:
        key = locality_key(pl.col(column))
        return pl.when(key.is_in(known)).then(key)

    return pl.coalesce(find(ap.LOCALITY_KEY), find(ap.PLACE_KEY)).alias(ASKED_LOCALITY)


def match_streets(queries: pl.DataFrame, index: GazetteerIndex, fuzzy_cutoff: float) -> pl.DataFrame:
    """Candidate streets per query (query_id, street key, type key, asked_locality): query_id,
    street_id, match_score - the best ones only."""
    words = pl.col(ap.STREET_KEY).str.split(" ")
    variants = pl.concat([
        queries.filter(words.list.len() > dropped).select(
            QID, ap.TYPE_KEY, ASKED_LOCALITY, pl.lit(dropped).alias(_DROPPED),
            words.list.slice(dropped).list.join(" ").alias(_VARIANT),
        )
        for dropped in range(LEADING_WORDS_TRIED)
    ])
    keys = index.street_keys.rename({ap.STREET_KEY: _VARIANT, ap.TYPE_KEY: _KNOWN_TYPE})
    by_name = variants.join(keys.drop(FOLD), on=_VARIANT).with_columns(pl.lit(EXACT).alias(SCORE))
    by_fold = variants.with_columns(latin_key(pl.col(_VARIANT)).alias(FOLD)).join(
        keys.select(STREET_ID, LOCALITY, _KNOWN_TYPE, FOLD).unique(), on=FOLD
    ).with_columns(pl.lit(FOLDED).alias(SCORE))
    found = pl.concat([by_name, by_fold], how="diagonal_relaxed")
    unmatched = variants.join(_in_place(found, index).select(QID).unique(), on=QID, how="anti")
    fuzzy = _fuzzy(unmatched, index, fuzzy_cutoff).join(keys.drop(FOLD), on=_VARIANT)
    columns = [QID, STREET_ID, SCORE]
    same_type = pl.col(ap.TYPE_KEY) == pl.col(_KNOWN_TYPE)
    type_weight = (
        pl.when(same_type).then(1.0).when(pl.col(ap.TYPE_KEY).is_null()).then(NAME_ONLY).otherwise(WRONG_TYPE)
    )
    scored = pl.concat([found.select(*columns, ap.TYPE_KEY, _KNOWN_TYPE, _DROPPED, ASKED_LOCALITY, LOCALITY),
                        fuzzy.select(*columns, ap.TYPE_KEY, _KNOWN_TYPE, _DROPPED, ASKED_LOCALITY, LOCALITY)])
    scored = _in_place(scored, index).with_columns(
        (pl.col(SCORE) * type_weight * pl.col("locality_weight") - PER_WORD_DROPPED * pl.col(_DROPPED)).alias(SCORE)
    )
    best = pl.col(SCORE) == pl.col(SCORE).max().over(QID)
    return scored.group_by(QID, STREET_ID).agg(pl.col(SCORE).max()).filter(best).select(columns)


def _in_place(candidates: pl.DataFrame, index: GazetteerIndex) -> pl.DataFrame:
    """Candidates in the asked locality (or anywhere when none was asked), with their weight."""
    asked = pl.col(ASKED_LOCALITY)
    kept = candidates.filter(asked.is_null() | (asked == pl.col(LOCALITY)))
    main = asked.is_not_null() | (pl.col(LOCALITY) == index.default_locality)
    return kept.with_columns(pl.when(main).then(1.0).otherwise(OTHER_LOCALITY).alias("locality_weight"))


def _fuzzy(variants: pl.DataFrame, index: GazetteerIndex, cutoff: float) -> pl.DataFrame:
    """query_id, type, asked_locality, words_dropped, variant (a known name), match_score. An
    address naming a locality is compared with that locality's names only (its misspelling may
    be closer to a name of another place)."""
    schema = {QID: pl.Int64, ap.TYPE_KEY: pl.String, ASKED_LOCALITY: pl.String, _DROPPED: pl.Int32,
              _VARIANT: pl.String, SCORE: pl.Float64}
    found = [pl.DataFrame(schema=schema)]
    for (asked,), group in variants.group_by(ASKED_LOCALITY):
        keys = index.street_keys if asked is None else index.street_keys.filter(pl.col(LOCALITY) == asked)
        found.append(_closest(group, keys.get_column(ap.STREET_KEY).unique().sort(), cutoff).cast(schema))
    return pl.concat(found)


def _closest(variants: pl.DataFrame, names: pl.Series, cutoff: float) -> pl.DataFrame:
    """Each variant's closest known name by rapidfuzz ratio (in chunks), where one reaches `cutoff`."""
    if variants.is_empty() or names.is_empty():
        return variants.clear().select(QID, ap.TYPE_KEY, ASKED_LOCALITY, _DROPPED, _VARIANT).with_columns(
            pl.lit(None, dtype=pl.Float64).alias(SCORE))
    asked = variants.get_column(_VARIANT).to_list()
    best_at, best_score = [], []
    for start in range(0, len(asked), FUZZY_CHUNK):
        scores = process.cdist(
            asked[start:start + FUZZY_CHUNK], names.to_list(), scorer=fuzz.ratio, score_cutoff=cutoff,
            dtype=np.uint8,
        )
        best_at.append(scores.argmax(axis=1))
        best_score.append(scores.max(axis=1))
    at, score = np.concatenate(best_at), np.concatenate(best_score).astype(np.float64)
    matched = variants.select(QID, ap.TYPE_KEY, ASKED_LOCALITY, pl.col(_DROPPED).cast(pl.Int32)).with_columns(
        pl.Series(_VARIANT, names.gather(at)), pl.Series(SCORE, score / 100 * FUZZY_WEIGHT),
    )
    return matched.filter(pl.Series(score > 0))
