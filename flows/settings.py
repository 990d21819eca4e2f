"""Environment for Prefect, set once at the command-line edge before Prefect is imported.

Prefect's ephemeral API server can be slow on its first start on a small machine, and its
analytics would try to reach the internet; its state belongs in the UrbanPulse home folder.
A `PREFECT_API_URL` set by the operator still wins: flows then run against that server.
"""

from __future__ import annotations

import os
from pathlib import Path

EPHEMERAL_STARTUP_SECONDS = "180"


def configure_prefect(home: Path) -> None:
    os.environ.setdefault("PREFECT_HOME", str(home / "state" / "prefect"))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", EPHEMERAL_STARTUP_SECONDS)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
