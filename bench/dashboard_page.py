"""Benchmark of the dashboard page of the demo city, measured in headless Debian Chromium.

    .venv/bin/python -m bench.dashboard_page [--requests 20000] [--loads 5] [--rate 100] [--seconds 10]

1. A demo city whose live store holds `--requests` requests of the last days (through the live
   pipeline), six sensor stations and an open vote: the city the browser tests use, at demo size.
2. `urbanpulse serve` in its own process, as a department runs it.
3. `--loads` cold loads (a fresh browser context each, nothing cached): first contentful paint,
   largest contentful paint, the first meaningful paint (the page's `urbanpulse-meaningful` mark:
   the KPI tiles and the district map drawn with the API's figures, what a 1280x900 screen shows
   first) and every panel drawn (`urbanpulse-ready`: trends, overdue table, sensors and
   participation too); bytes transferred by the whole first load (page, bundles and every
   API answer; the event stream, which never ends, is left out).
4. Responsiveness: frame times (requestAnimationFrame) and long tasks (> 50 ms) in one open page,
   first for `--seconds` with a quiet stream (the baseline of the same run), then for `--seconds`
   with `--rate` change events a second on /api/v1/stream, plus how long a district click takes
   to show that district's tiles meanwhile. The events are copies of the store's newest committed
   change row (the real server sends them, the page handles each as a change of request figures);
   only their rate is made, since the live pipeline does not commit a hundred segments a second
   on this machine.

The machine is shared: compare the loaded figures with the quiet baseline of the same run.
Writes bench/out/dashboard_page.json and .md, and screenshots of the demo city's page
(bench/out/screenshots/demo-overview.png, demo-map-density.png).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.report import code_state, machine_info, save_report
from flows.cli_steps import urbanpulse_command
from plumbing.workspace import Workspace
from schemas import live as lv

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
SCREENSHOTS = OUT / "screenshots"
sys.path.insert(0, str(REPO / "tests"))  # the city the browser tests use, built by the same function

from browser_fixtures import chromium, chromium_path, dashboard_home

BUDGET_BYTES = 1_500_000
BUDGET_PAINT_SECONDS = 1.0

FRAME_RECORDER = """() => {
  window.__bench = { frames: [], longTasks: [] };
  let last = performance.now();
  const frame = (now) => { window.__bench.frames.push(now - last); last = now; requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__bench.longTasks.push(e.duration); })
    .observe({ type: "longtask" });
}"""
TAKE_FRAMES = """() => { const taken = window.__bench; window.__bench = { frames: [], longTasks: [] }; return taken; }"""
LOAD_FIGURES = """() => new Promise((resolve) => {
  let lcp = null;
  new PerformanceObserver((list) => { for (const e of list.getEntries()) lcp = e.startTime; })
    .observe({ type: "largest-contentful-paint", buffered: true });
  requestAnimationFrame(() => setTimeout(() => {
    const paint = performance.getEntriesByName("first-contentful-paint")[0];
    const ready = performance.getEntriesByName("urbanpulse-ready")[0];
    const nav = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource").filter((r) => !r.name.includes("/api/v1/stream"));
    resolve({ fcp: paint?.startTime ?? null, lcp, ready: ready?.startTime ?? null,
      bytes: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
      decoded: nav.decodedBodySize + resources.reduce((sum, r) => sum + r.decodedBodySize, 0),
      requests: resources.length + 1, hosts: [...new Set(resources.map((r) => new URL(r.name).host))],
      meaningful: performance.getEntriesByName("urbanpulse-meaningful")[0]?.startTime ?? null,
      slowest: resources.map((r) => [new URL(r.name).pathname, Math.round(r.startTime), Math.round(r.duration)])
        .sort((a, b) => b[2] - a[2]).slice(0, 6) });
  }, 200));
})"""


def build(home: Path, requests: int) -> dict:
    from synthetic.demo_city import build_demo_city

    started = time.perf_counter()
    pack = build_demo_city(home / "cities" / "demo")
    built = dashboard_home(home, pack, landed=requests, more=0, chunk=2_000, stations=6, ballots=5_000)
    return {"requests": requests, "districts": len(pack.districts_frame()), "stations": len(built.stations),
            "build_seconds": round(time.perf_counter() - started, 1)}


def serve(home: Path, port: int, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(urbanpulse_command(home, "serve", "--city", "demo", "--port", str(port)),
                               cwd=REPO, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code in (200, 503):
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"urbanpulse serve did not answer on port {port} within 90 s (see {log})")


def cold_loads(browser, url: str, loads: int) -> dict:
    runs = []
    for _ in range(loads):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        page.wait_for_load_state("networkidle")
        runs.append(page.evaluate(LOAD_FIGURES))
        if len(runs) == loads:  # the demo city's dashboard, for the README
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "demo-overview.png"), full_page=True)
            page.select_option("#measure", "backlog")
            page.check("#density-on")
            page.wait_for_load_state("networkidle")
            page.locator("#map-panel").screenshot(path=str(SCREENSHOTS / "demo-map-density.png"))
        context.close()
    median = lambda key: round(statistics.median(r[key] for r in runs if r[key] is not None) / 1000, 3)
    return {"loads": loads, "first_contentful_paint_s": median("fcp"), "largest_contentful_paint_s": median("lcp"),
            "first_meaningful_paint_s": median("meaningful"),
            "first_meaningful_paint_all_s": [round(r["meaningful"] / 1000, 3) for r in runs],
            "every_panel_drawn_s": median("ready"), "slowest_requests_ms": runs[-1]["slowest"],
            "transferred_bytes": runs[-1]["bytes"], "decoded_bytes": runs[-1]["decoded"],
            "requests": runs[-1]["requests"], "hosts": runs[-1]["hosts"]}


class ChangeInjector(threading.Thread):
    """Copies of the store's newest change row, `rate` a second, committed as a writer would."""

    def __init__(self, store: Path, rate: float, seconds: float) -> None:
        super().__init__(daemon=True)
        self.store, self.rate, self.seconds, self.sent = store, rate, seconds, 0

    def run(self) -> None:
        db = sqlite3.connect(self.store, timeout=30)
        table, row_id, payload, at = lv.CHANGES_TABLE.name, lv.CHANGE_ROW_ID, lv.PAYLOAD, lv.COMMITTED_AT
        (template,) = db.execute(f"SELECT {payload} FROM {table} WHERE {payload} NOT LIKE '%\"kind\"%' "
                                 f"ORDER BY {row_id} DESC LIMIT 1").fetchone()
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < self.seconds:
            due = int(elapsed * self.rate) + 1 - self.sent
            for _ in range(max(due, 0)):
                now = int(datetime.now(UTC).timestamp() * 1_000_000)
                db.execute(f"INSERT INTO {table} ({at}, {payload}) VALUES (?, ?)", (now, template))
                db.commit()
                self.sent += 1
            time.sleep(max(0.0, (self.sent / self.rate) - (time.monotonic() - started)))
        db.close()


def frame_figures(taken: dict, seconds: float) -> dict:
    frames = sorted(taken["frames"][1:])
    pick = lambda share: round(frames[min(len(frames) - 1, round(share * (len(frames) - 1)))], 1)
    return {"frames": len(frames), "fps": round(len(frames) / seconds, 1), "frame_ms_p50": pick(0.5),
            "frame_ms_p95": pick(0.95), "frame_ms_p99": pick(0.99), "frame_ms_max": round(frames[-1], 1),
            "long_tasks": len(taken["longTasks"]), "long_task_ms_total": round(sum(taken["longTasks"]), 1),
            "long_task_ms_max": round(max(taken["longTasks"], default=0), 1)}


def click_latency(page, url: str, district: str) -> float:
    """A district chosen on the map (Enter on its shape) until its tiles show the API's figures for it."""
    expected = httpx.get(f"{url}/api/v1/requests/summary", params={"district": district}, timeout=30).json()
    started = time.perf_counter()
    page.focus(f'path.district[data-district="{district}"]')  # a click on a shape's middle may miss a concave one
    page.keyboard.press("Enter")
    page.wait_for_function(
        "([v]) => document.querySelector('[data-kpi=\"last_7_days.new\"] .tile-value')?.dataset.value == String(v)",
        arg=[expected["last_7_days"]["new"]], timeout=30_000)
    return round(time.perf_counter() - started, 3)


def responsiveness(browser, url: str, store: Path, rate: float, seconds: float) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    page.wait_for_load_state("networkidle")
    districts = page.eval_on_selector_all("path.district", "nodes => nodes.map(n => n.dataset.district)")
    page.evaluate(FRAME_RECORDER)
    time.sleep(seconds)
    quiet = frame_figures(page.evaluate(TAKE_FRAMES), seconds)
    quiet["district_click_s"] = click_latency(page, url, districts[0])
    page.evaluate(TAKE_FRAMES)
    before = int(page.get_attribute("#live", "data-changes") or 0)
    injector = ChangeInjector(store, rate, seconds)
    injector.start()
    time.sleep(seconds / 2)
    clicked = click_latency(page, url, districts[1])
    injector.join()
    busy = frame_figures(page.evaluate(TAKE_FRAMES), seconds)
    busy["district_click_s"] = clicked
    time.sleep(1.5)
    page.evaluate("() => new Promise((r) => setTimeout(r, 0))")
    received = int(page.get_attribute("#live", "data-changes") or 0) - before
    busy |= {"events_sent": injector.sent, "events_per_s": round(injector.sent / seconds, 1),
             "events_received_by_page": received, "live_state": page.get_attribute("#live", "data-state")}
    context.close()
    return {"quiet": quiet, f"{rate:g}_updates_per_s": busy}


def render(report: dict) -> str:
    load, resp = report["first_load"], report["responsiveness"]
    busy = next(v for k, v in resp.items() if k != "quiet")
    quiet = resp["quiet"]
    rows = [("first meaningful paint (KPI tiles and district map drawn with the API's figures), median",
             f"{load['first_meaningful_paint_s']} s", f"< {BUDGET_PAINT_SECONDS} s"),
            ("every panel drawn (trends, overdue table, sensors, participation too), median",
             f"{load['every_panel_drawn_s']} s", ""),
            ("first contentful paint, median", f"{load['first_contentful_paint_s']} s", ""),
            ("largest contentful paint, median", f"{load['largest_contentful_paint_s']} s", ""),
            ("transferred on the first load", f"{load['transferred_bytes'] / 1e6:.3f} MB ({load['requests']} requests)",
             f"< {BUDGET_BYTES / 1e6} MB"),
            ("frame time p95, quiet / under load", f"{quiet['frame_ms_p95']} / {busy['frame_ms_p95']} ms", ""),
            ("frame time max, quiet / under load", f"{quiet['frame_ms_max']} / {busy['frame_ms_max']} ms", ""),
            ("long tasks, quiet / under load", (f"{quiet['long_tasks']} / {busy['long_tasks']} "
                                                f"({quiet['long_task_ms_total']} / {busy['long_task_ms_total']} ms)"), ""),
            ("district click to its tiles, quiet / under load", f"{quiet['district_click_s']} / {busy['district_click_s']} s", ""),
            ("change events sent / received by the page", f"{busy['events_sent']} / {busy['events_received_by_page']}", "")]
    lines = [f"# Dashboard page benchmark ({report['city']['districts']} districts, {report['city']['requests']:,} requests)", "",
             f"machine: {report['machine']['nproc']} cores, {report['machine']['cpu_model']} (shared with other work)", "",
             "| figure | measured | budget |", "|---|---|---|", *[f"| {a} | {b} | {c} |" for a, b, c in rows]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args(argv)
    executable, why = chromium_path()
    if executable is None:
        print(f"cannot run the dashboard benchmark: {why}", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="dashboard-bench-", dir=OUT))
    server = None
    try:
        city = build(home, args.requests)
        print(f"demo city built: {city}", flush=True)
        server = serve(home, args.port, OUT / "dashboard_page_serve.log")
        url = f"http://127.0.0.1:{args.port}/"
        with chromium(executable) as browser:
            first_load = cold_loads(browser, url, args.loads)
            print(f"first load: {first_load}", flush=True)
            figures = responsiveness(browser, url.rstrip("/"), Workspace(home).live_store("demo"),
                                     args.rate, args.seconds)
        report = {"city": city, "first_load": first_load, "responsiveness": figures,
                  "machine": machine_info(), "code": code_state(), "measured_at": datetime.now(UTC).isoformat()}
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)
    save_report(OUT, "dashboard_page", report, render(report))
    print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
