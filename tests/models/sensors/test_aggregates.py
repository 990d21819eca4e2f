"""Aggregates against independent pandas recounts, DST days, mda8 and standards."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import polars as pl
from samples import sample_file

from models.sensors.aggregates import daily, hourly, monthly
from models.sensors.thresholds import band, exceedance_days_per_year, exceedances

BEIJING = ("sensors", "PRSA_Data_Aotizhongxin_20130301-20170228.csv")
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def obs(values, parameter="pm25", start=T0, flags=None) -> pl.DataFrame:
    n = len(values)
    return pl.DataFrame({"station_id": ["s1"] * n, "parameter": [parameter] * n,
                         "value": [None if v is None else float(v) for v in values],
                         "period_start": [start + timedelta(hours=i) for i in range(n)],
                         "qc_flags": flags or [[]] * n}).drop_nulls("value")


def test_beijing_daily_pm25_matches_pandas() -> None:
    path = sample_file(*BEIJING)
    raw = pl.read_csv(path, null_values="NA", infer_schema_length=None)
    local = pl.datetime("year", "month", "day", "hour").dt.replace_time_zone("Asia/Shanghai")
    observations = raw.select(
        pl.lit("aotizhongxin").alias("station_id"), pl.lit("pm25").alias("parameter"),
        pl.col("PM2.5").cast(pl.Float64).alias("value"),
        local.dt.convert_time_zone("UTC").alias("period_start")).drop_nulls("value")
    got = daily(observations, "Asia/Shanghai").sort("date")
    df = pd.read_csv(path)
    df["date"] = pd.to_datetime(df[["year", "month", "day"]]).dt.date
    grouped = df.groupby("date")["PM2.5"]
    want = grouped.agg(["mean", "count"]).reset_index()
    want = want.assign(valid=want["count"] / 24 >= 0.75)
    want = want[want["count"] > 0].reset_index(drop=True)  # days with no value at all
    got = got.filter(pl.col("count") > 0)
    assert got["date"].to_list() == list(want["date"])
    np.testing.assert_allclose(got["mean"].to_numpy(), want["mean"].to_numpy(), rtol=1e-9)
    assert got["count"].to_list() == want["count"].tolist()
    assert got["valid"].to_list() == want["valid"].tolist()
    assert set(got["expected_count"].to_list()) == {24}


def test_quantiles_match_pandas() -> None:
    values = np.random.default_rng(1).gamma(2.0, 10.0, 24 * 5)
    got = daily(obs(values), "UTC")
    days = pd.Series(values).groupby(np.arange(values.size) // 24)
    for column, q in (("p50", 0.5), ("p98", 0.98)):
        np.testing.assert_allclose(got[column].to_numpy(), days.quantile(q).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(got["min"].to_numpy(), days.min().to_numpy())


def test_excluded_values_count_as_missing() -> None:
    flags = [["spike"]] * 7 + [["dst_ambiguous"]] + [[]] * 16
    got = daily(obs(range(24), flags=flags), "UTC").row(0, named=True)
    assert got["count"] == 17 and got["expected_count"] == 24 and got["valid"] is False
    assert got["mean"] == np.mean(range(7, 24))


def test_dst_days_have_23_and_25_hours() -> None:
    start = datetime(2024, 3, 29, 23, tzinfo=timezone.utc)  # local midnight, Europe/Madrid
    got = daily(obs([1.0] * (24 * 215), start=start), "Europe/Madrid")
    expected = dict(zip(got["date"].to_list(), got["expected_count"].to_list()))
    assert expected[date(2024, 3, 31)] == 23 and expected[date(2024, 10, 27)] == 25
    assert expected[date(2024, 3, 30)] == 24
    full = got.filter(pl.col("date").is_in([date(2024, 3, 31), date(2024, 10, 27)]))
    assert full["count"].to_list() == [23, 25] and full["coverage"].to_list() == [1.0, 1.0]
    month = monthly(obs([1.0] * (24 * 215), start=start), "Europe/Madrid")
    assert month.filter(pl.col("month") == date(2024, 10, 1))["expected_count"].item() == 745


def test_sub_hourly_data_expect_six_per_hour() -> None:
    n = 6 * 24
    frame = pl.DataFrame({"station_id": ["s1"] * n, "parameter": ["no2"] * n,
                          "value": [float(i % 6) for i in range(n)],
                          "period_start": [T0 + timedelta(minutes=10 * i) for i in range(n)]})
    hours = hourly(frame.filter(pl.int_range(pl.len()) % 6 != 5), "UTC")
    assert hours["expected_count"].unique().to_list() == [6]
    assert hours["count"].unique().to_list() == [5] and hours["valid"].all()
    assert daily(frame, "UTC")["count"].item() == 24


def test_mda8_known_answer_and_rules() -> None:
    # two days of o3 in UTC; day 2 has 10 at all hours except 8 at 100 (hours 10..17)
    day1 = [10.0] * 24
    day2 = [10.0] * 10 + [100.0] * 8 + [10.0] * 6
    got = daily(obs(day1 + day2, parameter="o3"), "UTC").sort("date")
    assert got["mda8"].to_list() == [10.0, 100.0]
    # a missing hour in the peak window: 7 of 8 hours still valid, mean of the 7
    holes = day1 + [10.0] * 10 + [100.0] * 7 + [None] + [10.0] * 6
    assert daily(obs(holes, parameter="o3"), "UTC")["mda8"].to_list()[1] == 100.0
    # the first window of a day starts 17:00 the day before: only 16 hours -> too few windows
    short = [None] * 24 + [50.0] * 16 + [None] * 8
    assert daily(obs(short, parameter="o3"), "UTC")["mda8"].to_list() == [None]
    seventeen = [50.0] * 24 + [50.0] * 10 + [None] * 14  # windows ending 01..17: 17 valid
    assert daily(obs(seventeen, parameter="o3"), "UTC")["mda8"].to_list() == [50.0, None]


def test_exceedances_and_days_per_year() -> None:
    values = [30.0] * 24 + [60.0] * 24 + [10.0] * 24 + [80.0] * 24 + [60.0] * 10
    days = daily(obs(values, parameter="pm10"), "UTC")
    rows = exceedances(days)
    eu = rows.filter(pl.col("standard") == "EU 2008/50/EC")
    assert eu["date"].to_list() == [date(2024, 1, 2), date(2024, 1, 4)]
    assert eu["value"].to_list() == [60.0, 80.0] and eu["threshold"].to_list() == [50.0, 50.0]
    per_year = exceedance_days_per_year(days).filter(pl.col("averaging") == "day")
    who = per_year.filter(pl.col("standard") == "WHO 2021").row(0, named=True)
    assert who["days"] == 2 and who["allowed"] == 3 and who["breached"] is False
    hours = hourly(obs([250.0] * 20 + [100.0] * 4, parameter="no2"), "UTC")
    no2 = exceedance_days_per_year(daily(obs([250.0] * 20 + [100.0] * 4, parameter="no2"),
                                         "UTC"), hours).filter(pl.col("averaging") == "hour")
    assert no2["exceedances"].to_list() == [20] and no2["breached"].to_list() == [True]
    assert no2["days"].to_list() == [1]


def test_eaqi_bands() -> None:
    frame = pl.DataFrame({"parameter": ["pm25", "pm25", "pm25", "pm10", "pm10", "no2"],
                          "mean": [9.9, 10.0, 900.0, 45.0, 120.0, 50.0]})
    assert band(frame)["band"].to_list() == ["good", "fair", "extremely poor", "moderate",
                                             "very poor", None]
