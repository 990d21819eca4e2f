"""Commits written straight into a live store (no stream), for tests of the store and the feed."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from plumbing.landing import segment_ref
from plumbing.live_store.writer import Commit, SegmentLedger
from schemas import dead_letters as dl
from schemas import live as lv

START = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp() * 1_000_000)


def dead_letter(position: int, payload: str, seq: int = 1,
                failed_at: datetime = datetime(2026, 12, 1, 8, tzinfo=UTC)) -> dict:
    return {dl.SOURCE: "city311", dl.SOURCE_FILE: segment_ref("city311", seq), dl.SOURCE_POSITION: position,
            dl.STAGE: "validate", dl.REASON: "missing_id", dl.DETAIL: "no id", dl.RAW_PAYLOAD: payload,
            dl.FAILED_AT: failed_at}


def window_commit(seq: int, windows: dict | None = None, dead: list[dict] = (),
                  landed_at: datetime = datetime(2026, 12, 1, 9, tzinfo=UTC), states=None) -> Commit:
    frame = (pl.DataFrame(list(dead)).with_columns(pl.col(dl.FAILED_AT).dt.cast_time_unit("us"))
             if dead else pl.DataFrame(schema=dict.fromkeys(lv.DEAD_LETTERS_TABLE.columns, pl.String)))
    reader = lv.WINDOWS_READER if windows is not None else lv.DEAD_LETTERS_READER
    segment = SegmentLedger("city311", seq, landed_at, 3, records_out=3 - len(dead), invalid=len(dead))
    return Commit(reader, segment, frame, states=states, windows=windows, hours=[])
