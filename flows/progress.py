"""The progress line of a long command: one line on stderr, rewritten in place while a run works.

A background thread polls the run's progress folder (`plumbing.progress`, written by the
pipeline's steps) and redraws the line a few times a second; leaving the block clears it, so
the summary that follows starts on a clean line. A log record (Prefect's, Beam's) clears the
line before it is written, so it never lands glued to the end of the line. Only a terminal gets the line (`auto`): logs
and pipes get nothing extra, since a line rewritten with carriage returns is noise in a file
and a periodic plain line would only repeat what the final report says. `always` draws it on
any stream (to watch a run through `tee`, and for tests), `never` turns it off.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from plumbing.progress import progress_line, read_progress

MODES = ("auto", "always", "never")
REDRAW_SECONDS = 0.25


def wanted(mode: str, stream: TextIO) -> bool:
    if mode == "auto":
        isatty = getattr(stream, "isatty", None)
        return bool(isatty and isatty())
    return mode == "always"


class ProgressLine:
    """Draws `plumbing.progress.progress_line` for `folder` on `stream` until `stop`."""

    def __init__(self, folder: Path, stream: TextIO, redraw_seconds: float = REDRAW_SECONDS) -> None:
        self.folder, self.stream, self.redraw_seconds = folder, stream, redraw_seconds
        self.started = time.time()
        self._shown = 0  # characters of the line now on screen
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="urbanpulse-progress", daemon=True)
        self._hooked: list[logging.Handler] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop redrawing, draw where the run ended (what a transcript keeps), clear the line."""
        self._stop.set()
        self._thread.join()
        try:
            self.draw()
        except (OSError, ValueError):
            pass
        self.clear()
        for handler in self._hooked:
            handler.removeFilter(self._clear_before_log)

    def clear(self) -> None:
        with self._lock:
            if self._shown:
                self.stream.write("\r" + " " * self._shown + "\r")
                self.stream.flush()
                self._shown = 0

    def draw(self) -> None:
        self._hook_log_handlers()
        now = time.time()
        line = progress_line(read_progress(self.folder, now), now - self.started, now)
        width = shutil.get_terminal_size().columns - 1  # a wrapped line cannot be rewritten
        line = line[:width] if width > 0 else line
        with self._lock:
            self.stream.write("\r" + line.ljust(self._shown))
            self.stream.flush()
            self._shown = max(self._shown, len(line))

    def _loop(self) -> None:
        while not self._stop.wait(self.redraw_seconds):
            try:
                self.draw()
            except (OSError, ValueError):  # the stream went away: the run goes on without a line
                return

    def _clear_before_log(self, _record: logging.LogRecord) -> bool:
        self.clear()
        return True

    def _hook_log_handlers(self) -> None:
        """Console handlers appear as Prefect and Beam set up logging, so look on every redraw."""
        loggers = [logging.getLogger(), *(
            item for item in list(logging.Logger.manager.loggerDict.values()) if isinstance(item, logging.Logger)
        )]
        for handler in {h for logger in loggers for h in logger.handlers} | {logging.lastResort}:
            if isinstance(handler, logging.StreamHandler) and handler not in self._hooked:
                handler.addFilter(self._clear_before_log)
                self._hooked.append(handler)


def progress_folder(runs: Path) -> Path:
    """A fresh folder under the home's run records for one command's run to report into."""
    return runs / f"progress-{uuid.uuid4().hex[:12]}"


@contextmanager
def shown_progress(folder: Path | None, stream: TextIO) -> Iterator[None]:
    """While the block runs: the progress line of the run reporting into `folder` (None: no line).
    The folder is the command's own and is removed afterwards."""
    if folder is None:
        yield
        return
    line = ProgressLine(folder, stream)
    line.start()
    try:
        yield
    finally:
        line.stop()
        shutil.rmtree(folder, ignore_errors=True)
