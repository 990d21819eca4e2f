"""The live feed: window figures, district KPIs and a server-sent event stream over the live store.

    GET /api/v1/requests/windows?window=15m|1d&district=&category=&since=&limit=
    GET /api/v1/requests/kpis[?date=YYYY-MM-DD]
    GET /api/v1/districts
    GET /api/v1/requests, /districts/figures, /requests/{trends,summary,density}  (`dashboard.requests_feed`)
    GET /api/v1/participation/...  (live votes: `dashboard.participation`)
    GET /api/v1/sensors/...        (live sensors: `dashboard.sensors`)
    GET /api/v1/stream            (text/event-stream; one `change` event per committed change)
    GET /health                   (200 while the live path keeps up, else 503: `dashboard.health`)
    GET /docs, /openapi.json

The server only reads the store (SQLite in WAL mode), so it never slows the stream down: each
request opens its own read-only connection, and all event streams share one (`ChangeHub`).
Bad query parameters get a 400 that says what to fix; what a server takes from its clients is
in `dashboard.limits`, how it runs in `dashboard.server`.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse

from dashboard.changes import ChangeHub
from dashboard.docs_page import docs_html
from dashboard.events import stream_router
from dashboard.figures import figures_router
from dashboard.health import health_router
from dashboard.limits import FeedLimits, RequestSizeLimit
from dashboard.open311.routes import open311_router
from dashboard.page import page_router
from dashboard.participation import participation_router
from dashboard.requests_feed import requests_router
from dashboard.sensors import sensors_router
from dashboard.sla_risk import sla_risk_router
from plumbing.workspace import Workspace

API = "/api/v1"


def create_app(workspace: Workspace, city: str, limits: FeedLimits | None = None) -> FastAPI:
    """The feed of `city`; its event streams' hub is `app.state.changes` (the server ends them)."""
    app = FastAPI(
        title="UrbanPulse live feed",
        description=f"Live request figures of city {city!r}: event-time windows, KPIs, change stream.",
        version="1.0", docs_url=None, redoc_url=None,
    )
    app.add_middleware(RequestSizeLimit)
    hub = app.state.changes = ChangeHub(workspace.live_store(city), limits or FeedLimits())

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors())
        return JSONResponse({"detail": f"bad query parameters: {problems}"}, status_code=400)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_html(app.openapi()))

    app.include_router(figures_router(workspace.live_store(city), workspace.city(city), city), prefix=API)
    app.include_router(participation_router(workspace.live_store(city), city), prefix=API)
    app.include_router(sensors_router(workspace.live_store(city), city), prefix=API)
    app.include_router(sla_risk_router(workspace, city), prefix=API)  # before /requests/{...} routes
    app.include_router(requests_router(workspace, city), prefix=API)
    app.include_router(stream_router(hub), prefix=API)
    app.include_router(health_router(workspace, city, hub))
    app.include_router(page_router(workspace.root, workspace.city(city), city))
    app.include_router(open311_router(workspace, city))
    return app
