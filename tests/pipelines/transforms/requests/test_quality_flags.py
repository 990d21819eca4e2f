"""Quality flags built from one bit per flag: the same lists as one `when` per flag."""

from __future__ import annotations

import polars as pl

from pipelines.transforms.requests.quality_flags import with_quality_flags
from schemas import requests as rq


def _frame() -> pl.DataFrame:
    return pl.DataFrame({
        "a": [1, 5, None, 7, 0],
        "b": [True, False, True, None, False],
        rq.QUALITY_FLAGS: [[], ["decoded_by_guess"], [], [], ["x", "y"]],
    }, schema_overrides={rq.QUALITY_FLAGS: pl.List(pl.String)})


MARKS = [(pl.col("a") > 4, "big"), (pl.col("b"), "bee")]


def test_flags_are_appended_in_order_and_a_null_condition_adds_none() -> None:
    flags = with_quality_flags(_frame(), MARKS)[rq.QUALITY_FLAGS].to_list()
    assert flags == [["bee"], ["decoded_by_guess", "big"], ["bee"], ["big"], ["x", "y"]]


def test_without_keep_only_the_new_flags_remain() -> None:
    flags = with_quality_flags(_frame(), MARKS, keep=False)[rq.QUALITY_FLAGS].to_list()
    assert flags == [["bee"], ["big"], ["bee"], ["big"], []]


def test_a_batch_without_any_new_flag_keeps_its_lists_and_an_empty_batch_works() -> None:
    frame = _frame()
    none = [(pl.col("a") > 100, "huge")]
    assert with_quality_flags(frame, none)[rq.QUALITY_FLAGS].to_list() == frame[rq.QUALITY_FLAGS].to_list()
    assert with_quality_flags(frame.clear(), MARKS).height == 0
    empty_lists = frame.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias(rq.QUALITY_FLAGS))
    assert with_quality_flags(empty_lists, MARKS)[rq.QUALITY_FLAGS].to_list() == [["bee"], ["big"], ["bee"], ["big"], []]
