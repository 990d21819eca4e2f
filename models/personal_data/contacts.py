"""Phones, e-mails and flat numbers in whole text columns: Rust-regex candidates
(`models.personal_data.patterns`) filtered by the context rules, all as polars column
expressions over the candidates (no Python loop over texts).

Each function returns one row per finding: `row`, `start`, `end` (characters), `type`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from models.personal_data import patterns as pt
from models.personal_data.matches import AFTER, BEFORE, END, MATCH, ROW, START, find_matches
from models.personal_data.matches import with_context as _with_context
from schemas.personal_data import PII_TYPE, PiiType

SPAN_COLUMNS = (ROW, START, END, PII_TYPE)


def _spans(found: pl.DataFrame, kind: str) -> pl.DataFrame:
    return found.select(ROW, START, END, pl.lit(kind).alias(PII_TYPE))


def _rows_with(texts: pl.Series, literal: str) -> np.ndarray:
    return np.flatnonzero(texts.str.contains(literal, literal=True).fill_null(False).to_numpy())


def find_emails(texts: pl.Series) -> pl.DataFrame:
    found = find_matches(texts, pt.EMAIL, _rows_with(texts, "@"))
    found = _with_context(found, texts, before=1, after=1)
    keep = ~pl.col(BEFORE).str.contains(pt.EMAIL_BEFORE) & ~pl.col(AFTER).str.contains(pt.EMAIL_AFTER)
    return _spans(found.filter(keep), PiiType.EMAIL)


def find_phones(texts: pl.Series) -> pl.DataFrame:
    """Phones; a bare run of digits after "заявка", "ИНН", "request #" ... numbers that, and a
    number written with separators is a phone wherever it is."""
    found = find_matches(texts, pt.PHONE)
    found = _with_context(found, texts, before=pt.NUMBERED_LOOK_BACK, after=pt.CONTEXT)
    bare = pl.col(MATCH).str.contains(r"^\d+$")
    keep = (
        ~pl.col(BEFORE).str.contains(pt.PHONE_BEFORE)
        & ~pl.col(AFTER).str.contains(pt.PHONE_AFTER)
        & ~(bare & pl.col(BEFORE).str.contains(pt.NUMBERED_BEFORE))
    )
    return _spans(found.filter(keep), PiiType.PHONE)


def find_flats(texts: pl.Series) -> pl.DataFrame:
    """Flat numbers in free text: "кв. 12", "apt 4B", "#5C"."""
    found = _with_context(find_matches(texts, pt.FLAT), texts, before=1, after=pt.CONTEXT * 3)
    hashed = pl.col(MATCH).str.starts_with("#")
    after_ok = pl.when(hashed).then(~pl.col(AFTER).str.contains(pt.FLAT_HASH_AFTER)).otherwise(
        _word_flat_after_ok()
    )
    keep = ~pl.col(BEFORE).str.contains(pt.FLAT_BEFORE) & after_ok
    return _spans(found.filter(keep), PiiType.FLAT)


def _word_flat_after_ok() -> pl.Expr:
    return ~pl.col(AFTER).str.contains(pt.FLAT_AFTER) & ~(
        pl.col(MATCH).str.contains(r"(?i)^(?:apt|apartment|flat|unit)")
        & pl.col(AFTER).str.contains(pt.FLAT_HOUSE_AFTER)
    )


def find_address_flats(addresses: pl.Series) -> pl.DataFrame:
    """Flats in the address field: the free-text forms, a "#" unit after the street whether or
    not a letter follows ("123 Main St #4"), and a lettered "Apt E"."""
    rows = np.flatnonzero(
        addresses.str.contains(r"(?i)кв|apt|apartment|flat|unit|#").fill_null(False).to_numpy()
    )
    found = find_matches(addresses, pt.ADDRESS_FLAT, rows)
    found = _with_context(found, addresses, before=3, after=pt.CONTEXT * 3)
    hashed = pl.col(MATCH).str.starts_with("#")
    lettered = pl.col(MATCH).str.contains(r"[A-Z]$") & ~pl.col(MATCH).str.contains(r"\d")
    not_glued = ~pl.col(BEFORE).str.contains(pt.FLAT_BEFORE)
    hash_ok = (
        # "#5C" anywhere, as in free text
        not_glued & pl.col(MATCH).str.contains(r"(?i)^#\d{1,4}[a-z]$")
        & ~pl.col(AFTER).str.contains(pt.FLAT_HASH_AFTER)
    ) | (pl.col(BEFORE).str.contains(pt.ADDRESS_HASH_BEFORE) & ~pl.col(AFTER).str.contains(r"^[\w/-]"))
    letter_ok = not_glued & ~pl.col(AFTER).str.contains(pt.ADDRESS_LETTER_AFTER)
    keep = (
        pl.when(hashed).then(hash_ok)
        .when(lettered).then(letter_ok)
        .otherwise(not_glued & _word_flat_after_ok())
    )  # fmt: skip
    return _spans(found.filter(keep), PiiType.FLAT)
