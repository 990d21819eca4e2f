"""Where the real-world samples live (`../shared/data`, or $URBANPULSE_SAMPLES), in one place.

Tests that need them call `sample_file`, which skips the test (with the reason) when the folder
is absent, so a fresh clone still passes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SAMPLES_ENV = "URBANPULSE_SAMPLES"
REPO = Path(__file__).resolve().parents[1]
SAMPLES = Path(os.environ.get(SAMPLES_ENV) or REPO.parent / "shared" / "data").resolve()


def sample_file(*parts: str) -> Path:
    """Path of a real-world sample; skips the calling test when the samples are absent."""
    if not SAMPLES.is_dir():
        pytest.skip(reason=f"real-world samples not found at {SAMPLES} (set ${SAMPLES_ENV})")
    return SAMPLES.joinpath(*parts)
