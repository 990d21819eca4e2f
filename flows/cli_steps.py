"""Progress lines every `urbanpulse` command prints the same way, and how a command stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.sources.requests import FORMATS

FORMATS_HELP = " | ".join(FORMATS)
ENCODING_HELP = (
    "text encoding of csv/jsonl/open311-json inputs, e.g. cp1251 or latin-1 (default: UTF-8 "
    "unless the file's bytes say otherwise; a guessed encoding flags the rows decoded_by_guess)"
)


def urbanpulse_command(home: Path | str, *args: str) -> list[str]:
    """The `urbanpulse` command line for a process of its own, run by this interpreter."""
    return [sys.executable, "-m", "flows.cli", "--home", str(home), *args]


def urbanpulse_process(home: Path | str, *args: str) -> subprocess.Popen:
    """`urbanpulse ARGS` as its own process (its errors out of the way of this one's output)."""
    return subprocess.Popen(urbanpulse_command(home, *args), stderr=subprocess.DEVNULL)


def stop_processes(processes, seconds: float) -> None:
    """Ask each process to stop as Ctrl-C does (all at once, so they drain side by side), wait up
    to `seconds` for each, and kill one that is still running then."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()


def free_port(preferred: int) -> int:
    """`preferred` if it is free on 127.0.0.1, else any free port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]


def step(message: str) -> float:
    print(f"-> {message}", flush=True)
    return time.perf_counter()


def done(started: float) -> None:
    print(f"   done in {time.perf_counter() - started:.1f} s", flush=True)


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells expect of a program stopped by Ctrl-C
INTERRUPTED = ("interrupted: stopped; nothing of this run was published (a run publishes in one "
               "step at its end), and the next run of this city removes what it staged")


@contextmanager
def stop_at_once_on_ctrl_c() -> Iterator[None]:
    """While a Prefect flow runs: Ctrl-C / SIGTERM stops the process at once with exit code 130.

    Left to itself, Prefect treats the interrupt as a task failure, retries the task, loses its
    temporary API server (the terminal's Ctrl-C reaches it too) and then retries its event
    stream for minutes. A run publishes in one commit at its end and its city's lock dies with
    the process, so stopping here publishes nothing of the run; a re-run does all of it.
    """
    def stop(_signum, _frame) -> None:
        print(f"urbanpulse: {INTERRUPTED}", file=sys.stderr, flush=True)
        _stop_prefect_servers()
        os._exit(EXIT_INTERRUPTED)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_prefect_servers() -> None:
    """Stop the temporary Prefect API servers this process started (they would outlive it)."""
    try:
        from prefect.server.api.server import SubprocessASGIServer

        for server in list(SubprocessASGIServer._instances.values()):
            server.stop()
    except Exception as error:  # noqa: BLE001  (stopping anyway)
        print(f"urbanpulse: could not stop Prefect's temporary server: {error}", file=sys.stderr)
