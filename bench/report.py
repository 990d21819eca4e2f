"""The bench report: machine and code facts, run summaries, written as JSON and Markdown."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil

from bench.markdown import render_markdown
from bench.workload import REPO_ROOT

LIBRARIES = (
    "apache-beam",
    "polars",
    "pyarrow",
    "numpy",
    "scikit-learn",
    "pandas",
    "geopandas",
    "shapely",
    "h3",
    "psutil",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _library_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _git(*args: str) -> str:
    result = subprocess.run(
        ["git", *args], check=False, cwd=REPO_ROOT, capture_output=True, text=True
    )
    return result.stdout if result.returncode == 0 else ""


def code_state() -> dict:
    """Which code was measured: the commit, the files changed on top of it, and a fingerprint
    of their content (compare the one taken at the start with the one at the end of a run)."""
    changed = [
        line[3:]
        for line in _git("status", "--porcelain").splitlines()
        if not line[3:].startswith("bench/")
    ]
    digest = hashlib.sha256(_git("diff", "HEAD").encode())
    for name in sorted(_git("ls-files", "--others", "--exclude-standard").splitlines()):
        if not name.startswith("bench/") and (REPO_ROOT / name).is_file():
            digest.update((REPO_ROOT / name).read_bytes())
    return {
        "commit": _git("rev-parse", "HEAD").strip(),
        "changed_files": changed,
        "fingerprint": digest.hexdigest()[:16],
    }


def machine_info() -> dict:
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "libraries": {name: _library_version(name) for name in LIBRARIES},
    }


def summarise_runs(runs: list) -> dict:
    """Medians and every run's figures (time, memory, CPU, the machine's other load), plus the
    counts of the last run."""
    seconds = [run.seconds for run in runs]
    rss = [run.peak_rss_mb for run in runs]
    return {
        "seconds_median": statistics.median(seconds),
        "seconds_all": seconds,
        "peak_rss_mb_median": statistics.median(rss),
        "peak_rss_mb_all": rss,
        "cpu_seconds_all": [run.cpu_seconds for run in runs],
        "other_cpu_seconds_all": [run.other_cpu_seconds for run in runs],
        "machine_busy_before_all": [run.machine_busy_before for run in runs],
        "counts": runs[-1].counts,
    }


def save_report(out: Path, stem: str, report: dict, markdown: str | None = None) -> Path:
    """`out/stem.json` (and `out/stem.md` when there is a Markdown rendering), UTF-8; returns the
    path to show: the Markdown file if there is one, else the JSON."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{stem}.json"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    if markdown is None:
        return json_path
    md_path = out / f"{stem}.md"
    md_path.write_text(markdown, encoding="utf-8")
    return md_path


def write_report(report: dict, out: Path) -> tuple[Path, Path]:
    md_path = save_report(out, "batch_report", report, render_markdown(report))
    return out / "batch_report.json", md_path
