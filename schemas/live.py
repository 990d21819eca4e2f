"""Live aggregates: event-time windows x district x category, as the live store and feed serve them."""

from __future__ import annotations

from datetime import timedelta

# --- windows -----------------------------------------------------------------------------
WINDOW = "window"
WINDOW_START = "window_start"
WINDOW_END = "window_end"
QUARTER_HOUR = "15m"
DAY = "1d"
WINDOW_KINDS = (QUARTER_HOUR, DAY)  # 1d windows follow the city's local midnight
QUARTER_HOUR_LENGTH = timedelta(minutes=15)
DEFAULT_ALLOWED_LATENESS = timedelta(days=14)

# --- one window's figures ------------------------------------------------------------------
NEW = "new"  # requests made in the window
CLOSED = "closed"  # requests closed in the window
CLOSED_WITH_OUTCOME = "closed_with_outcome"  # of those, with a plausible close time (SLA known)
CLOSED_WITHIN_SLA = "closed_within_sla"
MEDIAN_HOURS_TO_CLOSE = "median_hours_to_close"
SHARE_WITHIN_SLA = "share_within_sla"
BACKLOG = "backlog"  # open at the window's end: all requests made minus all closed, up to then

# --- request events (what one accepted version adds to or takes from the windows) ---------
EVENT_KIND = "event_kind"  # NEW or CLOSED
EVENT_TIME = "event_time"
SIGN = "sign"  # +1 adds the version's contribution, -1 takes back the previous version's
VERSION_TIME = "version_time"

# Where nothing is known (no district, no category) the store and the feed say "" / null.
UNKNOWN_KEY = ""
