"""Landing logs of sensor observations: one per sensor source, beside the request logs of a city.

    landing/<city>/sensors/<source>/segments/000000000042.arrow   one segment of observations

A sensor log is a `LandingLog` (same segments, sequence numbers, locking and metadata) whose
segments hold `schemas.sensors.RAW_OBSERVATION` rows: observations as text, as the feed (an
MQTT message, a SensorThings answer) wrote them. The request stream never sees them (it reads
`landing/<city>/requests/` only).
"""

from __future__ import annotations

import hashlib
import re

from plumbing.landing import LandingLog
from plumbing.paths import partition_value
from schemas import sensors as sn

_NOT_IN_SOURCE_NAMES = re.compile(r"[^A-Za-z0-9_.-]")
HASH_CHARS = 8


class SensorLandingLog(LandingLog):
    """The landing log of one sensor source's observations."""

    FOLDER = "sensors"
    SCHEMA = sn.RAW_OBSERVATION


def sensor_source(name: str) -> str:
    """`name` as a landing source name: one path segment (`partition_value`) whose characters a
    source name cannot hold become `_`, plus a short hash of `name` when anything changed."""
    value = partition_value(name)
    safe = _NOT_IN_SOURCE_NAMES.sub("_", value).lstrip("._-")
    if safe != value:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
        safe = f"{safe}-{digest}" if safe else f"sensors-{digest}"
    return safe
