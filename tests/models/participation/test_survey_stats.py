"""Survey statistics against known values: Wilson intervals, instant runoff, raking."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.participation.survey_stats import (
    BALLOTS,
    ELECTED,
    ELIMINATED,
    OPTION,
    ROUND,
    STATUS,
    VOTES,
    instant_runoff,
    post_stratification_weights,
    wilson_interval,
)


def test_wilson_known_values() -> None:
    low, high = wilson_interval([8, 0, 10, 50], [10, 10, 10, 100])
    assert low[0] == pytest.approx(0.490, abs=5e-4) and high[0] == pytest.approx(0.943, abs=5e-4)
    assert low[1] == 0.0 and high[1] == pytest.approx(0.2775, abs=5e-4)  # nothing seen: still not a point
    assert high[2] == 1.0 and low[2] == pytest.approx(0.7225, abs=5e-4)
    assert (low[3], high[3]) == pytest.approx((0.4038, 0.5962), abs=5e-4)


def test_wilson_is_vectorised_and_empty_cells_are_nan() -> None:
    successes = np.random.default_rng(0).integers(0, 50, 100_000)
    low, high = wilson_interval(successes, 50)
    assert low.shape == (100_000,) and np.all((low <= successes / 50) & (successes / 50 <= high))
    low, high = wilson_interval([0], [0])
    assert np.isnan(low[0]) and np.isnan(high[0])


# The Tennessee capital example: Memphis leads on first preferences (42%) but loses the runoff.
TENNESSEE = ([["Memphis", "Nashville", "Chattanooga", "Knoxville"]] * 42
             + [["Nashville", "Chattanooga", "Knoxville", "Memphis"]] * 26
             + [["Chattanooga", "Knoxville", "Nashville", "Memphis"]] * 15
             + [["Knoxville", "Chattanooga", "Nashville", "Memphis"]] * 17)


def test_instant_runoff_where_the_plurality_winner_loses() -> None:
    result = instant_runoff(TENNESSEE)
    rounds = result.rounds
    first = rounds.filter(pl.col(ROUND) == 1)
    assert first.sort(VOTES, descending=True)[OPTION][0] == "Memphis"
    assert result.winner == "Knoxville"
    eliminated = rounds.filter(pl.col(STATUS) == ELIMINATED).sort(ROUND)[OPTION].to_list()
    assert eliminated == ["Chattanooga", "Nashville"]
    last = rounds.filter(pl.col(ROUND) == 3)
    assert dict(zip(last[OPTION], last[VOTES], strict=True)) == {"Knoxville": 58.0, "Memphis": 42.0}
    assert last.filter(pl.col(STATUS) == ELECTED)[OPTION].to_list() == ["Knoxville"]


def test_instant_runoff_weights_equal_repeated_rankings() -> None:
    distinct = [r[0] for r in (TENNESSEE[0:1], TENNESSEE[42:43], TENNESSEE[68:69], TENNESSEE[83:84])]
    weighted = instant_runoff(distinct, weights=[42, 26, 15, 17])
    assert weighted.winner == "Knoxville" and weighted.rounds.equals(instant_runoff(TENNESSEE).rounds)


def test_instant_runoff_ties_and_exhausted_rankings() -> None:
    # b and c tie on votes and on first preferences: c sorts last and goes first
    result = instant_runoff([["a"]] * 3 + [["b", "a"]] * 2 + [["c"]] * 2)
    first = result.rounds.filter(pl.col(ROUND) == 1)
    assert first.filter(pl.col(STATUS) == ELIMINATED)[OPTION].to_list() == ["c"]
    second = result.rounds.filter(pl.col(ROUND) == 2)
    assert second[BALLOTS][0] == 5  # c's rankings are exhausted
    assert result.winner == "a"
    # round 2: b and c tie on 3 votes; b had fewer first preferences (2 against 3) and goes,
    # although c sorts last
    tied = instant_runoff([["a"]] * 6 + [["c"]] * 3 + [["b", "c"]] * 2 + [["d", "b"]] * 1)
    assert tied.rounds.filter(pl.col(STATUS) == ELIMINATED).sort(ROUND)[OPTION].to_list() == ["d", "b"]
    assert tied.winner == "a"
    assert instant_runoff([]).winner is None


def test_instant_runoff_a_million_rankings_is_fast() -> None:
    import time

    rng = np.random.default_rng(1)
    options = np.array(["a", "b", "c", "d", "e"])
    picks = np.argsort(rng.random((1_000_000, 5)) + np.linspace(0, 0.3, 5), axis=1)[:, :3]
    columns = {f"c{k}": options[picks[:, k]] for k in range(3)}
    rankings = pl.DataFrame(columns).select(pl.concat_list(pl.all()).alias("r"))["r"]
    started = time.perf_counter()
    result = instant_runoff(rankings)
    assert time.perf_counter() - started < 2 and result.winner in options


SAMPLE = pl.DataFrame({"age_band": ["18-24", "18-24", "65-74", "65-74", None],
                       "sex": ["M", "F", "M", "F", "F"], "n": [10, 30, 20, 40, 5]})


def weighted_totals(weights: pl.DataFrame, by: str) -> dict[str, float]:
    known = weights.drop_nulls("age_band").with_columns((pl.col("n") * pl.col("weight")).alias("w"))
    return dict(known.group_by(by).agg(pl.col("w").sum()).iter_rows())


def test_raking_converges_to_the_margins() -> None:
    margins = pl.DataFrame({"age_band": ["18-24", "65-74", None, None], "sex": [None, None, "M", "F"],
                            "population": [700.0, 300.0, 480.0, 520.0]})
    fitted = post_stratification_weights(SAMPLE, margins)
    assert fitted.converged and fitted.iterations > 1 and set(fitted.margins) == {("age_band",), ("sex",)}
    assert weighted_totals(fitted.cells, "age_band") == pytest.approx({"18-24": 70.0, "65-74": 30.0})
    assert weighted_totals(fitted.cells, "sex") == pytest.approx({"M": 48.0, "F": 52.0})
    assert fitted.cells.filter(pl.col("age_band").is_null())["weight"].to_list() == [1.0]  # unknown age


def test_full_cells_are_post_stratification_in_one_sweep() -> None:
    cells = pl.DataFrame({"age_band": ["18-24", "18-24", "65-74", "65-74"], "sex": ["M", "F", "M", "F"],
                          "population": [25.0, 25.0, 25.0, 25.0]})
    fitted = post_stratification_weights(SAMPLE, cells)
    assert fitted.converged and fitted.iterations == 1 and fitted.margins == (("age_band", "sex"),)
    assert fitted.cells["weight"].to_list() == pytest.approx([2.5, 25 / 30, 1.25, 0.625, 1.0])


def test_population_categories_the_sample_lacks_are_renormalised_away() -> None:
    cells = pl.DataFrame({"age_band": ["18-24", "65-74", "75+"], "sex": [None, None, None],
                          "population": [50.0, 50.0, 100.0]})
    fitted = post_stratification_weights(SAMPLE, cells)
    assert weighted_totals(fitted.cells, "age_band") == pytest.approx({"18-24": 50.0, "65-74": 50.0})
