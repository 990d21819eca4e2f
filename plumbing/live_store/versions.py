"""What an arriving request version changes in the windows, as signed events.

The live store (and, on a streaming runner, `RequestChanges` keyed by request id) keeps the
latest accepted version of every request. A version is accepted when its version key
(version time, landing segment, row) is at least the kept one's, so replaying a segment again
is a no-op and an older re-send never overwrites a newer status. Accepting a version that
changes what a request contributes to the windows emits -1 events for the kept version and +1
events for the new one: a request closed on day 6 adds one `closed` to day 6's windows without
counting its `new` twice, and a re-categorised request moves between categories.
"""

from __future__ import annotations

import polars as pl

from schemas import live as lv
from schemas import requests as rq

VERSION_KEY = (lv.VERSION_TIME, rq.SOURCE_FILE, rq.SOURCE_POSITION)
CONTRIBUTION = (
    rq.REQUESTED_DATETIME, rq.CLOSED_DATETIME, rq.DISTRICT_ID, rq.CATEGORY,
    rq.HOURS_TO_CLOSE, rq.CLOSED_WITHIN_SLA,
)
STATE_COLUMNS = (rq.SERVICE_REQUEST_ID, *VERSION_KEY, *CONTRIBUTION)
HORIZON = "_horizon"  # landed_at - allowed lateness, per incoming version
EVENT_COLUMNS = (
    rq.SERVICE_REQUEST_ID, lv.EVENT_TIME, lv.WINDOW, lv.WINDOW_START, rq.DISTRICT_ID, rq.CATEGORY, lv.EVENT_KIND, lv.SIGN,
    rq.HOURS_TO_CLOSE, rq.CLOSED_WITHIN_SLA,
)
_PREVIOUS = "_previous"


def version_time() -> pl.Expr:
    """The time a version speaks for: its update, else its close, else its request time."""
    return pl.coalesce(rq.UPDATED_DATETIME, rq.CLOSED_DATETIME, rq.REQUESTED_DATETIME)


def request_states(enriched: pl.DataFrame) -> pl.DataFrame:
    """The latest version of each request in `enriched`, reduced to what the windows need."""
    states = enriched.with_columns(version_time().alias(lv.VERSION_TIME)).select(STATE_COLUMNS)
    states = states.with_columns(
        pl.col(rq.DISTRICT_ID).fill_null(lv.UNKNOWN_KEY), pl.col(rq.CATEGORY).fill_null(lv.UNKNOWN_KEY)
    )
    return states.sort([rq.SERVICE_REQUEST_ID, *VERSION_KEY]).unique(
        rq.SERVICE_REQUEST_ID, keep="last", maintain_order=True
    )


def empty_states() -> pl.DataFrame:
    return request_states(pl.DataFrame(schema={
        **{c: pl.String for c in (rq.SERVICE_REQUEST_ID, rq.SOURCE_FILE, rq.DISTRICT_ID, rq.CATEGORY)},
        **{c: pl.Datetime("us", "UTC") for c in (rq.REQUESTED_DATETIME, rq.UPDATED_DATETIME, rq.CLOSED_DATETIME)},
        rq.SOURCE_POSITION: pl.Int64, rq.HOURS_TO_CLOSE: pl.Float64, rq.CLOSED_WITHIN_SLA: pl.Boolean,
    }))


def _previous(column: str) -> str:
    return f"{column}{_PREVIOUS}"


def _at_least_previous() -> pl.Expr:
    """Lexicographic version key comparison: new >= previous."""
    new_t, old_t = pl.col(lv.VERSION_TIME), pl.col(_previous(lv.VERSION_TIME))
    new_f, old_f = pl.col(rq.SOURCE_FILE), pl.col(_previous(rq.SOURCE_FILE))
    new_p, old_p = pl.col(rq.SOURCE_POSITION), pl.col(_previous(rq.SOURCE_POSITION))
    return (new_t > old_t) | ((new_t == old_t) & ((new_f > old_f) | ((new_f == old_f) & (new_p >= old_p))))


def request_changes(
    previous: pl.DataFrame, incoming: pl.DataFrame, timezone: str
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """(signed window events, accepted states, ids refused as too late).

    `incoming` has one row per id (`request_states`) plus `HORIZON`; `previous` holds the kept
    state of (at least) those ids. Accepted states replace the kept ones.
    """
    joined = incoming.join(
        previous.select(STATE_COLUMNS), on=rq.SERVICE_REQUEST_ID, how="left", suffix=_PREVIOUS
    )
    known = pl.col(_previous(lv.VERSION_TIME)).is_not_null()
    accepted = joined.filter(~known | _at_least_previous())
    differs = pl.any_horizontal([pl.col(c).ne_missing(pl.col(_previous(c))) for c in CONTRIBUTION])
    changed = accepted.filter(~known | differs)
    taken_back = changed.filter(known).select(
        rq.SERVICE_REQUEST_ID, *(pl.col(_previous(c)).alias(c) for c in CONTRIBUTION)
    )
    events = net_events(pl.concat([
        contribution_events(taken_back, -1, timezone),
        contribution_events(changed.select(rq.SERVICE_REQUEST_ID, *CONTRIBUTION), 1, timezone),
    ]))
    horizons = changed.select(rq.SERVICE_REQUEST_ID, HORIZON)
    too_late = (
        events.join(horizons, on=rq.SERVICE_REQUEST_ID)
        .filter(pl.col(lv.EVENT_TIME) < pl.col(HORIZON))[rq.SERVICE_REQUEST_ID].unique()
    )
    refused = pl.col(rq.SERVICE_REQUEST_ID).is_in(too_late.implode())
    return (
        events.filter(~refused),
        accepted.filter(~refused).select(STATE_COLUMNS),
        too_late,
    )


def net_events(events: pl.DataFrame) -> pl.DataFrame:
    """Drop a take-back and an add that cancel (a close leaves the request's `new` where it was)."""
    same = [c for c in EVENT_COLUMNS if c != lv.SIGN]
    netted = events.group_by(same, maintain_order=True).agg(pl.col(lv.SIGN).sum())
    return netted.filter(pl.col(lv.SIGN) != 0).with_columns(pl.col(lv.SIGN).cast(pl.Int8)).select(EVENT_COLUMNS)


def window_start(time: pl.Expr, window: str, timezone: str) -> pl.Expr:
    """Start of the window holding `time`: quarter hours in UTC, days at the city's midnight."""
    if window == lv.QUARTER_HOUR:
        return time.dt.truncate("15m")
    return time.dt.convert_time_zone(timezone).dt.truncate("1d").dt.convert_time_zone("UTC")


def contribution_events(states: pl.DataFrame, sign: int, timezone: str) -> pl.DataFrame:
    """Events of each state: `new` at its request time, `closed` at its close time (if any)."""
    made = states.select(
        rq.SERVICE_REQUEST_ID, pl.col(rq.REQUESTED_DATETIME).alias(lv.EVENT_TIME), rq.DISTRICT_ID, rq.CATEGORY,
        pl.lit(lv.NEW).alias(lv.EVENT_KIND),
        pl.lit(None, pl.Float64).alias(rq.HOURS_TO_CLOSE), pl.lit(None, pl.Boolean).alias(rq.CLOSED_WITHIN_SLA),
    )
    # a close stamped before the request (a source's data error) counts when the request was made,
    # so no window's backlog (made minus closed up to its end) ever goes below zero
    closed_at = pl.max_horizontal(rq.CLOSED_DATETIME, rq.REQUESTED_DATETIME)
    closed = states.filter(pl.col(rq.CLOSED_DATETIME).is_not_null()).select(
        rq.SERVICE_REQUEST_ID, closed_at.alias(lv.EVENT_TIME), rq.DISTRICT_ID, rq.CATEGORY,
        pl.lit(lv.CLOSED).alias(lv.EVENT_KIND), rq.HOURS_TO_CLOSE, rq.CLOSED_WITHIN_SLA,
    )
    events = pl.concat([made, closed])
    return pl.concat([
        events.with_columns(
            pl.lit(window).alias(lv.WINDOW),
            window_start(pl.col(lv.EVENT_TIME), window, timezone).alias(lv.WINDOW_START),
            pl.lit(sign, pl.Int8).alias(lv.SIGN),
        ).select(EVENT_COLUMNS)
        for window in lv.WINDOW_KINDS
    ])
