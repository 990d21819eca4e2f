"""Request versions -> signed window events, and the window accumulator they feed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from plumbing.live_store.figures import WindowStats, apply_deltas, window_deltas
from plumbing.live_store.versions import HORIZON, empty_states, request_changes, request_states
from schemas import live as lv
from schemas import requests as rq

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def versions(*rows: dict, landed: datetime = T0 + timedelta(days=1)) -> pl.DataFrame:
    frame = pl.DataFrame([{
        rq.SERVICE_REQUEST_ID: r["id"], rq.REQUESTED_DATETIME: r.get("requested", T0),
        rq.UPDATED_DATETIME: r.get("updated"), rq.CLOSED_DATETIME: r.get("closed"),
        rq.DISTRICT_ID: r.get("district", "D1"), rq.CATEGORY: r.get("category", "noise"),
        rq.SOURCE_FILE: f"landing:s:{r.get('seq', 0):012d}", rq.SOURCE_POSITION: r.get("position", 0),
        rq.HOURS_TO_CLOSE: r.get("hours"), rq.CLOSED_WITHIN_SLA: r.get("within"),
    } for r in rows], schema=empty_states().drop(lv.VERSION_TIME).schema | {rq.UPDATED_DATETIME: pl.Datetime("us", "UTC")})
    return request_states(frame).with_columns(pl.lit(landed - timedelta(days=14)).dt.cast_time_unit("us").alias(HORIZON))


def apply(state: pl.DataFrame, incoming: pl.DataFrame):
    events, accepted, late = request_changes(state, incoming, "UTC")
    kept = pl.concat([state.filter(~pl.col(rq.SERVICE_REQUEST_ID).is_in(accepted[rq.SERVICE_REQUEST_ID].implode())), accepted])
    return events, kept, late


def test_same_version_twice_changes_nothing():
    events, state, _ = apply(empty_states(), versions({"id": "a"}))
    assert events.filter(pl.col(lv.WINDOW) == lv.DAY)[lv.SIGN].to_list() == [1]
    again, _, _ = apply(state, versions({"id": "a"}))
    assert again.height == 0


def test_close_adds_closed_where_it_happened_and_keeps_new():
    _, state, _ = apply(empty_states(), versions({"id": "a"}))
    closed = T0 + timedelta(days=5)
    events, state, _ = apply(state, versions({"id": "a", "closed": closed, "updated": closed, "hours": 120.0,
                                              "within": True, "seq": 1}))
    day = events.filter(pl.col(lv.WINDOW) == lv.DAY)
    assert day.select(lv.EVENT_KIND, lv.WINDOW_START, lv.SIGN).rows() == [
        (lv.CLOSED, datetime(2026, 11, 7, tzinfo=UTC), 1)]


def test_a_close_stamped_before_the_request_never_makes_a_negative_backlog():
    """Regression (first-day report at f906a3d): window rows showed "backlog": -1."""
    closed = T0 - timedelta(days=3)  # the source's close time precedes its request time
    events, _, _ = apply(empty_states(), versions({"id": "a", "closed": closed, "updated": T0}))
    day = events.filter(pl.col(lv.WINDOW) == lv.DAY).sort(lv.EVENT_KIND)
    assert day.select(lv.EVENT_KIND, lv.WINDOW_START).rows() == [
        (lv.CLOSED, datetime(2026, 11, 2, tzinfo=UTC)), (lv.NEW, datetime(2026, 11, 2, tzinfo=UTC))]


def test_an_older_resend_never_overwrites_a_newer_status():
    closed = T0 + timedelta(hours=3)
    _, state, _ = apply(empty_states(), versions({"id": "a", "closed": closed, "updated": closed, "hours": 3.0, "seq": 2}))
    events, after, _ = apply(state, versions({"id": "a", "updated": T0 + timedelta(hours=1), "seq": 3}))
    assert events.height == 0 and after[rq.CLOSED_DATETIME].to_list() == [closed]


def test_recategorised_request_moves_between_categories():
    _, state, _ = apply(empty_states(), versions({"id": "a", "category": "noise"}))
    events, _, _ = apply(state, versions({"id": "a", "category": "road_damage", "updated": T0 + timedelta(hours=1), "seq": 1}))
    day = events.filter(pl.col(lv.WINDOW) == lv.DAY)
    assert sorted(day.select(rq.CATEGORY, lv.SIGN).rows()) == [("noise", -1), ("road_damage", 1)]


def test_a_version_reaching_beyond_the_lateness_is_refused_whole():
    landed = T0 + timedelta(days=20)
    events, state, late = apply(empty_states(), versions(
        {"id": "old", "closed": landed, "updated": landed, "hours": 480.0}, {"id": "fresh", "requested": landed},
        landed=landed))
    assert late.to_list() == ["old"]
    assert set(state[rq.SERVICE_REQUEST_ID]) == {"fresh"} and set(events[rq.SERVICE_REQUEST_ID]) == {"fresh"}


def test_window_figures_do_not_depend_on_the_order_of_events():
    rng = np.random.default_rng(0)
    hours = rng.exponential(30, 40).round(2)
    parts = [WindowStats().add(1, 1, int(h < 24), [h], []) for h in hours]
    parts.append(WindowStats().add(0, -1, 0, [], [hours[0]]))  # a take-back arriving on its own
    reference = WindowStats()
    for part in parts:
        reference.merge(part)
    for order in itertools.islice(itertools.permutations(range(len(parts))), 0, 200, 37):
        merged = WindowStats()
        for i in order:
            merged.merge(WindowStats(parts[i].new, parts[i].closed, parts[i].within_sla, parts[i].hours, parts[i].pending))
        assert merged.figures() == reference.figures()
    assert reference.figures()[lv.MEDIAN_HOURS_TO_CLOSE] == pytest.approx(float(np.median(hours[1:])))
    assert reference.figures()[lv.CLOSED] == len(hours) - 1


def test_deltas_apply_to_the_right_windows():
    events, _, _ = apply(empty_states(), versions({"id": "a"}, {"id": "b", "district": "D2"}))
    stats: dict = {}
    touched = apply_deltas(stats, window_deltas(events))
    assert len(touched) == 4  # two districts x (15m, 1d)
    assert all(s.figures()[lv.NEW] == 1 for s in stats.values())
