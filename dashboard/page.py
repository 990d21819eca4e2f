"""The dashboard page at `/` of `urbanpulse serve`, and its built assets under `/static/`.

    GET /                 the page (index.html with the city's settings as a JSON data block)
    GET /static/{file}    the front-end built from dashboard/web (npm ci && npm run build)

The page is a client of the feed's own API: every figure it shows comes from an `/api/v1/...`
endpoint a department can call too. It is served under a strict Content-Security-Policy:
scripts, styles and data only from this server, no inline script, no eval, no other host (an
optional base-map tile server, `tile_url` in `<home>/dashboard.json`, is the one exception, for
images only). The city's settings travel in a `<script type="application/json">` data block,
which the browser does not run, with `<`, `>` and `&` escaped so nothing in them can end it.

Built assets have content-hashed names and are cached for a year; `index.html` is not cached.
Each is sent gzip-compressed when the client takes it (the build writes a `.gz` beside each
file), so the first load stays small without compressing on every request.
"""

from __future__ import annotations

import csv
import json
import mimetypes
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from schemas import citypack as cp
from schemas import taxonomy as tx

STATIC = Path(__file__).resolve().parent / "static"
SETTINGS_FILE = "dashboard.json"
LANGUAGES = ("en", "ru")
CONFIG_MARKER = "<!--urbanpulse-config-->"
IMMUTABLE = "public, max-age=31536000, immutable"
NOT_BUILT = ("the dashboard page is not built: run `make install` (or `npm ci && npm run build` in "
             "dashboard/web) to build it into dashboard/static; the API under /api/v1 works without it")


@dataclass(frozen=True)
class PageSettings:
    """What an operator may set in `<home>/dashboard.json` (all optional)."""

    tile_url: str | None = None  # e.g. https://tiles.example.org/{z}/{x}/{y}.png: a base map under the districts
    tile_attribution: str | None = None  # shown as text under the map
    language: str = "en"  # the page's language when neither the link nor the browser asks for one

    @classmethod
    def read(cls, home: Path) -> PageSettings:
        path = Path(home) / SETTINGS_FILE
        if not path.exists():
            return cls()
        try:
            given = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: not a JSON object of dashboard settings ({error})") from error
        unknown = set(given) - set(cls.__dataclass_fields__) if isinstance(given, dict) else {"(not an object)"}
        if unknown:
            raise ValueError(f"{path}: unknown settings {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(cls.__dataclass_fields__)}")
        settings = cls(**given)
        if settings.language not in LANGUAGES:
            raise ValueError(f"{path}: language={settings.language!r}: use one of {', '.join(LANGUAGES)}")
        if settings.tile_url and urlsplit(settings.tile_url).scheme not in ("https", "http"):
            raise ValueError(f"{path}: tile_url={settings.tile_url!r} is not an http(s) URL template")
        return settings

    @property
    def tile_origin(self) -> str | None:
        if not self.tile_url:
            return None
        parts = urlsplit(self.tile_url.replace("{s}", "a"))
        return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class PageConfig:
    """The city's settings the page starts from (everything else it asks the API for)."""

    city: str
    timezone: str
    language: str
    tile_url: str | None
    tile_attribution: str | None
    categories: dict[str, dict[str, str]] = field(default_factory=dict)  # code -> {en, ru, department}
    departments: list[str] = field(default_factory=list)


def content_security_policy(settings: PageSettings) -> str:
    images = " ".join(filter(None, ("'self'", "data:", settings.tile_origin)))
    return ("default-src 'none'; script-src 'self'; style-src 'self'; "
            f"img-src {images}; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'")


def page_router(home: Path, pack_root: Path, city: str, static: Path = STATIC) -> APIRouter:
    """`/` and `/static/...` of the page of `city` (settings from `home`, taxonomy from its pack)."""
    router = APIRouter(include_in_schema=False)
    settings = PageSettings.read(home)
    headers = {"Content-Security-Policy": content_security_policy(settings), "X-Content-Type-Options": "nosniff",
               "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}

    @router.get("/", response_class=HTMLResponse)
    def page(request: Request, lang: str | None = Query(None, description="en or ru")) -> Response:
        index = static / "index.html"
        if not index.exists():
            return Response(NOT_BUILT, status_code=503, media_type="text/plain", headers=headers)
        language = choose_language(lang, request.headers.get("accept-language", ""), settings.language)
        config = PageConfig(city, _timezone(pack_root), language, settings.tile_url, settings.tile_attribution,
                            *_taxonomy(pack_root))
        html = render_index(index.read_text(encoding="utf-8"), config)
        return HTMLResponse(html, headers=headers | {"Cache-Control": "no-cache", "Vary": "Accept-Language"})

    @router.get("/static/{name:path}")
    def asset(name: str, request: Request) -> Response:
        path = _asset_path(static, name)
        if path is None:
            return Response(f"no such file: /static/{name[:80]}", status_code=404, media_type="text/plain",
                            headers=headers)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        extra = headers | {"Cache-Control": IMMUTABLE if _hashed(path.name) else "no-cache", "Vary": "Accept-Encoding"}
        packed = path.with_name(path.name + ".gz")
        if "gzip" in request.headers.get("accept-encoding", "") and packed.exists():
            return FileResponse(packed, media_type=media_type, headers=extra | {"Content-Encoding": "gzip"})
        return FileResponse(path, media_type=media_type, headers=extra)

    return router


def choose_language(asked: str | None, accept_language: str, default: str) -> str:
    """The link's `lang` first, then the browser's first language we have, else the default."""
    if asked in LANGUAGES:
        return asked
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default


def render_index(template: str, config: PageConfig) -> str:
    """index.html with `config` as a JSON data block and the language set on <html>."""
    data = json.dumps(asdict(config), ensure_ascii=False)
    data = data.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    block = f'<script type="application/json" id="urbanpulse-config">{data}</script>'
    return template.replace('<html lang="en"', f'<html lang="{config.language}"', 1).replace(CONFIG_MARKER, block, 1)


def _asset_path(static: Path, name: str) -> Path | None:
    """A file inside `static` (no way out of it, no dot files, not the .gz copies themselves)."""
    if not name or name.endswith(".gz") or any(part.startswith(".") for part in name.split("/")):
        return None
    path = (static / name).resolve()
    if not path.is_relative_to(static.resolve()) or not path.is_file():
        return None
    return path


def _hashed(name: str) -> bool:
    """Built names carry a content hash (`main-3FJ2K7QX.js`): such a file never changes."""
    stem = name.split(".")[0]
    return "-" in stem and stem.rsplit("-", 1)[1].isalnum() and len(stem.rsplit("-", 1)[1]) == 8


def _timezone(pack_root: Path) -> str:
    try:
        return json.loads((pack_root / cp.PACK_MANIFEST_FILE).read_text(encoding="utf-8"))[cp.MANIFEST_TIMEZONE]
    except (OSError, ValueError, KeyError):
        return "UTC"


def _taxonomy(pack_root: Path) -> tuple[dict[str, dict[str, str]], list[str]]:
    path = pack_root / cp.PACK_TAXONOMY_FILE
    try:
        version = path.stat()
    except FileNotFoundError:
        return {}, []
    return _read_taxonomy(path, version.st_mtime_ns, version.st_size)


@lru_cache(maxsize=8)
def _read_taxonomy(path: Path, _mtime_ns: int, _size: int) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Category labels in both languages and the departments, from the pack's taxonomy CSV."""
    with path.open(encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    categories = {row[tx.TAXONOMY_CATEGORY]: {"en": row.get(tx.TAXONOMY_LABEL_EN) or row[tx.TAXONOMY_CATEGORY],
                                              "ru": row.get(tx.TAXONOMY_LABEL_RU) or row[tx.TAXONOMY_CATEGORY],
                                              "department": row[tx.TAXONOMY_DEPARTMENT]} for row in rows}
    return categories, sorted({row[tx.TAXONOMY_DEPARTMENT] for row in rows})
