"""Accuracy of both tools against the generator's answer key, on the requests both of them kept.

Rows are matched by request id. A re-sent request appears twice in the feed (same text, same
place, same truth); UrbanPulse publishes its latest version and the peer keeps both, so each side
is reduced to one row per id before the join. Rows without an id (the peer keeps them) cannot be
matched and are left out.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import polars as pl
from sklearn.metrics import f1_score

from bench.workload import PEER_DISTRICT, PEER_ID, PEER_LABEL
from models.cities.pack import CityPack
from schemas import requests as rq
from synthetic.requests.generator import truth_path

_TRUE = "_true"
_UP = "_urbanpulse"
_PEER = "_peer"
NO_PREDICTION = "<none>"
TRUTH_COLUMNS = (rq.SERVICE_REQUEST_ID, rq.CATEGORY, rq.DISTRICT_ID)


def read_truth(feed: Path) -> pl.DataFrame:
    """The whole answer key, one row per feed row (re-sent requests twice)."""
    return pl.read_parquet(truth_path(feed))


def read_published(dataset: Path) -> pl.DataFrame:
    return pl.scan_parquet(dataset / "**" / "*.parquet", hive_partitioning=True).collect()


def read_peer(enriched: Path, pack: CityPack) -> pl.DataFrame:
    """The peer's enriched rows with district names mapped to the pack's ids, one row per id."""
    frame = pl.from_pandas(pd.read_parquet(enriched, columns=[PEER_ID, PEER_LABEL, PEER_DISTRICT]))
    ids = pl.DataFrame({PEER_DISTRICT: pack.district_names, rq.DISTRICT_ID: pack.district_ids})
    return (
        frame.with_columns(
            pl.col(PEER_LABEL).cast(pl.String), pl.col(PEER_DISTRICT).cast(pl.String)
        )
        .join(ids, on=PEER_DISTRICT, how="left")
        .select(
            pl.col(PEER_ID).alias(rq.SERVICE_REQUEST_ID),
            pl.col(PEER_LABEL).alias(rq.CATEGORY),
            rq.DISTRICT_ID,
        )
        .filter(pl.col(rq.SERVICE_REQUEST_ID).is_not_null())
        .unique(rq.SERVICE_REQUEST_ID, keep="last", maintain_order=True)
    )


def scores(joined: pl.DataFrame, suffix: str) -> dict[str, float]:
    """Category accuracy and macro-F1 (over the true categories: an abstention is a miss, not a
    class of its own), the share of abstentions, and the share of known true districts found."""
    truth = joined[rq.CATEGORY + _TRUE]
    predicted = joined[rq.CATEGORY + suffix].fill_null(NO_PREDICTION)
    known = joined.filter(pl.col(rq.DISTRICT_ID + _TRUE).is_not_null())
    same_district = known[rq.DISTRICT_ID + suffix] == known[rq.DISTRICT_ID + _TRUE]
    if not joined.height:
        return {"rows": 0}
    return {
        "rows": joined.height,
        "accuracy": float((truth == predicted).mean()),
        "macro_f1": float(
            f1_score(
                truth.to_numpy(),
                predicted.to_numpy(),
                labels=sorted(truth.unique().to_list()),
                average="macro",
                zero_division=0,
            )
        ),
        "no_category_share": float((predicted == NO_PREDICTION).mean()),
        "district_agreement": float(same_district.fill_null(False).mean())
        if known.height
        else None,
    }


def _suffixed(frame: pl.DataFrame, suffix: str) -> pl.DataFrame:
    return frame.select(
        rq.SERVICE_REQUEST_ID,
        *(pl.col(c).alias(c + suffix) for c in TRUTH_COLUMNS if c != rq.SERVICE_REQUEST_ID),
    )


def compare(truth: pl.DataFrame, published: pl.DataFrame, peer: pl.DataFrame) -> dict:
    """Scores on the ids both tools kept, and each tool's scores on everything it kept."""
    key = _suffixed(truth.unique(rq.SERVICE_REQUEST_ID, keep="last"), _TRUE)
    ours = key.join(_suffixed(published, _UP), on=rq.SERVICE_REQUEST_ID)
    theirs = key.join(_suffixed(peer, _PEER), on=rq.SERVICE_REQUEST_ID)
    both = ours.join(theirs.drop(c + _TRUE for c in TRUTH_COLUMNS[1:]), on=rq.SERVICE_REQUEST_ID)
    return {
        "common_rows": both.height,
        "urbanpulse": scores(both, _UP),
        "peer": scores(both, _PEER),
        "urbanpulse_all_kept": scores(ours, _UP),
        "peer_all_kept": scores(theirs, _PEER),
        "abstentions": abstention_split(both),
    }


def abstention_split(both: pl.DataFrame) -> dict:
    """Where an accuracy gap comes from: the rows UrbanPulse leaves without a category (texts
    with nothing to classify) versus the rows it does classify, each scored for both tools."""
    abstained = pl.col(rq.CATEGORY + _UP).is_null()

    def right(frame: pl.DataFrame, suffix: str) -> float | None:
        hit = frame[rq.CATEGORY + suffix] == frame[rq.CATEGORY + _TRUE]
        return float(hit.fill_null(False).mean()) if frame.height else None

    classified, left_open = both.filter(~abstained), both.filter(abstained)
    return {
        "classified_rows": classified.height,
        "classified_urbanpulse_accuracy": right(classified, _UP),
        "classified_peer_accuracy": right(classified, _PEER),
        "abstained_rows": left_open.height,
        "abstained_peer_accuracy": right(left_open, _PEER),
    }
