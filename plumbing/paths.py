"""Names that come from data and become folder or file names, made safe.

A source name, an election or a station id is whatever the input says (`../../../../escaped`
included). As a hive partition value, the characters a path or a shell could read as structure
(`/`, `\\`, `%`, control characters) are percent-encoded the way pyarrow's hive partitioning
decodes them (`segment_encoding="uri"`); letters of any script stay as they are. So the value is
always one path segment inside the dataset and reads back as written.
"""

from __future__ import annotations

import hashlib
import re

from schemas import datasets as ds

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"  # what hive readers take for an empty or null value
MAX_SEGMENT_BYTES = 200  # file systems allow 255; leave room for `name=` and a suffix
_UNSAFE = re.compile(r"[/\\%\x00-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _percent(match: re.Match) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode())


def partition_value(value: str) -> str:
    """`value` as one safe path segment: never a separator, never `.` or `..`, never too long."""
    encoded = _UNSAFE.sub(_percent, _SURROGATE.sub("\ufffd", value))
    if encoded in ("", ".", ".."):
        encoded = encoded.replace(".", "%2E") or HIVE_NULL
    if len(encoded.encode()) > MAX_SEGMENT_BYTES:
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        kept = encoded.encode()[: MAX_SEGMENT_BYTES - 17].decode("utf-8", "ignore")
        encoded = f"{kept.rsplit('%', 1)[0] if '%' in kept[-2:] else kept}~{digest}"
    return encoded


def city_folder(city: str) -> str:
    """A city's partition folder in every dataset (`city=<name>`)."""
    return f"{ds.CITY_PARTITION}={partition_value(city)}"
