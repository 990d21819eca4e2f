"""Requests per 1,000 residents per district and local day."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from models.cross.rates import add_counts, district_day_counts, requests_per_1000

DISTRICTS = pl.DataFrame({"district_id": ["A", "B", "C"], "district_name": ["Alpha", "Beta", "Gamma"],
                          "population": [2_000.0, None, 0.0]})


def requests() -> pl.DataFrame:
    rows = [("A", date(2026, 10, 1))] * 3 + [("A", date(2026, 10, 3)), ("B", date(2026, 10, 1)),
                                             ("X", date(2026, 10, 2)), (None, date(2026, 10, 2))]
    return pl.DataFrame(rows, schema={"district_id": pl.String, "date": pl.Date}, orient="row")


def test_rates_are_counts_per_1000_residents_with_every_day() -> None:
    rates = requests_per_1000(requests(), DISTRICTS)
    row = {(r["district_id"], r["date"]): r for r in rates.iter_rows(named=True)}
    assert row[("A", date(2026, 10, 1))]["requests_per_1000"] == pytest.approx(3 / 2_000 * 1000)
    assert row[("A", date(2026, 10, 2))]["requests"] == 0
    assert row[("A", date(2026, 10, 2))]["requests_per_1000"] == 0.0
    assert row[("A", date(2026, 10, 1))]["district_name"] == "Alpha"
    assert row[("B", date(2026, 10, 1))]["requests_per_1000"] is None  # population unknown
    assert row[("C", date(2026, 10, 3))]["requests_per_1000"] is None  # population 0
    assert row[("X", date(2026, 10, 2))]["population"] is None
    assert row[(None, date(2026, 10, 2))]["requests"] == 1
    assert rates["requests"].sum() == requests().height
    assert rates.height == 3 * 3 + 2


def test_counts_of_batches_add_up_to_the_whole() -> None:
    whole = requests()
    parts = [district_day_counts(whole.slice(0, 4)), district_day_counts(whole.slice(4))]
    combined = add_counts(parts).sort("district_id", "date", nulls_last=True)
    assert combined.equals(district_day_counts(whole).sort("district_id", "date", nulls_last=True))


def test_no_requests_give_no_rows() -> None:
    empty = pl.DataFrame(schema={"district_id": pl.String, "date": pl.Date})
    assert requests_per_1000(empty, DISTRICTS).is_empty()
