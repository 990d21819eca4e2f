"""QC flags: every flag caught on planted faults, a clean series untouched, row order kept."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl

from models.sensors.quality import DEFAULT_RULES, QcRules, flag
from schemas.sensors import PARAMETERS, QcFlag

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def series(values, parameter="pm25", **extra) -> pl.DataFrame:
    n = len(values)
    return pl.DataFrame({"station_id": ["s1"] * n, "parameter": [parameter] * n,
                         "value": [float(v) for v in values],
                         "period_start": [T0 + timedelta(hours=i) for i in range(n)], **extra})


def flags_of(frame: pl.DataFrame) -> list[list[str]]:
    return flag(frame)["qc_flags"].to_list()


def test_every_parameter_has_a_default_rule() -> None:
    assert set(DEFAULT_RULES) == set(PARAMETERS)


def test_clean_series_has_no_flags() -> None:
    assert flags_of(series([10, 12, 11, 13, 15, 14, 12, 10])) == [[]] * 8


def test_out_of_range_and_negative() -> None:
    got = flags_of(series([10, 1500, 11, -3, 12]))
    assert QcFlag.OUT_OF_RANGE in got[1] and got[3] == [QcFlag.NEGATIVE]
    assert got[0] == got[2] == got[4] == []
    assert flags_of(series([-5.0, -4.0, -6.0], parameter="temperature")) == [[]] * 3


def test_spike_needs_both_neighbours() -> None:
    got = flags_of(series([10, 12, 400, 11, 10, 300]))
    assert got[2] == [QcFlag.SPIKE] and got[5] == []  # the last value has one neighbour only
    assert flags_of(series([10, 20, 250, 260, 250])) == [[]] * 5  # a step, not a spike


def test_flatline_flags_the_whole_run() -> None:
    values = [5, 6] + [7] * 12 + [8]
    got = flags_of(series(values))
    assert got[2:14] == [[QcFlag.FLATLINE]] * 12 and got[:2] == [[], []] and got[14] == []
    assert flags_of(series([5, 6] + [7] * 11 + [8])) == [[]] * 14  # 11 hours is not enough


def test_flatline_exempt_zero_rain_and_optional() -> None:
    assert flags_of(series([0.0] * 30, parameter="rain")) == [[]] * 30
    assert flags_of(series([0.2] * 30, parameter="rain")) == [[QcFlag.FLATLINE]] * 30
    no_flat = {"pm25": QcRules(0, 1000, spike=200)}
    assert flag(series([7] * 20), no_flat)["qc_flags"].to_list() == [[]] * 20


def test_source_invalid_bool_and_text() -> None:
    got = flags_of(series([10, 11, 12], source_valid=[True, False, None]))
    assert got == [[], [QcFlag.SOURCE_INVALID], []]
    got = flags_of(series([10, 11, 12], source_valid=["V", "N", "false"]))
    assert got == [[], [QcFlag.SOURCE_INVALID], [QcFlag.SOURCE_INVALID]]


def test_duplicates_keep_the_last_by_position_and_order() -> None:
    base = series([10, 11, 12])
    frame = pl.concat([base.tail(1), base, base.head(1).with_columns(value=pl.lit(99.0))])
    got = flag(frame)
    assert got["value"].to_list() == frame["value"].to_list()  # row order unchanged
    assert got["qc_flags"].to_list() == [[QcFlag.DUPLICATE], [QcFlag.DUPLICATE], [], [], []]


def test_existing_flags_are_kept() -> None:
    frame = series([10, 11], qc_flags=[[QcFlag.DST_AMBIGUOUS], []])
    assert flags_of(frame) == [[QcFlag.DST_AMBIGUOUS], []]


def test_shuffled_input_gets_the_same_flags_in_its_own_order() -> None:
    values = [10, 12, 400, 11, 10, 1500, -3] + [7] * 12 + [8, 9]
    one = series(values, source_valid=[True] * 20 + [False])
    other = series([5, 6, 300, 6, 5], parameter="temperature").with_columns(
        station_id=pl.lit("s2"), source_valid=pl.lit(True))
    # no duplicates here: which of them is kept depends on the row order by design
    frame = pl.concat([one, other]).with_columns(
        qc_flags=pl.Series([[QcFlag.DST_AMBIGUOUS]] + [[]] * 25))
    expected = flag(frame)
    shuffled = frame.with_row_index("order").sample(fraction=1.0, shuffle=True, seed=7)
    got = flag(shuffled.drop("order"))
    assert got.drop("qc_flags").equals(shuffled.drop("order").drop("qc_flags"))  # order kept
    back = got.with_columns(shuffled["order"]).sort("order").drop("order")
    assert back.equals(expected)
    assert all(expected["qc_flags"].to_list()[i] for i in (0, 2, 5, 6, *range(7, 19), 20, 23))
