"""Source adapters: real-world request exports -> Arrow batches in `schemas.requests.RAW_REQUEST`.

`read_raw_batches(path, fmt)` is the entry point; `FORMATS` lists the format names; a
`SourceMapping` (or a TOML file read by `load_mapping`) says which source column fills which
Open311 field and how the source writes timestamps.
"""

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.requests.mapping import (
    ISO_8601_FORMATS,
    SourceMapping,
    load_mapping,
    with_encoding,
)
from pipelines.sources.requests.registry import (
    FORMATS,
    SourceFormat,
    read_raw_batches,
    timestamp_formats_tried,
)

__all__ = [
    "FORMATS",
    "ISO_8601_FORMATS",
    "SourceFormat",
    "SourceFormatError",
    "SourceMapping",
    "load_mapping",
    "read_raw_batches",
    "timestamp_formats_tried",
    "with_encoding",
]
