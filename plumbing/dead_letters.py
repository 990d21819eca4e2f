"""Dead-letter rows: a record that could not go on, as its raw payload plus a machine-readable reason.

Every stream's validation, the enrichment guard and the live path's lateness check build their
dead letters here, so each has the same columns (`schemas.dead_letters.DEAD_LETTER`).
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from schemas import dead_letters as dl
from schemas import requests as rq


def dead_letter_rows(
    raw: pl.DataFrame, reason: pl.Expr, detail: pl.Expr, stage: str | pl.Expr, failed_at: datetime,
    payload: tuple[str, ...] = rq.OPEN311_FIELDS,
) -> pl.DataFrame:
    """Dead letters for `raw` rows: the raw record (its `payload` columns and any unreadable
    text) as JSON text, plus reason and detail."""
    payload_columns = [c for c in (*payload, rq.UNREADABLE_RECORD) if c in raw.columns]
    frame = raw.select(
        pl.col(rq.SOURCE),
        pl.col(rq.SOURCE_FILE),
        pl.col(rq.SOURCE_POSITION),
        (stage if isinstance(stage, pl.Expr) else pl.lit(stage)).alias(dl.STAGE),
        reason.alias(dl.REASON),
        detail.alias(dl.DETAIL),
        pl.struct(payload_columns).struct.json_encode().alias(dl.RAW_PAYLOAD),
        pl.lit(failed_at).dt.cast_time_unit("us").dt.replace_time_zone("UTC").alias(dl.FAILED_AT),
    )
    return pl.from_arrow(frame.to_arrow().cast(dl.DEAD_LETTER))


def split_enrich_failures(frame: pl.DataFrame, failed_at: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows every step enriched, dead letters `enrich_failed` for the rows a step could not).

    A frame no step failed on has no failure columns and comes back as it is.
    """
    if dl.ENRICH_FAILED_STEP not in frame.columns:
        return frame, dead_letter_rows(frame.clear(), pl.lit(dl.Reason.ENRICH_FAILED), pl.lit(None, pl.String),
                                       "", failed_at)
    failed = pl.col(dl.ENRICH_FAILED_STEP).is_not_null()
    dead = dead_letter_rows(
        frame.filter(failed), pl.lit(dl.Reason.ENRICH_FAILED), pl.col(dl.ENRICH_FAILED_ERROR),
        pl.col(dl.ENRICH_FAILED_STEP), failed_at,
    )
    return frame.filter(~failed).drop(dl.ENRICH_FAILED_STEP, dl.ENRICH_FAILED_ERROR), dead
