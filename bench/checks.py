"""UrbanPulse's own output held against the answer key: counts that must add up, and the
enrichments the peer does not make (language, geocode issues, repeated-report links).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from schemas import ledger
from schemas import requests as rq
from schemas.dead_letters import REASON

_TRUE = "_true"
PROBE_CONFIDENCE = 0.5  # a plain cut to show how well confidence separates wrong from right


def read_dead_letters(dataset: Path) -> pl.DataFrame:
    files = list(dataset.rglob("*.parquet"))
    if not files:
        return pl.DataFrame(schema={rq.SOURCE_POSITION: pl.Int64, REASON: pl.String})
    return pl.concat([pl.read_parquet(f, columns=[rq.SOURCE_POSITION, REASON]) for f in files])


def expected_counts(truth: pl.DataFrame) -> dict[str, int]:
    """What a run over the feed must count, from the answer key alone."""
    valid = truth.filter(pl.col(REASON).is_null())
    distinct = valid[rq.SERVICE_REQUEST_ID].n_unique()
    return {
        ledger.RECORDS_IN: truth.height,
        ledger.RECORDS_OUT: valid.height,
        ledger.DEAD_LETTERS: truth.height - valid.height,
        ledger.VERSIONS_SUPERSEDED: valid.height - distinct,
        ledger.REQUEST_ROWS_PUBLISHED: distinct,
    }


def dead_letter_checks(truth: pl.DataFrame, dead: pl.DataFrame) -> dict:
    """Are exactly the defective rows dead letters, for the reason the generator meant?"""
    meant = truth.filter(pl.col(REASON).is_not_null()).select(rq.SOURCE_POSITION, REASON)
    joined = meant.join(dead, on=rq.SOURCE_POSITION, how="full", suffix="_found", coalesce=True)
    return {
        "expected": meant.height,
        "found": dead.height,
        "same_reason": int((joined[REASON] == joined[REASON + "_found"]).fill_null(False).sum()),
        "missed": int(joined[REASON + "_found"].null_count()),
        "unexpected": int(joined[REASON].null_count()),
        "reasons_found": dict(dead.group_by(REASON).len().sort(REASON).iter_rows()),
    }


def enrichment_checks(truth: pl.DataFrame, published: pl.DataFrame) -> dict:
    """Language, geocode issue and repeated-report links of the published rows vs the answer key."""
    columns = [rq.SERVICE_REQUEST_ID, rq.LANGUAGE, rq.GEOCODE_ISSUE, rq.DUPLICATE_OF]
    key = truth.filter(pl.col(REASON).is_null()).unique(rq.SERVICE_REQUEST_ID).select(columns)
    joined = published.select(columns).join(key, on=rq.SERVICE_REQUEST_ID, how="full", suffix=_TRUE)
    matched = joined.filter(
        pl.col(rq.SERVICE_REQUEST_ID).is_not_null()
        & pl.col(rq.SERVICE_REQUEST_ID + _TRUE).is_not_null()
    )
    linked, meant = pl.col(rq.DUPLICATE_OF), pl.col(rq.DUPLICATE_OF + _TRUE)
    right_link = (linked == meant).fill_null(False)
    return {
        "published_ids_not_in_truth": int(joined[rq.SERVICE_REQUEST_ID + _TRUE].null_count()),
        "valid_ids_not_published": int(joined[rq.SERVICE_REQUEST_ID].null_count()),
        "language_accuracy": _share(
            matched, pl.col(rq.LANGUAGE).eq_missing(pl.col(rq.LANGUAGE + _TRUE))
        ),
        "geocode_issue_agreement": _share(
            matched, pl.col(rq.GEOCODE_ISSUE).eq_missing(pl.col(rq.GEOCODE_ISSUE + _TRUE))
        ),
        "repeat_reports_true": int(matched.select(meant.is_not_null().sum()).item()),
        "repeat_reports_linked": int(matched.select(linked.is_not_null().sum()).item()),
        "repeat_link_recall": _share(matched.filter(meant.is_not_null()), right_link),
        "repeat_link_precision": _share(matched.filter(linked.is_not_null()), right_link),
    }


def review_checks(truth: pl.DataFrame, published: pl.DataFrame) -> dict:
    """Does `needs_review` catch the wrong categories? (abstentions are flagged by design)."""
    key = truth.unique(rq.SERVICE_REQUEST_ID).select(rq.SERVICE_REQUEST_ID, rq.CATEGORY)
    columns = [rq.SERVICE_REQUEST_ID, rq.CATEGORY, rq.CATEGORY_CONFIDENCE, rq.NEEDS_REVIEW]
    joined = published.select(columns).join(key, on=rq.SERVICE_REQUEST_ID, suffix=_TRUE)
    classified = joined.filter(pl.col(rq.CATEGORY).is_not_null())
    wrong = classified.filter(pl.col(rq.CATEGORY) != pl.col(rq.CATEGORY + _TRUE))
    return {
        "flagged": int(joined[rq.NEEDS_REVIEW].sum()),
        "flagged_with_a_category": int(classified[rq.NEEDS_REVIEW].sum()),
        "wrong_categories": wrong.height,
        "wrong_categories_flagged": int(wrong[rq.NEEDS_REVIEW].sum()),
        "wrong_median_confidence": wrong[rq.CATEGORY_CONFIDENCE].median(),
        "right_median_confidence": classified.filter(
            pl.col(rq.CATEGORY) == pl.col(rq.CATEGORY + _TRUE)
        )[rq.CATEGORY_CONFIDENCE].median(),
        f"classified_below_{PROBE_CONFIDENCE}_confidence": int(
            (classified[rq.CATEGORY_CONFIDENCE] < PROBE_CONFIDENCE).sum()
        ),
        f"wrong_below_{PROBE_CONFIDENCE}_confidence": int(
            (wrong[rq.CATEGORY_CONFIDENCE] < PROBE_CONFIDENCE).sum()
        ),
    }


def _share(frame: pl.DataFrame, condition: pl.Expr) -> float:
    return float(frame.select(condition.mean()).item()) if frame.height else float("nan")


def urbanpulse_checks(
    truth: pl.DataFrame, counters: dict, published: pl.DataFrame, dead: pl.DataFrame
) -> dict:
    expected = expected_counts(truth)
    observed = {name: counters.get(name) for name in expected}
    observed["published_rows_in_dataset"] = published.height
    return {
        "expected": expected,
        "observed": observed,
        ledger.REQUESTS_WITHOUT_DISTRICT: counters.get(ledger.REQUESTS_WITHOUT_DISTRICT),
        ledger.DEAD_LETTERS: dead_letter_checks(truth, dead),
        "enrichment": enrichment_checks(truth, published),
        "review": review_checks(truth, published),
    }
