"""`make bench-sensors`: 10M observations, file -> QC -> hourly and daily figures, against the pandas peer.

The demo city's generated stations and observations (`synthetic.sensors`: diurnal cycles, planted
gaps, spikes, flatlines, duplicates) are written once as the peer's long CSV
(`station_id, parameter, period_start, value`). Then, in the same run and on the same file:

* the peer, `../shared/bench/peer_sensors.py` (pandas; daily roll-ups with the 75% rule), as it
  ships, in its own process;
* UrbanPulse, `ingest sensors --format csv` in its own process: normalisation, dead letters, QC
  flags, hourly and daily figures with mda8, every dataset published in one commit.

Both are timed from process start to exit with their peak memory (`bench.measure`); medians of
`--repeat` runs, the other CPU load of the machine beside each. The two daily tables are then
compared station-day by station-day (UrbanPulse also leaves out spikes, flatlines and duplicates,
which the peer keeps, so counts differ exactly where faults were planted).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from bench.measure import run_measured
from bench.report import code_state, machine_info, save_report
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import sensors as sn
from synthetic.demo_city import build_demo_city
from synthetic.sensors import generate_observations, generate_stations, write_long_csv

REPO = Path(__file__).resolve().parents[1]
PEER = REPO.parent / "shared" / "bench" / "peer_sensors.py"
OUT = REPO / "bench" / "out"
TIMEZONE = "Europe/Moscow"
PARAMETERS = ("pm25", "pm10", "no2", "o3", "temperature")
INGEST = "import sys; from pipelines.ingest_sensors import run; run(sys.argv[1:])"


def write_input(home: Path, stations: int, hours: int) -> tuple[Path, int]:
    pack = build_demo_city(Workspace(home).city("demo"))
    placed = generate_stations(pack, stations, seed=7)
    generated = generate_observations(pack, placed, datetime(2024, 1, 1, tzinfo=UTC), hours, seed=7,
                                      parameters=PARAMETERS)
    path = write_long_csv(generated.observations, home / "observations.csv")
    return path, generated.observations.height


def measure(commands: list[list[str]], log: Path) -> dict:
    runs = [run_measured(command, REPO, log.with_name(f"{log.name}-{number}")) for number, command in enumerate(commands)]
    return {"seconds_median": statistics.median(r.seconds for r in runs), "seconds_all": [r.seconds for r in runs],
            "peak_rss_mb_median": statistics.median(r.peak_rss_mb for r in runs),
            "other_cpu_seconds_all": [r.other_cpu_seconds for r in runs]}


def compare(peer_daily: Path, home: Path) -> dict:
    ours = pl.read_parquet(Workspace(home).city_dataset(ds.SENSOR_DAILY, "demo") / "**" / "*.parquet",
                           hive_partitioning=False).select(sn.STATION_ID, sn.PARAMETER, sn.DATE, sn.COUNT, sn.VALID,
                                                           sn.MEAN)
    theirs = pl.read_parquet(peer_daily).select(
        sn.STATION_ID, sn.PARAMETER, pl.col("date").cast(pl.Date).alias(sn.DATE),
        pl.col("count").cast(pl.Int64).alias("peer_count"), pl.col("valid").alias("peer_valid"),
        pl.col("mean").alias("peer_mean"))
    joined = ours.join(theirs, on=[sn.STATION_ID, sn.PARAMETER, sn.DATE], how="full", coalesce=True)
    both = joined.drop_nulls([sn.COUNT, "peer_count"])
    same = both.filter((pl.col(sn.COUNT) == pl.col("peer_count")) & (pl.col(sn.VALID) == pl.col("peer_valid")))
    return {"station_days_ours": ours.height, "station_days_peer": theirs.height, "in_both": both.height,
            "same_count_and_validity": same.height,
            "max_mean_difference_where_counts_agree": float(
                same.select((pl.col(sn.MEAN) - pl.col("peer_mean")).abs().max()).item() or 0.0)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=100)
    parser.add_argument("--hours", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="urbanpulse-bench-sensors-") as folder:
        home = Path(folder)
        path, rows = write_input(home, args.stations, args.hours)
        print(f"{rows:,} observations, {path.stat().st_size / 2**20:.0f} MB of CSV", flush=True)
        report = {"machine": machine_info(), "code": code_state(), "observations": rows, "repeat": args.repeat}
        runs = [home / f"run-{number}" for number in range(args.repeat)]  # each run publishes into a fresh home
        report["urbanpulse"] = measure(
            [[sys.executable, "-c", INGEST, f"--sensor_input={path}", "--sensor_city=demo", f"--sensor_home={run}",
              "--sensor_format=csv", f"--sensor_timezone={TIMEZONE}"] for run in runs],
            OUT / "logs" / "sensors-urbanpulse")
        print(f"UrbanPulse: {report['urbanpulse']['seconds_median']:.1f} s, "
              f"{report['urbanpulse']['peak_rss_mb_median']:.0f} MB", flush=True)
        if PEER.is_file():
            daily = home / "peer-daily.parquet"
            report["peer"] = measure([[sys.executable, str(PEER), "--timezone", TIMEZONE, "--out", str(daily), str(path)]
                                      for _ in range(args.repeat)], OUT / "logs" / "sensors-peer")
            report["ratio"] = report["peer"]["seconds_median"] / report["urbanpulse"]["seconds_median"]
            report["agreement"] = compare(daily, runs[-1])
            print(f"pandas peer: {report['peer']['seconds_median']:.1f} s, {report['peer']['peak_rss_mb_median']:.0f} MB; "
                  f"UrbanPulse {report['ratio']:.1f}x faster; {report['agreement']}", flush=True)
        else:
            print(f"peer not found at {PEER}: UrbanPulse alone")
    print(f"report: {save_report(OUT, 'sensors_report', report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
