"""Progress lines every `urbanpulse` command prints the same way."""

from __future__ import annotations

import sys
import time
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


def step(message: str) -> float:
    print(f"-> {message}", flush=True)
    return time.perf_counter()


def done(started: float) -> None:
    print(f"   done in {time.perf_counter() - started:.1f} s", flush=True)
