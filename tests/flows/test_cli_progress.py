"""The progress line of `urbanpulse ingest requests`: drawn when asked (or on a terminal), never
into a log or a pipe, and cleared before the run's summary."""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

import pytest
from conftest import forget_prefect_settings

from flows.cli import main
from flows.progress import shown_progress, wanted
from plumbing.progress import STAGES
from plumbing.workspace import Workspace

COUNT = 2_000


@pytest.fixture(autouse=True)
def isolated_prefect_settings(monkeypatch):
    forget_prefect_settings(monkeypatch)


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> tuple[Path, Path]:
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        forget_prefect_settings(patch)
        assert main(["--home", str(home), "city", "demo"]) == 0
        feed = home / "feed.csv"
        assert main(["--home", str(home), "generate", "requests", "--count", str(COUNT), "--out", str(feed)]) == 0
    return home, feed


def ingest(home: Path, feed: Path, *args: str) -> int:
    return main(["--home", str(home), "ingest", "requests", str(feed), "--city", "demo", "--no-prefect",
                 "--batch_rows=500", *args])


def test_the_forced_line_shows_rows_read_and_the_stage_and_is_cleared(demo_home, capsys) -> None:
    home, feed = demo_home
    assert ingest(home, feed, "--progress", "always") == 0
    captured = capsys.readouterr()
    drawn = [line.strip() for line in captured.err.split("\r") if line.strip()]
    assert drawn, captured.err
    assert f"{COUNT:,} rows" in drawn[-1]  # where the run ended: every record read
    assert any(stage in drawn[-1] for stage in STAGES), drawn[-1]
    assert captured.err.endswith("\r") and captured.err.rsplit("\r", 2)[-2].strip() == ""  # cleared
    assert f"records in {COUNT:,}" in captured.out
    assert not list(Workspace(home).runs.glob("progress-*"))  # the command's own folder is gone


def test_no_progress_into_a_pipe_or_a_log(demo_home, capsys) -> None:
    home, feed = demo_home
    assert ingest(home, feed) == 0  # --progress auto, and pytest's stderr is not a terminal
    captured = capsys.readouterr()
    assert "\r" not in captured.err and "rows/s" not in captured.err
    assert f"records in {COUNT:,}" in captured.out


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_draws_on_a_terminal_only() -> None:
    assert wanted("auto", Terminal()) and not wanted("auto", io.StringIO())
    assert wanted("always", io.StringIO()) and not wanted("never", Terminal())


def test_a_log_record_clears_the_line_first(tmp_path: Path) -> None:
    stream = Terminal()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("urbanpulse.test_progress_line")
    logger.addHandler(handler)
    try:
        with shown_progress(tmp_path / "progress", stream):
            time.sleep(0.6)  # a couple of redraws: "[0:00] starting"
            logger.warning("a log line")
            time.sleep(0.3)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    before, after = text.split("a log line\n")
    assert before.endswith("\r") and before.rsplit("\r", 2)[-2].strip() == ""  # cleared, then logged
    assert "starting" in before and "starting" in after
