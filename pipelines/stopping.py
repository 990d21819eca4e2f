"""STOP: the one signal that tells a live pipeline to drain and finish.

The stream's signal handlers (Ctrl-C, SIGTERM) and timed runs set it; the landing reader claims
the rest of its range and the committing steps publish what they hold. The embedded runner
runs every step in the stream's process, so a process-wide event reaches them all. `RESTART`
says the drain is for a restart (a source landed after the stream started), not a stop.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP = threading.Event()
# set with STOP when the live pipeline must start again after draining (a new landing source)
RESTART = threading.Event()


def drain_and_restart() -> None:
    RESTART.set()
    STOP.set()


@contextmanager
def stopping_after(seconds: float | None) -> Iterator[None]:
    """Set STOP once `seconds` have passed (none or 0: never) while the block runs: a timed run
    of a stream, from the CLI's `--seconds` or a scheduled deployment's `run_seconds`."""
    timer = threading.Timer(seconds, STOP.set) if seconds else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer:
            timer.cancel()
