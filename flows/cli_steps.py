"""Progress lines every `urbanpulse` command prints the same way."""

from __future__ import annotations

import time


def step(message: str) -> float:
    print(f"-> {message}", flush=True)
    return time.perf_counter()


def done(started: float) -> None:
    print(f"   done in {time.perf_counter() - started:.1f} s", flush=True)
