"""What every vote source delivers: one election's rules, projects and ballots, as text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.sources.encoding import TextEncoding


@dataclass(frozen=True)
class VoteFile:
    """One election's file as text: its rules (Pabulib META keys) as a dict, projects and
    ballots as frames of strings (every vote source delivers this)."""

    path: Path
    meta: dict[str, str]
    projects: pl.DataFrame
    ballots: pl.DataFrame  # VOTES columns + source_file, source_position, unreadable_record
    encoding: TextEncoding

    def ballot_batches(self, rows: int) -> Iterator[pl.DataFrame]:
        for start in range(0, self.ballots.height, rows):
            yield self.ballots.slice(start, rows)
