"""Open311 GeoReport v2 reads: discovery, services, a service definition, requests, tokens, and
FixMyStreet's `servicerequestupdates`; every path in `.json` and `.xml`.

    GET /open311/v2/discovery.{fmt}
    GET /open311/v2/services.{fmt}                 the city's taxonomy (`plumbing.open311_services`)
    GET /open311/v2/services/{service_code}.{fmt}  its service definition (attributes)
    GET /open311/v2/requests.{fmt}                 service_request_id | service_code, start_date,
                                                   end_date, status (+ page, page_size extension)
    GET /open311/v2/requests/{id}.{fmt}
    GET /open311/v2/tokens/{token}.{fmt}
    GET /open311/v2/servicerequestupdates.{fmt}    start_date, end_date (FixMyStreet's extension)
    POST requests, servicerequestupdates           (`dashboard.open311.posts`)

Requests come from the live store's Open311 view (published-safe fields only: scrubbed texts,
no submitter's personal data). `status` is the spec's open/closed; the detailed status of an
update is in `servicerequestupdates`. Each request element carries two extensions, `district_id`
and `category` (what UrbanPulse placed and classified it as); clients ignore elements they do not
know. Paging past 1,000 results: `page_size` (at most 1,000) and `page` (from 1); a full page
has a `Link: <...>; rel="next"` header.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dashboard.open311.context import (
    Open311Context,
    check_format,
    comma_list,
    date_window,
    open311_errors,
)
from dashboard.open311.posts import add_post_routes
from dashboard.open311.render import answer, error_answer
from plumbing.live_store.open311 import requests_between, requests_by_id, updates_between
from plumbing.open311_services import Open311Problem, Service
from plumbing.workspace import Workspace
from schemas import live as lv
from schemas import open311 as o3
from schemas import requests as rq

CHANGESET = "2026-12-01T00:00:00Z"


def service_item(service: Service) -> dict:
    return {rq.SERVICE_CODE: service.service_code, rq.SERVICE_NAME: service.service_name,
            "description": service.description, o3.METADATA: service.metadata, o3.TYPE: o3.REALTIME,
            o3.KEYWORDS: service.keywords, o3.GROUP: service.group}


def definition_item(service: Service) -> dict:
    return {rq.SERVICE_CODE: service.service_code, o3.ATTRIBUTES: [
        {o3.VARIABLE: a.variable, o3.CODE: a.code, o3.DATATYPE: a.datatype, o3.REQUIRED: a.required,
         o3.DATATYPE_DESCRIPTION: a.datatype_description or None, o3.ORDER: a.order, "description": a.description,
         **({o3.VALUES: [{o3.KEY: k, o3.NAME: n} for k, n in a.values]} if a.values else {})}
        for a in sorted(service.attributes, key=lambda a: a.order)
    ]}


def request_item(context: Open311Context, row: dict, services: dict[str, Service]) -> dict:
    """One request element in the spec's field order, then the two extensions."""
    service = services.get(row[rq.SERVICE_CODE] or "")
    status = row[rq.STATUS] or rq.Status.OPEN
    return {
        rq.SERVICE_REQUEST_ID: row[rq.SERVICE_REQUEST_ID],
        rq.STATUS: rq.Status.CLOSED if status in o3.CLOSED_STATUSES else rq.Status.OPEN,
        rq.STATUS_NOTES: row[rq.STATUS_NOTES],
        rq.SERVICE_NAME: service.service_name if service else row[rq.SERVICE_NAME],
        rq.SERVICE_CODE: row[rq.SERVICE_CODE], rq.DESCRIPTION: row[rq.DESCRIPTION],
        rq.AGENCY_RESPONSIBLE: row[rq.AGENCY_RESPONSIBLE], o3.SERVICE_NOTICE: None,
        rq.REQUESTED_DATETIME: context.local(row[rq.REQUESTED_DATETIME]),
        rq.UPDATED_DATETIME: context.local(row[rq.UPDATED_DATETIME]),
        rq.EXPECTED_DATETIME: context.local(row[rq.EXPECTED_DATETIME]),
        rq.ADDRESS: row[rq.ADDRESS], o3.ADDRESS_ID: None, o3.ZIPCODE: None,
        rq.LAT: row[rq.LAT], rq.LONG: row[rq.LONG], o3.MEDIA_URL: None,
        o3.EXT_DISTRICT_ID: row[rq.DISTRICT_ID] or None, o3.EXT_CATEGORY: row[rq.CATEGORY] or None,
    }


def _page(request: Request) -> tuple[int, int]:
    try:
        size = int(request.query_params.get(o3.PAGE_SIZE) or o3.MAX_RESULTS)
        page = int(request.query_params.get(o3.PAGE) or 1)
    except ValueError:
        raise Open311Problem(400, "page and page_size must be whole numbers") from None
    if not 1 <= size <= o3.MAX_RESULTS or page < 1:
        raise Open311Problem(400, f"page_size is 1 to {o3.MAX_RESULTS} and page at least 1")
    return page, size


def open311_router(workspace: Workspace, city: str) -> APIRouter:
    """The Open311 server of `city`; its shared state is the router's `context`."""
    context = Open311Context(workspace, city)
    router = APIRouter(prefix=o3.ROOT, tags=["open311"])
    router.context = context  # type: ignore[attr-defined]

    @router.get("/discovery.{fmt}")
    @open311_errors
    async def discovery(request: Request, fmt: str) -> Response:
        check_format(fmt)
        root = str(request.base_url).rstrip("/") + o3.ROOT
        body = {"changeset": CHANGESET, "contact": f"UrbanPulse Open311 server of {city}",
                "key_service": "API keys are issued by the city: urbanpulse keys create --name APP",
                "endpoints": [{"specification": o3.SPECIFICATION, "url": root, "changeset": CHANGESET,
                               "type": "production", "formats": [o3.XML_TYPE, o3.JSON_TYPE]}]}
        return answer(fmt, "discovery", None, body)

    @router.get("/services.{fmt}")
    @open311_errors
    async def services(request: Request, fmt: str) -> Response:
        check_format(fmt)
        context.check_jurisdiction(request)
        return answer(fmt, "services", o3.SERVICE, [service_item(s) for s in context.services().values()])

    @router.get("/services/{service_code}.{fmt}")
    @open311_errors
    async def definition(request: Request, service_code: str, fmt: str) -> Response:
        check_format(fmt)
        context.check_jurisdiction(request)
        return answer(fmt, "service_definition", None, definition_item(context.service(service_code)))

    @router.get("/requests.{fmt}")
    @open311_errors
    async def requests(request: Request, fmt: str) -> Response:
        check_format(fmt)
        context.check_jurisdiction(request)
        query = request.query_params
        ids = comma_list(query.get(rq.SERVICE_REQUEST_ID))
        page, size = _page(request)
        headers = {}
        with context.store() as store:
            if store is None:
                rows = []
            elif ids:
                if len(ids) > o3.MAX_RESULTS:
                    raise Open311Problem(400, f"service_request_id lists {len(ids)} ids; at most {o3.MAX_RESULTS}")
                rows = requests_by_id(store.db, ids).to_dicts()
            else:
                start, end = date_window(query.get(o3.START_DATE), query.get(o3.END_DATE))
                statuses = comma_list(query.get(rq.STATUS))
                wrong = [s for s in statuses if s not in (rq.Status.OPEN, rq.Status.CLOSED)]
                if wrong:
                    raise Open311Problem(400, f"status {wrong[0]!r}: use open, closed or both (comma separated)")
                stored = _stored_statuses(store.db, statuses)
                rows = requests_between(store.db, start, end, comma_list(query.get(rq.SERVICE_CODE)),
                                        stored, size + 1, (page - 1) * size).to_dicts()
                if len(rows) > size:
                    rows = rows[:size]
                    following = request.url.include_query_params(**{o3.PAGE: page + 1, o3.PAGE_SIZE: size})
                    headers["Link"] = f'<{following}>; rel="next"'
        services_now = context.services()
        return answer(fmt, "service_requests", "request", [request_item(context, r, services_now) for r in rows],
                      headers=headers)

    @router.get("/requests/{service_request_id}.{fmt}")
    @open311_errors
    async def one_request(request: Request, service_request_id: str, fmt: str) -> Response:
        check_format(fmt)
        context.check_jurisdiction(request)
        with context.store() as store:
            rows = requests_by_id(store.db, [service_request_id]).to_dicts() if store else []
        if not rows:
            raise Open311Problem(404, f"no service request {service_request_id!r} (a report just posted "
                                      "shows within seconds, once the stream has processed it)")
        return answer(fmt, "service_requests", "request", [request_item(context, rows[0], context.services())])

    @router.get("/tokens/{token}.{fmt}")
    @open311_errors
    async def token(request: Request, token: str, fmt: str) -> Response:
        check_format(fmt)
        context.check_jurisdiction(request)
        found = context.submissions.request_of_token(token)
        if found is None:
            raise Open311Problem(404, f"no token {token!r}")
        return answer(fmt, "service_requests", "request", [{rq.SERVICE_REQUEST_ID: found, o3.TOKEN: token}])

    @router.get("/servicerequestupdates.{fmt}")
    @open311_errors
    async def updates(request: Request, fmt: str) -> Response:
        check_format(fmt)
        context.check_jurisdiction(request)
        start, end = date_window(request.query_params.get(o3.START_DATE), request.query_params.get(o3.END_DATE))
        page, size = _page(request)
        with context.store() as store:
            rows = updates_between(store.db, start, end, size, (page - 1) * size).to_dicts() if store else []
        items = [{o3.UPDATE_ID: r[lv.UPDATE_ID], rq.SERVICE_REQUEST_ID: r[rq.SERVICE_REQUEST_ID],
                  rq.STATUS: r[rq.STATUS], rq.UPDATED_DATETIME: context.local(r[rq.UPDATED_DATETIME]),
                  o3.UPDATE_DESCRIPTION: r[rq.STATUS_NOTES], o3.MEDIA_URL: None} for r in rows]
        return answer(fmt, o3.UPDATES_ROOT, o3.UPDATE_ELEMENT, items)

    add_post_routes(router, context)

    @router.api_route("/{rest:path}", methods=["GET", "POST"], include_in_schema=False)
    async def unknown(rest: str) -> Response:
        fmt = rest.rsplit(".", 1)[-1] if "." in rest else "json"
        return error_answer(fmt, 404, f"no Open311 call {rest!r}; GET {o3.ROOT}/discovery.json lists the calls")

    return router


def _stored_statuses(db, wanted: list[str]) -> list[str]:
    """The stored statuses that answer to the spec's open / closed (a source's own statuses too)."""
    if not wanted or set(wanted) == {rq.Status.OPEN, rq.Status.CLOSED}:
        return []
    stored = [s for (s,) in db.execute(
        f"SELECT DISTINCT {rq.STATUS} FROM {lv.OPEN311_REQUESTS_TABLE.name}").fetchall() if s is not None]
    closed = rq.Status.CLOSED in wanted
    return [s for s in stored if (s in o3.CLOSED_STATUSES) == closed] or ["\x00none"]

