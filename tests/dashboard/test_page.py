"""The dashboard page's server side without a browser: settings, policy, language, assets."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from conftest import build_tiny_pack
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dashboard.page import PageSettings, choose_language, content_security_policy, page_router


@pytest.fixture()
def static(tmp_path):
    folder = tmp_path / "static"
    folder.mkdir()
    (folder / "index.html").write_text('<!doctype html><html lang="en"><head><!--urbanpulse-config--></head>'
                                       '<body></body></html>', encoding="utf-8")
    (folder / "main-ABCDEFGH.js").write_text("console.log(1)", encoding="utf-8")
    (folder / "main-ABCDEFGH.js.gz").write_bytes(gzip.compress(b"console.log(1)"))
    (tmp_path / "secret.txt").write_text("not for the web", encoding="utf-8")
    return folder


def client(home, static) -> TestClient:
    pack = build_tiny_pack(home)
    app = FastAPI()
    app.include_router(page_router(home, pack.root, "tiny", static=static))
    return TestClient(app)


def config_of(html: str) -> dict:
    return json.loads(html.split('id="urbanpulse-config">')[1].split("</script>")[0])


def test_the_page_carries_the_city_settings_and_a_strict_policy(tmp_path, static):
    page = client(tmp_path, static).get("/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "default-src 'none'" in policy and "unsafe" not in policy
    config = config_of(page.text)
    assert config["city"] == "tiny" and config["timezone"] == "Europe/Moscow" and config["tile_url"] is None
    assert config["categories"]["noise"] == {"en": "Noise", "ru": "Шум", "department": "police"}
    assert config["departments"] == ["police", "roads"]


def test_settings_cannot_end_the_data_block_and_add_the_tile_host_for_images_only(tmp_path, static):
    attribution = "</script><script>alert(1)</script> & friends"
    (tmp_path / "dashboard.json").write_text(json.dumps({
        "tile_url": "https://tiles.example.org/{z}/{x}/{y}.png", "tile_attribution": attribution, "language": "ru"}))
    page = client(tmp_path, static).get("/")
    assert page.text.count("<script") == 1 and "alert(1)</script>" not in page.text
    assert config_of(page.text)["tile_attribution"] == attribution
    assert '<html lang="ru"' in page.text
    policy = page.headers["content-security-policy"]
    assert "img-src 'self' data: https://tiles.example.org;" in policy and "connect-src 'self';" in policy


@pytest.mark.parametrize("settings, message", [
    ({"tile_url": "javascript:alert(1)"}, "not an http(s) URL template"),
    ({"language": "de"}, "use one of en, ru"),
    ({"colour": "red"}, "unknown settings colour"),
])
def test_bad_settings_say_what_is_wrong(tmp_path, settings, message):
    (tmp_path / "dashboard.json").write_text(json.dumps(settings))
    with pytest.raises(ValueError, match=re.escape(message)):
        PageSettings.read(tmp_path)


@pytest.mark.parametrize("asked, header, expected", [
    ("ru", "en-GB,en", "ru"), (None, "ru-RU,ru;q=0.9,en;q=0.8", "ru"), (None, "de-DE,en;q=0.5", "en"),
    (None, "", "en"), ("xx", "", "en"),
])
def test_language_comes_from_the_link_then_the_browser(asked, header, expected):
    assert choose_language(asked, header, "en") == expected


def test_assets_are_gzipped_cached_and_confined_to_the_static_folder(tmp_path, static):
    web = client(tmp_path, static)
    bundle = web.get("/static/main-ABCDEFGH.js", headers={"Accept-Encoding": "gzip"})
    assert bundle.status_code == 200 and bundle.text == "console.log(1)"
    assert bundle.headers["content-encoding"] == "gzip" and "immutable" in bundle.headers["cache-control"]
    assert bundle.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    plain = web.get("/static/main-ABCDEFGH.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == "console.log(1)"
    for path in ("/static/..%2Fsecret.txt", "/static/%2e%2e/secret.txt", "/static/main-ABCDEFGH.js.gz", "/static/nope.js"):
        assert web.get(path).status_code == 404, path


def test_an_unbuilt_page_says_how_to_build_it(tmp_path):
    page = client(tmp_path, tmp_path / "missing").get("/")
    assert page.status_code == 503 and "npm ci && npm run build" in page.text


def test_the_policy_without_a_tile_server_allows_no_other_host():
    policy = content_security_policy(PageSettings())
    assert "http" not in policy and "frame-ancestors 'none'" in policy
