"""Land generated (or any) request records into a landing log at a steady rate.

What the demo and the live benchmark use to play a city's feed: every `tick` seconds one segment
of `rate * tick` records is published, on a fixed schedule (a slow tick does not shift the
next ones), until the records run out or `stop` is set.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow as pa

from models.cities.pack import CityPack
from plumbing.landing import LandingLog
from schemas import requests as rq
from synthetic.requests.generator import generate_requests


def recent_requests(pack: CityPack, count: int, seed: int, days: int = 4, first_id: int = 1) -> pl.DataFrame:
    """Generated requests of the last `days` days, in the order their versions happened; ids
    from `first_id` on (`generate_requests`), so they can follow a feed generated before."""
    start = datetime.now(UTC) - timedelta(days=days)
    records, _ = generate_requests(pack, count, seed, start=start, days=days, first_id=first_id)
    return records.sort(pl.coalesce(rq.UPDATED_DATETIME, rq.REQUESTED_DATETIME), nulls_last=True)


def raw_records(records: pl.DataFrame, source: str, origin: str) -> pa.Table:
    """Open311 text columns -> raw request rows (`RAW_REQUEST`), as an adapter would give them."""
    raw = records.select(
        *(pl.col(c).cast(pl.String) if c in records.columns else pl.lit(None, pl.String).alias(c)
          for c in rq.OPEN311_FIELDS),
        pl.lit(source).alias(rq.SOURCE), pl.lit(origin).alias(rq.SOURCE_FILE),
        pl.int_range(pl.len(), dtype=pl.Int64).alias(rq.SOURCE_POSITION),
        pl.lit(None, pl.String).alias(rq.UNREADABLE_RECORD),
        pl.lit(None, pl.String).alias(rq.GUESSED_ENCODING),
    )
    return raw.to_arrow().cast(rq.RAW_REQUEST)


@dataclass
class LandingRun:
    segments: list[tuple[int, datetime, int]] = field(default_factory=list)  # (seq, landed at, rows)
    late_ticks: int = 0  # ticks that started after their slot (the producer could not keep up)

    @property
    def records(self) -> int:
        return sum(rows for _, _, rows in self.segments)


def land_at_rate(log: LandingLog, records: pa.Table, rate: float, tick: float = 0.2,
                 stop: threading.Event | None = None,
                 on_segment: Callable[[int, datetime, int], None] | None = None) -> LandingRun:
    per_tick = max(1, round(rate * tick))
    run = LandingRun()
    started = time.monotonic()
    for number, offset in enumerate(range(0, records.num_rows, per_tick)):
        slot = started + number * tick
        wait = slot - time.monotonic()
        if wait > 0:
            if stop is not None and stop.wait(wait):
                break
            if stop is None:
                time.sleep(wait)
        else:
            run.late_ticks += 1
        if stop is not None and stop.is_set():
            break
        chunk = records.slice(offset, per_tick)
        (seq,) = log.append(chunk, origin=f"steady-{rate:g}-per-second")
        landed_at = log.landed_at(seq)
        run.segments.append((seq, landed_at, chunk.num_rows))
        if on_segment:
            on_segment(seq, landed_at, chunk.num_rows)
    return run
