"""The generated demo feed both synthetic-request test files grade, and helpers to read it.

Kept out of a `conftest.py` on purpose (test folders have no `__init__.py`, so a second
`conftest` would shadow `tests/conftest.py`); each test module builds its own `DemoFeed` once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import polars as pl

from models.cities.pack import CityPack
from synthetic.demo_city import build_demo_city
from synthetic.requests.generator import generate_requests

COUNT = 20_000
SEED = 3
ISO_Z = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


def true(column: str) -> str:
    """Name of a truth column once joined beside the records (see `DemoFeed.both`)."""
    return f"true_{column}"


def utc(column: str) -> pl.Expr:
    return pl.col(column).str.to_datetime("%Y-%m-%dT%H:%M:%SZ", strict=False, time_zone="UTC")


@dataclass
class DemoFeed:
    """COUNT requests of the demo city (seed SEED) and the generator's answer key for them."""

    pack: CityPack
    records: pl.DataFrame
    truth: pl.DataFrame

    @classmethod
    def build(cls, folder: Path) -> DemoFeed:
        pack = build_demo_city(folder / "demo")
        records, truth = generate_requests(pack, COUNT, seed=SEED)
        return cls(pack, records, truth)

    @cached_property
    def both(self) -> pl.DataFrame:
        """Records with the truth alongside (truth columns prefixed with `true_`)."""
        return pl.concat([self.records, self.truth.rename(true)], how="horizontal")
