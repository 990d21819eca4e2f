"""The dashboard page in a real browser: headless Debian Chromium (Playwright, `executable_path`)
over `urbanpulse serve`'s app in a thread, on a tiny city whose live store holds requests,
sensor readings and a vote, each put there by its live pipeline.

Screenshots of the main views go to bench/out/screenshots/ (overview, district filter, Russian,
phone width, live update). Skipped, with the reason, only when Chromium cannot be had (apt-get
failed) or the page is not built (npm).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import polars as pl
import pytest
from browser_fixtures import chromium, chromium_path, dashboard_home, land_requests
from conftest import TINY_CITY, build_tiny_pack
from feed_fixtures import feed_in_thread

from dashboard.page import STATIC
from plumbing.live_store.reader import LiveStoreReader

SCREENSHOTS = Path(__file__).resolve().parents[2] / "bench" / "out" / "screenshots"
DISTRICTS = {f["properties"]["code"] for f in TINY_CITY["features"]}
FIGURES = ("new", "closed", "backlog", "share_closed_within_sla", "median_hours_to_close")
XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> Broken lamp'
LIVE_SECONDS = 2.0

pytestmark = pytest.mark.skipif(not (STATIC / "index.html").exists(),
                                reason="the dashboard page is not built (make install runs npm ci && npm run build)")


@pytest.fixture(scope="module")
def executable() -> str:
    path, why = chromium_path()
    if path is None:
        pytest.skip(f"no Chromium for the browser tests: {why}")
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    root = tmp_path_factory.mktemp("page-home")
    return dashboard_home(root, build_tiny_pack(root), landed=1_000, more=50)


@pytest.fixture(scope="module")
def url(home):
    with feed_in_thread(home.workspace) as base:
        yield base


@pytest.fixture(scope="module")
def browser(executable):
    with chromium(executable) as running:
        yield running


class Watched:
    """A page with every console error, page error and requested URL recorded."""

    def __init__(self, browser, base: str, width: int = 1280, height: int = 900) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
        self.page = self.context.new_page()
        self.base, self.errors, self.requested = base, [], []
        self.page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("request", lambda r: self.requested.append(r.url))

    def open(self, path: str = "/") -> Watched:
        self.page.goto(f"{self.base}{path}")
        self.ready()
        return self

    def ready(self) -> None:
        self.page.wait_for_selector("body[data-ready=true]", timeout=15_000)
        self.page.wait_for_load_state("networkidle")

    def tile(self, period: str, figure: str) -> str:
        return self.page.get_attribute(f'[data-kpi="{period}.{figure}"] .tile-value', "data-value")

    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.page.url).query).items()}

    def shot(self, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture()
def watched(browser, url):
    opened = Watched(browser, url)
    yield opened
    opened.close()


def api(url: str, path: str, **params) -> dict:
    response = httpx.get(f"{url}{path}", params=params, timeout=20)
    assert response.status_code == 200, response.text
    return response.json()


def assert_tiles_match(watched: Watched, summary: dict) -> None:
    for period in ("today", "last_7_days"):
        for figure in FIGURES:
            shown, expected = watched.tile(period, figure), summary[period][figure]
            if expected is None:
                assert shown == "", (period, figure)
            else:
                assert float(shown) == pytest.approx(expected), (period, figure, shown, expected)


def test_page_loads_clean_draws_every_district_and_shows_the_api_figures(watched, url):
    watched.open()
    page = watched.page
    assert watched.errors == []
    hosts = {urlsplit(u).netloc for u in watched.requested if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
    assert hosts == {urlsplit(url).netloc}, hosts
    shapes = page.eval_on_selector_all("path.district", "nodes => nodes.map(n => n.dataset.district)")
    assert sorted(shapes) == sorted(DISTRICTS)
    assert_tiles_match(watched, api(url, "/api/v1/requests/summary"))
    figures = {f["properties"]["district_id"]: f["properties"] for f in api(url, "/api/v1/districts/figures")["features"]}
    page.select_option("#measure", "backlog")
    for district, figure in figures.items():
        assert page.get_attribute(f'path.district[data-district="{district}"]', "data-value") == str(figure["backlog"])
    assert page.locator("path.station").count() == 3
    assert page.locator("#projects tbody tr").count() > 0 and page.locator("#stations tbody tr").count() == 3
    # a strict policy: scripts and connections only from this server, nothing inline
    policy = httpx.get(f"{url}/", timeout=10).headers["content-security-policy"]
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy and "unsafe" not in policy
    unlabelled = page.evaluate("""[...document.querySelectorAll('select, input')]
        .filter(c => !c.labels?.length && !c.getAttribute('aria-label')).map(c => c.id || c.name)""")
    assert unlabelled == []
    watched.shot("overview")


def test_a_request_landed_while_the_page_is_open_shows_within_2_s_and_its_text_stays_text(watched, url, home):
    watched.open("/?measure=backlog")
    page = watched.page
    backlog = int(watched.tile("today", "backlog"))
    district = "N1"
    before = int(page.get_attribute(f'path.district[data-district="{district}"]', "data-value"))
    requested = datetime.now(UTC) - timedelta(days=10)  # a noise complaint (1-day SLA) long past due
    record = home.more.head(1).with_columns(
        pl.lit("XSS-0001").alias("service_request_id"), pl.lit("open").alias("status"),
        pl.lit("noise").alias("service_code"), pl.lit("Noise").alias("service_name"), pl.lit(XSS).alias("description"),
        pl.lit(requested.strftime("%Y-%m-%dT%H:%M:%SZ")).alias("requested_datetime"),
        pl.lit(None, pl.String).alias("updated_datetime"), pl.lit(None, pl.String).alias("closed_datetime"),
        pl.lit(None, pl.String).alias("expected_datetime"), pl.lit(55.15).alias("lat"), pl.lit(37.05).alias("long"),
    )
    land_requests(home, record, "xss")
    page.wait_for_function(f"""() => document.querySelector('[data-kpi="today.backlog"] .tile-value')?.dataset.value
        == '{backlog + 1}' && document.querySelector('path.district[data-district="{district}"]')?.dataset.value
        == '{before + 1}'""", timeout=10_000)
    shown_at = int(page.get_attribute("#live", "data-updated-at")) / 1000
    took = shown_at - last_commit(home).timestamp()
    print(f"the landed request was on the page {took:.2f} s after the stream committed it")
    assert 0 < took < LIVE_SECONDS
    assert page.get_attribute("#live", "data-state") == "ok"
    watched.shot("live-update")
    page.reload()  # its text is published (scrubbed) a moment after its figures
    watched.ready()
    row = page.locator('#overdue-table tbody tr[data-request="XSS-0001"]')
    row.wait_for(timeout=5_000)
    text = row.locator("td.text").inner_text()
    assert "<script>window.__xss = 1</script>" in text and '<img src=x onerror="window.__xss = 2">' in text
    assert page.evaluate("window.__xss") is None
    assert page.locator("#overdue-table script, #overdue-table img").count() == 0
    row.get_by_role("button").click()  # shows it on the map, in a popup of text
    assert "<script>" in page.locator(".leaflet-popup-content").inner_text()
    assert page.locator(".leaflet-popup-content script, .leaflet-popup-content img").count() == 0
    assert page.evaluate("window.__xss") is None and watched.errors == []
    watched.shot("escaped-text")


def last_commit(home) -> datetime:
    store = LiveStoreReader.open(home.workspace.live_store(home.city))
    try:
        return store.last_commit()
    finally:
        store.close()


def test_filters_live_in_the_url_update_every_panel_and_survive_a_reload(watched, url):
    watched.open()
    page = watched.page
    page.focus('path.district[data-district="S1"]')  # the keyboard works the map too
    page.keyboard.press("Enter")
    page.wait_for_function("() => new URLSearchParams(location.search).get('district') === 'S1'")
    watched.ready()
    page.select_option('select[name="category"]', "noise")
    page.wait_for_function("() => new URLSearchParams(location.search).get('category') === 'noise'")
    watched.ready()
    assert watched.query() == {"district": "S1", "category": "noise"}
    check_filtered_view(watched, url)
    assert page.get_attribute("#live", "data-state") == "ok" and page.inner_text("#live-text").startswith("Live")
    watched.shot("district-filter")
    page.reload()
    watched.ready()
    assert page.input_value('select[name="district"]') == "S1" and page.input_value('select[name="category"]') == "noise"
    check_filtered_view(watched, url)
    page.go_back()  # the history has the view before the category too
    watched.ready()
    assert watched.query() == {"district": "S1"}
    assert_tiles_match(watched, api(url, "/api/v1/requests/summary", district="S1"))
    assert watched.errors == []


def check_filtered_view(watched: Watched, url: str) -> None:
    page = watched.page
    assert_tiles_match(watched, api(url, "/api/v1/requests/summary", district="S1", category="noise"))
    assert page.get_attribute('path.district[data-district="S1"]', "aria-pressed") == "true"
    assert page.get_attribute('path.district[data-district="N1"]', "aria-pressed") == "false"
    overdue = api(url, "/api/v1/requests", district="S1", category="noise", status="open", overdue="true",
                  sort="-hours_overdue", limit=100)["items"]
    shown = page.eval_on_selector_all("#overdue-table tbody tr", "rows => rows.map(r => r.dataset.request)")
    assert shown == [r["service_request_id"] for r in overdue]
    stations = page.eval_on_selector_all("#stations tbody tr", "rows => rows.map(r => r.dataset.station)")
    assert stations == ["st-3"]  # the one station in South One
    days = api(url, "/api/v1/requests/trends", district="S1", category="noise")["by_category"]
    assert page.locator("#by-category tbody tr").count() == len(days)
    assert page.inner_text("#turnout tbody tr.selected th") == "South One"


def test_switching_language_changes_labels_and_number_formats(watched, url):
    watched.open("/?lang=en")
    page = watched.page
    assert page.inner_text("#kpis-title") == "Key figures" and page.get_attribute("html", "lang") == "en"
    share = float(watched.tile("last_7_days", "share_closed_within_sla"))
    backlog = int(watched.tile("today", "backlog"))
    english = page.inner_text('[data-kpi="last_7_days.share_closed_within_sla"] .tile-value')
    assert english == page.evaluate("v => new Intl.NumberFormat('en-GB', {style: 'percent', maximumFractionDigits: 1}).format(v)", share)
    page.click('button[data-lang="ru"]')
    page.wait_for_function("() => document.documentElement.lang === 'ru'")
    assert page.inner_text("#kpis-title") == "Главные показатели"
    assert page.inner_text('label:has(select[name="district"]) span') == "Район"
    russian = page.inner_text('[data-kpi="last_7_days.share_closed_within_sla"] .tile-value')
    assert russian == page.evaluate("v => new Intl.NumberFormat('ru-RU', {style: 'percent', maximumFractionDigits: 1}).format(v)", share)
    assert russian != english and "," in russian or share in (0, 1)
    shown_backlog = page.inner_text('[data-kpi="today.backlog"] .tile-value')
    assert shown_backlog == page.evaluate("v => new Intl.NumberFormat('ru-RU').format(v)", backlog)
    if backlog >= 10_000:
        assert "\u00a0" in shown_backlog or "\u202f" in shown_backlog  # Russian groups digits with a space
    assert watched.query().get("lang") == "ru"
    watched.shot("russian")
    page.reload()
    watched.ready()
    assert page.inner_text("#kpis-title") == "Главные показатели" and watched.errors == []


def test_the_page_fits_a_phone_screen(browser, url):
    phone = Watched(browser, url, width=390, height=844)
    try:
        phone.open()
        overflow = phone.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow} px wider than a phone screen"
        assert phone.page.locator("path.district").count() == len(DISTRICTS) and phone.errors == []
        phone.shot("phone")
    finally:
        phone.close()


def test_built_assets_are_small_compressed_and_cached(url):
    index = httpx.get(f"{url}/", timeout=10)
    assets = [part.split('"')[0] for part in index.text.split('/static/')[1:]]
    total = 0
    for asset in assets:
        response = httpx.get(f"{url}/static/{asset}", headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert response.status_code == 200
        total += int(response.headers["content-length"])
        if asset.endswith((".js", ".css")):
            assert response.headers["content-encoding"] == "gzip"
            assert "immutable" in response.headers["cache-control"]
    assert total < 1_000_000
    config = json.loads(index.text.split('id="urbanpulse-config">')[1].split("</script>")[0])
    assert config["city"] == "tiny" and config["timezone"] == "Europe/Moscow"
    assert httpx.get(f"{url}/static/../page.py", timeout=10).status_code == 404
