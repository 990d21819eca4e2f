"""Geocoding benchmark: forward geocoding with a gazetteer learned from history, and reverse
geocoding throughput against a shapely STRtree baseline on the same points.

(a) The demo city's boundaries, but no gazetteer: one is learned from an EARLIER generated history
    (`--history` requests over the first 30 days) and used to geocode the address field of LATER
    requests (`--later`, the next 10 days), graded against the generator's true house points. The
    baseline is what a plain lookup table of past addresses would do: the median reported point
    per exact address text, nothing for a text never seen.
(b) A harder address world (`bench.geocode_world`): a satellite town whose streets share names with
    the city's, odd/even sides, корпус variants nobody reported, streets in two pieces, crossings,
    district-only texts, Russian and English in several transliterations. Graded three ways in
    the same run: the geocoder of `--reference-rev` (the shipped code before this work, read with
    `git show`), today's geocoder on a gazetteer learned from the same history, and today's on an
    imported address register (70% of the houses, a `;`-separated CSV with decimal commas and
    bad rows) refined by that history.
(c) 1M random points in the city's bounding box: district + parent + H3 cell with
    `ReverseGeocoder.predict_batch` vs shapely `STRtree.query(predicate="within")` + the same
    parent gather + H3 cells, both timed on the same points.

    python -m bench.geocode [--history 100000] [--later 20000] [--points 1000000] [--runs 3]
                            [--reference-rev 95625b7]
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import h3.api.numpy_int as h3_int
import numpy as np
import polars as pl
import shapely

from bench import geocode_world as gw
from bench.report import machine_info, save_report
from models.cities.pack import CityPack
from models.geocoding import address_parser as ap
from models.geocoding.address_register import read_register, register_gazetteer
from models.geocoding.forward import ForwardGeocoder
from models.geocoding.gazetteer import learn_addresses, merge_gazetteer
from models.geocoding.reverse import ReverseGeocoder
from schemas import citypack as cp
from schemas import requests as rq
from synthetic.demo_city import build_demo_city
from synthetic.requests.generator import generate_requests

OUT = Path(__file__).resolve().parent / "out"
START = datetime(2026, 8, 1, tzinfo=UTC)
WITHIN_M = 250.0
REFERENCE_REV = "95625b79f035b5cdd25c1fb96ccc179d2fca6ef1"  # the geocoder before localities and gaps
GPS_NOISE_M, OUTLIER_SHARE = 15.0, 0.05


def _error_m(lat, lon, true_lat, true_lon) -> np.ndarray:
    dy = (lat - true_lat) * 111_200
    dx = (lon - true_lon) * 111_200 * np.cos(np.radians(true_lat))
    return np.sqrt(dx**2 + dy**2)  # NaN where nothing was found


def _timed(fn, runs: int) -> tuple[list[float], object]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def forward(pack: CityPack, history_n: int, later_n: int, runs: int) -> dict:
    history, _ = generate_requests(pack, history_n, seed=11, start=START, days=30)
    later, truth = generate_requests(pack, later_n, seed=12, start=START + timedelta(days=30), days=10)
    learn_s, learned = _timed(lambda: learn_addresses(history[rq.ADDRESS], history[rq.LAT], history[rq.LONG], pack), 1)
    geocoder = ForwardGeocoder(merge_gazetteer(None, learned).gazetteer)
    asked = later.with_columns(truth[rq.LAT].alias("true_lat"), truth[rq.LONG].alias("true_long"))
    asked = asked.filter(pl.col(rq.ADDRESS).is_not_null())
    seconds, found = _timed(lambda: geocoder.predict_batch(asked[rq.ADDRESS]), runs)
    error = _error_m(found[rq.LAT].to_numpy(), found[rq.LONG].to_numpy(),
                     asked["true_lat"].to_numpy(), asked["true_long"].to_numpy())
    keys = ap.parse_addresses(asked[rq.ADDRESS]).select(ap.STREET_KEY, ap.TYPE_KEY, ap.HOUSE_KEY)
    seen = keys.join(learned.select(ap.STREET_KEY, ap.TYPE_KEY, ap.HOUSE_KEY).with_columns(pl.lit(True).alias("seen")),
                     on=[ap.STREET_KEY, ap.TYPE_KEY, ap.HOUSE_KEY], how="left", nulls_equal=True,
                     maintain_order="left")["seen"].fill_null(False).to_numpy()
    precision = found[rq.GEOCODE_PRECISION].value_counts().sort("count", descending=True).rows()
    # baseline: exact address text -> median of its past reports
    table = history.filter(pl.col(rq.LAT).is_not_null()).group_by(rq.ADDRESS).agg(
        pl.col(rq.LAT, rq.LONG).median()
    )
    base = asked.select(rq.ADDRESS).join(table, on=rq.ADDRESS, how="left", maintain_order="left")
    base_error = _error_m(base[rq.LAT].to_numpy(), base[rq.LONG].to_numpy(),
                          asked["true_lat"].to_numpy(), asked["true_long"].to_numpy())
    unseen_error = error[~seen]
    return {
        "history_requests": history_n, "later_requests": later_n, "later_addresses": asked.height,
        "learned_addresses": learned.height, "learn_seconds": learn_s[0],
        "gazetteer_houses_in_city": pack.gazetteer.height if pack.gazetteer is not None else None,
        "share_within_250m": float(np.mean(np.nan_to_num(error, nan=np.inf) <= WITHIN_M)),
        "median_error_m": float(np.nanmedian(error)),
        "unseen_houses": int((~seen).sum()),
        "unseen_share_within_250m": float(np.mean(np.nan_to_num(unseen_error, nan=np.inf) <= WITHIN_M)),
        "unseen_median_error_m": float(np.nanmedian(unseen_error)) if unseen_error.size else None,
        "unseen_not_placed": int(np.isnan(unseen_error).sum()),
        "precision_counts": dict(precision),
        "addresses_per_second_median": asked.height / statistics.median(seconds),
        "seconds_all": seconds,
        "baseline_exact_text_share_within_250m": float(np.mean(np.nan_to_num(base_error, nan=np.inf) <= WITHIN_M)),
    }


def reference_modules(rev: str) -> tuple[object, object] | None:
    """(forward, gazetteer) modules of models/geocoding at git revision `rev`, or None without git."""
    root = OUT / "reference" / rev[:12]
    package = root / "reference_geocoding"
    try:
        names = subprocess.run(["git", "ls-tree", "--name-only", rev, "models/geocoding/"], check=True,
                               capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1]).stdout.split()
        package.mkdir(parents=True, exist_ok=True)
        for name in names:
            text = subprocess.run(["git", "show", f"{rev}:{name}"], check=True, capture_output=True, text=True,
                                  cwd=Path(__file__).resolve().parents[1]).stdout
            (package / Path(name).name).write_text(text.replace("models.geocoding", "reference_geocoding"))
    except (OSError, subprocess.CalledProcessError):
        return None
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return importlib.import_module("reference_geocoding.forward"), importlib.import_module("reference_geocoding.gazetteer")


def _history(world: gw.World, n: int, seed: int) -> pl.DataFrame:
    """Requests of the past: written addresses with the resident's GPS point (noise, some far off)."""
    rng = np.random.default_rng(seed)
    past = gw.written(world, n, seed).filter(pl.col("true_lat").is_not_null() & (pl.col(gw.CASE) != "crossing"))
    noise = rng.normal(0, GPS_NOISE_M / 111_200, (past.height, 2))
    far = rng.random(past.height) < OUTLIER_SHARE
    noise[far] += rng.normal(0, 3_000 / 111_200, (int(far.sum()), 2))
    return past.with_columns((pl.col("true_lat") + noise[:, 0]).alias(rq.LAT),
                             (pl.col("true_long") + noise[:, 1] * 1.78).alias(rq.LONG))


def _grade(found: pl.DataFrame, later: pl.DataFrame, seconds: float) -> dict:
    error = _error_m(found[rq.LAT].to_numpy(), found[rq.LONG].to_numpy(),
                     later["true_lat"].to_numpy(), later["true_long"].to_numpy())
    graded = later.with_columns(pl.Series("error", error), found[rq.GEOCODE_PRECISION])
    gradeable = graded.filter(pl.col("true_lat").is_not_null())
    within = (pl.col("error").fill_nan(None).fill_null(float("inf")) <= WITHIN_M).mean()
    cases = gradeable.group_by(gw.CASE).agg(within.alias("within"), pl.len().alias("n")).sort(gw.CASE)
    districts = graded.filter(pl.col(gw.CASE) == "district")
    return {
        "addresses": later.height, "share_within_250m": float(gradeable.select(within).item()),
        "median_error_m": float(np.nanmedian(gradeable["error"].to_numpy())),
        "unresolved_share": float((graded[rq.GEOCODE_PRECISION] == "none").mean()),
        "within_250m_by_case": {c: round(w, 4) for c, w, _ in cases.rows()},
        "addresses_by_case": {c: n for c, _, n in cases.rows()},
        "district_only_resolved": float((districts[rq.GEOCODE_PRECISION] != "none").mean()) if districts.height else None,
        "precision_counts": dict(graded[rq.GEOCODE_PRECISION].value_counts().rows()),
        "addresses_per_second": later.height / seconds,
    }


def messy(pack: CityPack, history_n: int, later_n: int, reference_rev: str | None) -> dict:
    """The harder world, graded for the reference, the learned and the register-based geocoders."""
    world = gw.build_world(pack)
    history = _history(world, history_n, seed=21)
    later = gw.written(world, later_n, seed=22)
    seen = history.select("street_id", "number").unique().with_columns(pl.lit(True).alias("seen"))
    later = later.join(seen, on=["street_id", "number"], how="left", nulls_equal=True, maintain_order="left")
    unseen = pl.col("seen").is_null() & pl.col(gw.CASE).is_in(["house", "english", "town"])
    later = later.with_columns(pl.when(unseen).then(pl.lit("unseen")).otherwise(pl.col(gw.CASE)).alias(gw.CASE))
    addresses = later["address"]
    report: dict = {"world_houses": world.houses.height, "history_requests": history.height}
    runs: dict[str, tuple] = {}
    modules = reference_modules(reference_rev) if reference_rev else None
    if modules is not None:
        old_forward, old_gazetteer = modules
        learned = old_gazetteer.learn_addresses(history["address"], history[rq.LAT], history[rq.LONG], pack)
        runs["reference"] = (old_forward.ForwardGeocoder(old_gazetteer.merge_gazetteer(None, learned).gazetteer), None)
    learned = learn_addresses(history["address"], history[rq.LAT], history[rq.LONG], _without_gazetteer(pack))
    runs["learned"] = (ForwardGeocoder(merge_gazetteer(None, learned).gazetteer, areas=_areas(pack)), None)
    register_csv = OUT / "geocode-home" / "register.csv"
    register_csv.write_bytes(b"\xef\xbb\xbf" + gw.register_rows(world, 0.7, seed=23).write_csv(separator=";").encode())
    imported = register_gazetteer(read_register(register_csv), _without_gazetteer(pack))
    report["register_rows"], report["register_rejected"] = imported.rows, imported.reasons()
    base = imported.gazetteer
    refined = merge_gazetteer(base, learn_addresses(history["address"], history[rq.LAT], history[rq.LONG],
                                                    _with_gazetteer(pack, base))).gazetteer
    runs["register_and_learned"] = (ForwardGeocoder(refined, areas=_areas(pack)), None)
    for name, (geocoder, _) in runs.items():
        started = time.perf_counter()
        found = geocoder.predict_batch(addresses)
        report[name] = _grade(found, later, time.perf_counter() - started)
    return report


def _without_gazetteer(pack: CityPack) -> CityPack:
    return _with_gazetteer(pack, None)


def _with_gazetteer(pack: CityPack, gazetteer: pl.DataFrame | None) -> CityPack:
    from dataclasses import replace

    return replace(pack, gazetteer=gazetteer)


def _areas(pack: CityPack) -> pl.DataFrame:
    from models.geocoding.forward import district_areas

    return district_areas(pack)


def _h3_cells(lat: np.ndarray, lon: np.ndarray, resolution: int) -> list[str]:
    return [format(h3_int.latlng_to_cell(a, b, resolution), "x") for a, b in zip(lat.tolist(), lon.tolist(), strict=True)]


def reverse(pack: CityPack, points: int, runs: int) -> dict:
    rng = np.random.default_rng(5)
    west, south, east, north = shapely.total_bounds(pack.geometries)
    lat = pl.Series(rq.LAT, rng.uniform(south, north, points))
    lon = pl.Series(rq.LONG, rng.uniform(west, east, points))
    geocoder = ReverseGeocoder(pack)  # grid built (or read from its cache) before timing
    ours, located = _timed(lambda: geocoder.predict_batch(lat, lon), runs)
    tree = shapely.STRtree(pack.geometries)
    parents = np.asarray(pack.parent_ids + [None], dtype=object)
    lat_np, lon_np = lat.to_numpy(), lon.to_numpy()

    def baseline() -> np.ndarray:
        point_idx, district_idx = tree.query(shapely.points(lon_np, lat_np), predicate="within")
        district = np.full(points, len(pack.geometries))
        district[point_idx] = district_idx
        inside = district < len(pack.geometries)
        _h3_cells(lat_np[inside], lon_np[inside], pack.h3_resolution)
        return parents[district]

    theirs, _ = _timed(baseline, runs)
    ids = np.asarray(pack.district_ids + [None], dtype=object)
    point_idx, district_idx = tree.query(shapely.points(lon_np, lat_np), predicate="within")
    expected = np.full(points, None, dtype=object)
    expected[point_idx] = ids[district_idx]
    agree = float(np.mean(located[rq.DISTRICT_ID].to_numpy() == expected))
    ours_m, theirs_m = statistics.median(ours), statistics.median(theirs)
    return {
        "points": points, "inside_city": int(located[rq.DISTRICT_ID].is_not_null().sum()),
        "urbanpulse_points_per_second_median": points / ours_m, "urbanpulse_seconds_all": ours,
        "strtree_points_per_second_median": points / theirs_m, "strtree_seconds_all": theirs,
        "speedup": theirs_m / ours_m, "district_agreement": agree,
    }


def _markdown(report: dict) -> str:
    machine = report["machine"]
    summary = (f"Machine: {machine['cpu_model']}, {machine['nproc']} CPUs, {machine['ram_gb']} GB; "
               f"medians of {report['runs']} runs.")
    lines = ["# Geocoding benchmark", "", summary, ""]
    sections = [("Forward geocoding (learned gazetteer)", report["forward"])]
    sections += [(f"Harder addresses: {name}", values) for name, values in report["messy"].items()
                 if isinstance(values, dict) and "share_within_250m" in values]
    sections += [("Reverse geocoding (district + parent + H3)", report["reverse"])]
    for title, values in sections:
        lines += [f"## {title}", "", "| measure | value |", "|---|---|"]
        lines += [f"| {k} | {v:,.4g} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in values.items()]
        lines.append("")
    return "\n".join(lines)


def run(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--later", type=int, default=20_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reference-rev", default=REFERENCE_REV, help="git revision of the geocoder to compare with")
    args = parser.parse_args(argv)
    home = OUT / "geocode-home"
    demo = build_demo_city(home / "demo")
    learned_city = home / "learned"  # the same boundaries, without a gazetteer
    shutil.rmtree(learned_city, ignore_errors=True)
    shutil.copytree(demo.root, learned_city)
    (learned_city / cp.PACK_GAZETTEER_FILE).unlink()
    empty_pack = CityPack.load(learned_city)
    report = {
        "machine": machine_info(), "runs": args.runs,
        "forward": forward(demo, args.history, args.later, args.runs),
        "messy": messy(demo, args.history, args.later, args.reference_rev),
        "reverse": reverse(empty_pack, args.points, args.runs),
    }
    save_report(OUT, "geocode_report", report, _markdown(report))
    return report


if __name__ == "__main__":
    result = run()
    print(json.dumps({k: result[k] for k in ("forward", "messy", "reverse")}, indent=2, default=str))
