"""Landing files: `urbanpulse land requests FILE...` and files dropped into a source's inbox.

Any export format the batch path reads can be landed; its records are stored as raw request
rows (`schemas.requests.RAW_REQUEST`) so the live path never needs the source's format again.
Inbox files are landed in the order they arrived, then moved to `received/`; a file that cannot
be read goes to `rejected/` with the error beside it, never silently dropped. Writers should
drop a file under a name starting with `.` or ending in `.part`/`.tmp` and rename it when done.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Self

from pipelines.sources.requests import (
    SourceFormatError,
    load_mapping,
    read_raw_batches,
    with_encoding,
)
from plumbing.landing import SEGMENT_ROWS, LandingLog

INCOMPLETE_SUFFIXES = (".part", ".tmp")
INBOX_EVERY_SECONDS = 0.5
FORMAT_BY_SUFFIX = {
    ".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet", ".json": "open311-json", ".xml": "open311-xml",
}


def land_file(log: LandingLog, path: Path, fmt: str, mapping: Path | None = None,
              encoding: str | None = None) -> list[int]:
    """Append every record of `path` to the log; returns the new segments' sequence numbers.
    `encoding` names the file's text encoding (default: UTF-8 unless its bytes say otherwise)."""
    parsed_mapping = with_encoding(load_mapping(mapping) if mapping else None, encoding)
    published: list[int] = []
    for batch in read_raw_batches(Path(path), fmt, log.source, parsed_mapping, SEGMENT_ROWS):
        published += log.append(batch, origin=Path(path).name)
    return published


def pending_inbox_files(log: LandingLog) -> list[Path]:
    if not log.inbox.exists():
        return []
    files = [
        p for p in log.inbox.iterdir()
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(INCOMPLETE_SUFFIXES)
    ]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def collect_inbox(log: LandingLog) -> list[int]:
    """Land every complete file waiting in the source's inbox; returns the new segments."""
    settings = log.settings()
    mapping = Path(settings["mapping"]) if settings.get("mapping") else None
    published: list[int] = []
    for path in pending_inbox_files(log):
        fmt = settings.get("format") or FORMAT_BY_SUFFIX.get(path.suffix.lower(), "csv")
        try:
            published += land_file(log, path, fmt, mapping, settings.get("encoding"))
        except SourceFormatError as error:
            _move(path, log.root / "rejected")
            (log.root / "rejected" / f"{path.name}.error.txt").write_text(f"{error}\n", encoding="utf-8")
            continue
        _move(path, log.received)
    return published


def _move(path: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    os.replace(path, folder / path.name)


class InboxWatcher:
    """Lands the files dropped into the given sources' inboxes, every `every_seconds`, until
    `stop` is set: the producer that runs beside a live stream (the stream only reads the log)."""

    def __init__(self, landing_root: Path, sources: list[str], stop: threading.Event,
                 every_seconds: float = INBOX_EVERY_SECONDS) -> None:
        self.logs = [LandingLog(landing_root, source) for source in sources]
        self.stop, self.every_seconds = stop, every_seconds
        self.thread = threading.Thread(target=self._watch, name="urbanpulse-inbox", daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        self.thread.join()

    def _watch(self) -> None:
        while not self.stop.wait(self.every_seconds):
            for log in self.logs:
                collect_inbox(log)
