"""How the department feeds go on the wire: JSON, GeoJSON and CSV bodies, validators, gzip.

- CSV cells of text that a spreadsheet would run as a formula (starting with `= + - @`, a tab
  or a carriage return) get a leading apostrophe (OWASP's "CSV injection" advice); numbers
  stay numbers.
- Every answer carries a weak `ETag` of what it was computed from (the data's version, the
  minute it speaks for, the query) and `Last-Modified`; `If-None-Match` (or, without it,
  `If-Modified-Since`) gets a 304 before anything is computed. Weak, because gzip changes the
  bytes but not the meaning.
- Answers are gzipped when the client takes gzip (`conditional` keeps the compressed body with
  the plain one; `GzipRoute` compresses whatever else these routes return). It is per route
  rather than Starlette's `GZipMiddleware` for the whole app so that nothing else the app
  serves changes, the event stream above all (a compressing middleware that buffers would hold
  its events back).
"""

from __future__ import annotations

import gzip
import hashlib
import io
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from threading import Lock

import polars as pl
from fastapi import Request, Response
from fastapi.routing import APIRoute

from schemas import requests as rq

JSON, GEOJSON, CSV = "application/json", "application/geo+json", "text/csv; charset=utf-8"
GZIP_MINIMUM_BYTES = 1024
GZIP_LEVEL = 5  # about as small as 9 on this text, several times faster
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CACHED_ANSWERS = 256
GZIPPED = "+gzip"  # the cache key of an answer's compressed body


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that start like a spreadsheet formula, with an apostrophe in front."""
    risky = "^[" + "".join("\\" + c if c in "-" else c for c in FORMULA_STARTS) + "]"
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(risky)).then(pl.lit("'") + pl.col(name)).otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items() if dtype == pl.String
    )


def csv_body(rows: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    neutralise_formulas(rows).write_csv(buffer)
    return buffer.getvalue()


def json_rows(rows: pl.DataFrame) -> str:
    """The frame as a JSON array of row objects (polars writes it, not a Python loop)."""
    return rows.write_json() if rows.height else "[]"


def geojson_features(rows: pl.DataFrame) -> str:
    """Point features (geometry null where a request has no coordinates) with the rows' fields."""
    if not rows.height:
        return "[]"
    point = pl.struct(pl.lit("Point").alias("type"), pl.concat_list(rq.LONG, rq.LAT).alias("coordinates"))
    placed = pl.col(rq.LAT).is_not_null() & pl.col(rq.LONG).is_not_null()
    features = rows.select(
        pl.lit("Feature").alias("type"),
        pl.col(rq.SERVICE_REQUEST_ID).alias("id"),
        pl.when(placed).then(point).alias("geometry"),
        pl.struct(rows.columns).alias("properties"),
    )
    return features.write_json()


def http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def etag_for(*parts: object) -> str:
    return f'W/"{hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()}"'


def not_modified(request: Request, etag: str, last_modified: datetime | None) -> bool:
    """True when the client's copy is current (`If-None-Match` wins over `If-Modified-Since`)."""
    matches = request.headers.get("if-none-match")
    if matches is not None:
        tags = {tag.strip().removeprefix("W/") for tag in matches.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    since = request.headers.get("if-modified-since")
    if since is None or last_modified is None:
        return False
    try:
        moment = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    return moment.tzinfo is not None and last_modified.replace(microsecond=0) <= moment


class Answers:
    """Bodies already computed, by ETag: many pages of a department reload the same figures after
    each live change; the first computes them, the rest are served from here."""

    def __init__(self, size: int = CACHED_ANSWERS) -> None:
        self._kept: OrderedDict[str, tuple[bytes, str, dict[str, str]]] = OrderedDict()
        self._size, self._lock = size, Lock()

    def get(self, etag: str) -> tuple[bytes, str, dict[str, str]] | None:
        with self._lock:
            found = self._kept.get(etag)
            if found is not None:
                self._kept.move_to_end(etag)
            return found

    def put(self, etag: str, answer: tuple[bytes, str, dict[str, str]]) -> None:
        with self._lock:
            self._kept[etag] = answer
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)


def conditional(request: Request, answers: Answers, etag: str, last_modified: datetime | None,
                compute: Callable[[], tuple[bytes, str, dict[str, str]]]) -> Response:
    """A 304 if the client's copy is current; else the (cached or computed) body with validators."""
    validators = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if last_modified is not None:
        validators["Last-Modified"] = http_date(last_modified)
    if not_modified(request, etag, last_modified):
        return Response(status_code=304, headers=validators)
    found = answers.get(etag)
    if found is None:
        found = compute()
        answers.put(etag, found)
    body, media_type, headers = found
    if len(body) >= GZIP_MINIMUM_BYTES and accepts_gzip(request):
        packed = answers.get(etag + GZIPPED)
        if packed is None:
            packed = (gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0), media_type, headers)
            answers.put(etag + GZIPPED, packed)
        return Response(packed[0], media_type=media_type,
                        headers={**headers, **validators, "Content-Encoding": "gzip"})
    return Response(body, media_type=media_type, headers={**headers, **validators})


def accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
            try:
                return float(quality) > 0
            except ValueError:
                return False
    return False


class GzipRoute(APIRoute):
    """A route whose answers are gzip-compressed for clients that take it (`Vary: Accept-Encoding`)."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def compressing(request: Request) -> Response:
            response = await handler(request)
            if response.status_code != 200 or "content-encoding" in response.headers:
                return response
            response.headers["Vary"] = "Accept-Encoding"
            body = bytes(response.body)
            if len(body) < GZIP_MINIMUM_BYTES or not accepts_gzip(request):
                return response
            packed = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
            response.body = packed
            response.headers["Content-Encoding"] = "gzip"
            response.headers["Content-Length"] = str(len(packed))
            return response

        return compressing
