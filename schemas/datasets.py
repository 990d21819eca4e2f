"""The published datasets as a whole: their names, the city partition, the snapshot manifest.

Every dataset is partitioned by city first (`<dataset>/city=<name>/...`), so cities never mix
and a researcher reads one city with a path or a filter on the `city` column.
"""

from __future__ import annotations

REQUESTS = "requests"
REQUEST_DAILY = "request_daily"
DEAD_LETTERS = "dead_letters"
PUBLISHED = (REQUESTS, REQUEST_DAILY, DEAD_LETTERS)

CITY_PARTITION = "city"

# MANIFEST.json at the root of every snapshot: {"version", "snapshot", "committed_at", "run",
# "files": {relative path: {"bytes", "sha256", "run"}}}
MANIFEST_FILE = "MANIFEST.json"
MANIFEST_VERSION = "version"
MANIFEST_SNAPSHOT = "snapshot"
MANIFEST_COMMITTED_AT = "committed_at"
MANIFEST_RUN = "run"
MANIFEST_FILES = "files"
FILE_BYTES = "bytes"
FILE_SHA256 = "sha256"
FILE_RUN = "run"
