"""Run a command in its own process and measure it: wall time and peak memory of its process tree.

Peak memory is the largest sum of resident set sizes over the process and all its descendants,
sampled every `POLL_SECONDS`; the same method serves UrbanPulse and the peer, so the ratio is fair.

The machine may be shared, so every measurement also says how much CPU the rest of the machine
used meanwhile (busy CPU time of the whole machine minus the command's own), and a run can wait
for the machine to go quiet before it starts.
"""

from __future__ import annotations

import resource
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import psutil

POLL_SECONDS = 0.1
BYTES_PER_MB = 1024 * 1024
ERROR_TAIL_CHARS = 4000
QUIET_BUSY_SHARE = 0.1  # the machine counts as quiet below 10% of its CPUs busy
QUIET_WINDOW_SECONDS = 3.0


class BenchCommandError(RuntimeError):
    """A measured command failed; the message carries its command line and the end of its stderr."""


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    other_cpu_seconds: float
    stdout: str


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent working since boot (all CPUs)."""
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


class OtherCpu:
    """CPU seconds the rest of the machine spent while a block ran in this process."""

    seconds: float = 0.0

    def __enter__(self) -> Self:
        self._machine, self._own = busy_cpu_seconds(), own_cpu_seconds()
        return self

    def __exit__(self, *_exc) -> None:
        machine = busy_cpu_seconds() - self._machine
        self.seconds = max(machine - (own_cpu_seconds() - self._own), 0.0)


def wait_for_quiet(max_seconds: float) -> float:
    """Wait until the machine is quiet or `max_seconds` pass; returns the busy share last seen."""
    deadline = time.monotonic() + max_seconds
    while True:
        busy = psutil.cpu_percent(interval=QUIET_WINDOW_SECONDS) / 100
        if busy < QUIET_BUSY_SHARE or time.monotonic() >= deadline:
            return busy


def tree_rss_bytes(process: psutil.Process) -> int:
    """Resident memory of `process` and all its descendants now (processes that vanish count 0)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def _watch_until_exit(child: subprocess.Popen, watched: psutil.Process) -> int:
    """Sample the tree's memory until the child exits; returns the peak in bytes."""
    peak = 0
    while True:
        peak = max(peak, tree_rss_bytes(watched))
        try:
            child.wait(timeout=POLL_SECONDS)
            return peak
        except subprocess.TimeoutExpired:
            continue


def run_measured(command: list[str], cwd: Path, log_stem: Path) -> Measured:
    """Run `command` to completion; its stdout/stderr go to `log_stem`.out / .err."""
    log_stem.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_stem.with_suffix(".out"), log_stem.with_suffix(".err")
    with open(out_path, "w") as out, open(err_path, "w") as err:
        busy_before, own_before = busy_cpu_seconds(), children_cpu_seconds()
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err)
        peak = _watch_until_exit(child, psutil.Process(child.pid))
        seconds = time.perf_counter() - started
        own = children_cpu_seconds() - own_before
        machine = busy_cpu_seconds() - busy_before
    if child.returncode != 0:
        tail = err_path.read_text(errors="replace")[-ERROR_TAIL_CHARS:]
        raise BenchCommandError(
            f"command exited with {child.returncode}: {' '.join(command)}\n"
            f"full logs: {out_path} and {err_path}\nend of stderr:\n{tail}"
        )
    stdout = out_path.read_text(errors="replace")
    # the watcher's own polling is part of `machine` too; it is small (~1% of one CPU)
    return Measured(seconds, peak / BYTES_PER_MB, own, max(machine - own, 0.0), stdout)
