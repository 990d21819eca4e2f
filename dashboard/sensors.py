"""`/api/v1/sensors/...`: the city's live sensor figures as the stream of sensors commits them.

    GET /api/v1/sensors/stations
    GET /api/v1/sensors/{station}/hourly?parameter=pm25&hours=48
    GET /api/v1/sensors/alerts?since=2026-03-01T00:00:00Z&limit=500

`stations`: every station (id, name, coordinates, district where a stations file gave them) with
its latest reading per parameter (value, unit, period, QC flags, and the EEA band for pm25 and
pm10), and the observations refused per reason. `hourly`: the station's local clock hours of one
parameter, the newest `hours` of them (counted back from its newest hour, not from now): mean,
min and max of the values QC keeps, their count, and how many QC left out. `alerts`: hourly means
above an EU hourly limit (no2 200, so2 350 µg/m³) and running 24-hour means above a WHO 2021
24-hour guideline (pm25 15, pm10 45 µg/m³), once per station, parameter, standard and local day,
raised at or after `since`. Every committed segment also sends a `change` event with
`kind: sensors` on `/api/v1/stream`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from dashboard.store import FeedError, reading
from plumbing.live_store import sensors as st
from schemas import sensors as sn

MAX_STATION_CHARS = 200
MAX_HOURS = 24 * 31
MAX_ALERTS = 5_000
LISTED_STATIONS = 30  # named in a 404; /stations has them all


def sensors_router(store_path: Path, city: str) -> APIRouter:
    """The three endpoints of the module docstring, over the live store at `store_path`."""
    router = APIRouter()

    @router.get("/sensors/stations")
    def stations() -> dict:
        """Every station with its place and its latest reading per parameter."""
        with reading(store_path) as db:
            if db is None:
                return {"city": city, "stations": [], "dead_letters": {}}
            return {"city": city, "stations": st.stations(db), "dead_letters": st.dead_letter_counts(db)}

    @router.get("/sensors/alerts")
    def alerts(
        since: datetime | None = Query(None, description="ISO time; alerts raised at or after it (default: all)"),
        limit: int = Query(500, ge=1, le=MAX_ALERTS, description=f"at most this many (1-{MAX_ALERTS})"),
    ) -> dict:
        """Exceedance alerts, oldest first."""
        since = since.replace(tzinfo=since.tzinfo or UTC) if since else None
        with reading(store_path) as db:
            found = st.alerts(db, since, limit) if db is not None else []
        return {"city": city, "since": since.isoformat() if since else None, "alerts": found}

    @router.get("/sensors/{station}/hourly")
    def hourly(
        station: str = PathParam(..., max_length=MAX_STATION_CHARS, description="station id"),
        parameter: str = Query("pm25", max_length=40, description="canonical parameter (pm25, no2, ...)"),
        hours: int = Query(48, ge=1, le=MAX_HOURS, description=f"the newest hours to return (1-{MAX_HOURS})"),
    ) -> dict:
        """The station's newest `hours` local clock hours of `parameter`."""
        if parameter not in sn.PARAMETERS:
            raise FeedError(400, f"parameter={parameter[:40]!r}: use one of {', '.join(sn.PARAMETERS)}")
        with reading(store_path) as db:
            row = _known(db, station, city)
            newest = st.newest_hour(db, station, parameter)
            if newest is None:
                has = ", ".join(st.parameters_of(db, station)) or "none yet"
                raise FeedError(404, f"station {station[:60]!r} has no hourly {parameter} figures; its parameters: {has}")
            figures = st.hourly(db, station, parameter, newest - timedelta(hours=hours - 1))
        return {"city": city, sn.STATION_ID: station, sn.STATION_NAME: row[sn.STATION_NAME], sn.PARAMETER: parameter,
                sn.UNIT: sn.PARAMETERS[parameter], "hours": figures}

    return router


def _known(db, station: str, city: str) -> dict:
    """The station's row, or a 404 that names the city's stations."""
    row = st.station(db, station) if db is not None else None
    if row is not None:
        return row
    known = st.station_ids(db) if db is not None else []
    more = len(known) - LISTED_STATIONS
    listing = ", ".join(repr(s) for s in known[:LISTED_STATIONS]) + (f" and {more} more" if more > 0 else "")
    raise FeedError(404, f"station {station[:60]!r} is not a sensor station of city {city!r}; its stations: "
                         f"{listing or 'none yet (urbanpulse stream sensors)'} (all of them: GET /api/v1/sensors/stations)")
