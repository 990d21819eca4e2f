"""Language id per text by script: Cyrillic letters -> ru, Latin letters -> en, none -> null."""

from __future__ import annotations

import polars as pl


def detect_language(texts: pl.Series) -> pl.Series:
    cyrillic = texts.str.count_matches(r"[А-Яа-яЁё]").fill_null(0)
    latin = texts.str.count_matches(r"[A-Za-z]").fill_null(0)
    return (
        pl.select(
            pl.when((cyrillic == 0) & (latin == 0)).then(None)
            .when(cyrillic >= latin).then(pl.lit("ru")).otherwise(pl.lit("en"))
        )
        .to_series()
        .alias(texts.name)
    )
