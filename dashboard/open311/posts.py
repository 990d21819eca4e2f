"""Open311 writes: `POST requests` (a resident's report) and `POST servicerequestupdates` (the
back office's status change, UrbanPulse's extension shaped like FixMyStreet's update call).

The body is read here, not by a form parser, so that a body over `MAX_BODY_BYTES` is refused with
a 413 before it is buffered, and `attribute[code]` / `attribute[code][]` keys are taken as the
spec writes them. Checks run in this order, each answering in the spec's error envelope:
size (413, read first), jurisdiction (404), api_key (403), the key's rate (429), service_code (400 missing,
404 unknown), location (400), attributes (400), other fields (400). Nothing is landed or stored
before every check has passed. A report is answered with its `service_request_id` (and a token)
once its row is durable in the landing log; the stream makes it visible in `GET requests`.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from dashboard.open311.context import Open311Context, check_format, open311_errors, w3c_datetime
from dashboard.open311.render import answer
from plumbing.api_keys import ApiKey
from plumbing.landing import segment_ref
from plumbing.live_store.open311 import requests_by_id
from plumbing.open311_intake import new_request_id, update_row, w3c
from plumbing.open311_services import Open311Problem, check_attributes
from schemas import open311 as o3
from schemas import requests as rq

MAX_BODY_BYTES = 256 * 1024
MAX_DESCRIPTION_CHARS = 10_000
MAX_FIELD_CHARS = 500  # names, phone, ids, address_string
MAX_URL_CHARS = 2_000
MAX_FIELDS = 200
DRAIN_BYTES = 16 * 1024 * 1024
LANDING_TIMEOUT_SECONDS = 30.0


async def _body(request: Request) -> bytes:
    """The body, at most `MAX_BODY_BYTES`; a larger one is read and dropped (up to `DRAIN_BYTES`, so
    the client, still sending, gets to read the 413 instead of a reset) and refused."""
    body, size = bytearray(), 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= MAX_BODY_BYTES:
            body += chunk
        elif size > DRAIN_BYTES:
            break
    if size > MAX_BODY_BYTES:
        declared = request.headers.get("content-length", "")
        measured = f"{int(declared):,} bytes" if declared.isdigit() else f"over {MAX_BODY_BYTES:,} bytes"
        raise Open311Problem(413, f"the request body is {measured}; at most {MAX_BODY_BYTES:,} "
                                  f"(a description takes at most {MAX_DESCRIPTION_CHARS:,} characters)")
    return bytes(body)


async def form_fields(request: Request) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(plain fields, attribute values by code): the query string's, then the form body's."""
    body = await _body(request)
    try:
        pairs = parse_qsl(request.url.query, keep_blank_values=True, max_num_fields=MAX_FIELDS)
        pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                           max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as error:
        raise Open311Problem(400, f"the body is not form-encoded UTF-8 "
                                  f"(application/x-www-form-urlencoded): {error}") from None
    fields: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    for name, value in pairs:
        if name.startswith(o3.ATTRIBUTE_PREFIX) and "]" in name:
            attributes.setdefault(name[len(o3.ATTRIBUTE_PREFIX):name.index("]")], []).append(value)
        else:
            fields[name] = value
    return fields, attributes


async def _key(context: Open311Context, request: Request, fields: dict[str, str], role: str | None = None) -> ApiKey:
    client = request.client.host if request.client else ""
    key = await run_in_threadpool(context.keys.check, fields.get(o3.API_KEY), client)
    if key is None:
        raise Open311Problem(403, "api_key is missing, wrong or revoked; ask the city for a key")
    if role is not None and key.role != role:
        raise Open311Problem(403, f"api_key {key.key_id} may not post service request updates; "
                                  "it needs a back-office key (urbanpulse keys create --back-office)")
    wait = context.limiter.take(key)
    if wait:
        raise Open311Problem(429, f"api_key {key.key_id} is over its rate of {key.rate_per_minute} a minute; "
                                  f"retry in {math.ceil(wait)} s", {"Retry-After": str(math.ceil(wait))})
    return key


def _bounded(fields: dict[str, str], name: str, limit: int = MAX_FIELD_CHARS) -> str | None:
    value = fields.get(name)
    if value is None or value.strip() == "":
        return None
    if len(value) > limit:
        raise Open311Problem(413 if name == rq.DESCRIPTION else 400,
                             f"{name} is {len(value):,} characters; at most {limit:,}")
    return value


def _location(fields: dict[str, str]) -> tuple[str | None, str | None, str | None]:
    """(lat, long, address text): lat+long, or address_string, or address_id."""
    lat, long = _bounded(fields, rq.LAT), _bounded(fields, rq.LONG)
    address = _bounded(fields, o3.ADDRESS_STRING) or _bounded(fields, o3.ADDRESS_ID)
    if (lat is None) != (long is None):
        raise Open311Problem(400, "lat and long go together: give both, or an address_string instead")
    if lat is not None:
        try:
            lat_value, long_value = float(lat), float(long)  # type: ignore[arg-type]
        except ValueError:
            raise Open311Problem(400, f"lat {lat[:30]!r} / long {long[:30]!r}: give decimal degrees (WGS84)") \
                from None
        if not (math.isfinite(lat_value) and math.isfinite(long_value)
                and -90 <= lat_value <= 90 and -180 <= long_value <= 180):
            raise Open311Problem(400, f"lat {lat} / long {long}: outside -90..90 / -180..180")
        return repr(lat_value), repr(long_value), address
    if address is None:
        raise Open311Problem(400, "a location is required: lat and long, address_string or address_id")
    return None, None, address


def _media_url(fields: dict[str, str]) -> str | None:
    url = _bounded(fields, o3.MEDIA_URL, MAX_URL_CHARS)
    if url is not None and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        raise Open311Problem(400, f"media_url {url[:60]!r}: give an http(s) URL")
    return url


async def _landed(context: Open311Context, row: dict, submission: dict | None) -> tuple[int, int]:
    try:
        return await asyncio.wait_for(asyncio.wrap_future(context.lander.submit(row, submission)),
                                      LANDING_TIMEOUT_SECONDS)
    except (OSError, TimeoutError) as error:
        raise Open311Problem(503, f"the report could not be stored right now ({type(error).__name__}); "
                                  "nothing was kept: send it again", {"Retry-After": "5"}) from None


def add_post_routes(router: APIRouter, context: Open311Context) -> None:
    @router.post("/requests.{fmt}")
    @open311_errors
    async def post_request(request: Request, fmt: str) -> Response:
        check_format(fmt)
        fields, attributes = await form_fields(request)
        context.check_jurisdiction(request, fields)
        key = await _key(context, request, fields)
        code = _bounded(fields, rq.SERVICE_CODE)
        if code is None:
            raise Open311Problem(400, "service_code is required; GET services lists the codes")
        service = context.service(code)
        lat, long, address = _location(fields)
        checked = check_attributes(service, attributes)
        description = _bounded(fields, rq.DESCRIPTION, MAX_DESCRIPTION_CHARS)
        media_url = _media_url(fields)
        personal = {name: _bounded(fields, name) for name in o3.SUBMITTER_FIELDS}
        now = datetime.now(UTC)
        request_id, token = new_request_id(now), secrets.token_urlsafe(12)
        # service_name carries the code: the stream's default classifier takes the category from it
        row = {rq.SERVICE_REQUEST_ID: request_id, rq.STATUS: rq.Status.OPEN, rq.SERVICE_CODE: code,
               rq.SERVICE_NAME: code, rq.DESCRIPTION: description, rq.REQUESTED_DATETIME: w3c(now),
               rq.ADDRESS: address, rq.LAT: lat, rq.LONG: long}
        submission = {rq.SERVICE_REQUEST_ID: request_id, o3.TOKEN: token, o3.KEY_ID: key.key_id,
                      o3.MEDIA_URL: media_url, o3.ATTRIBUTES: checked, **personal}
        await _landed(context, row, submission)
        return answer(fmt, "service_requests", "request", [{
            rq.SERVICE_REQUEST_ID: request_id, o3.TOKEN: token, o3.SERVICE_NOTICE: None,
            o3.ACCOUNT_ID: None}], status=201)

    @router.post("/servicerequestupdates.{fmt}")
    @open311_errors
    async def post_update(request: Request, fmt: str) -> Response:
        check_format(fmt)
        fields, _ = await form_fields(request)
        context.check_jurisdiction(request, fields)
        await _key(context, request, fields, role=o3.ROLE_BACK_OFFICE)
        request_id = _bounded(fields, rq.SERVICE_REQUEST_ID)
        status = (_bounded(fields, rq.STATUS) or "").lower()
        if request_id is None:
            raise Open311Problem(400, "service_request_id is required")
        if status not in o3.UPDATE_STATUSES:
            raise Open311Problem(400, f"status {status!r}: use one of {', '.join(o3.UPDATE_STATUSES)}")
        notes = _bounded(fields, o3.UPDATE_DESCRIPTION, MAX_DESCRIPTION_CHARS)
        updated = w3c_datetime(rq.UPDATED_DATETIME, fields.get(rq.UPDATED_DATETIME)) or datetime.now(UTC)
        with context.store() as store:
            views = requests_by_id(store.db, [request_id]).to_dicts() if store else []
        if not views:
            raise Open311Problem(404, f"no service request {request_id!r}")
        if views[0][rq.REQUESTED_DATETIME] and updated < views[0][rq.REQUESTED_DATETIME]:
            raise Open311Problem(400, f"updated_datetime {w3c(updated)} is before the request was made")
        seq, position = await _landed(context, update_row(views[0], status, notes, updated), None)
        update_id = f"{segment_ref(o3.SOURCE, seq)}:{position}"
        return answer(fmt, o3.UPDATES_ROOT, o3.UPDATE_ELEMENT, [{
            o3.UPDATE_ID: update_id, rq.SERVICE_REQUEST_ID: request_id}], status=201)
