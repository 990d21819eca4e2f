"""A new user's first day: mistakes stop before any flow with one clear line; suspicious input
is refused; what the run assumes is said up front.

Each test is a regression of a first-day report at f906a3d: user errors went through two
Prefect retries (24-29 s, tracebacks), an empty or binary file ended with `records in 0` and
exit 0, a wrong timestamp format dead-lettered every row with exit 0 and its dead letters stayed
after the fix, and an ingest without `--city` fell back to the demo city silently.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import polars as pl
import pytest
from conftest import forget_prefect_settings
from prefect.states import Failed

from flows import ingest as ingest_flow
from flows.cli import main
from pipelines.batch_runs import AccountingError
from plumbing.atomic import staging_dir
from plumbing.workspace import Workspace
from schemas import dead_letters as dl

GOOD_ROWS = "service_request_id,requested_datetime,lat,long\n1,01.11.2026 08:00,55.15,37.05\n2,01.11.2026 09:30,55.05,37.05\n"


@pytest.fixture(autouse=True)
def isolated_prefect_settings(monkeypatch):
    forget_prefect_settings(monkeypatch)


@pytest.fixture()
def home(tmp_path: Path, tiny_pack, monkeypatch) -> Path:
    """A home with the tiny city; starting an ingest flow here fails the test."""
    def no_flow(*_args, **_kwargs):
        raise AssertionError("a flow started although the arguments were wrong")

    monkeypatch.setattr(ingest_flow, "ingest_requests", no_flow)
    return tiny_pack.root.parents[1]


def ingest(home: Path, *args: str) -> int:
    return main(["--home", str(home), "ingest", "requests", *args])


def test_the_city_is_required(home: Path, tmp_path: Path, capsys) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(GOOD_ROWS)
    with pytest.raises(SystemExit) as stopped:
        ingest(home, str(feed))
    assert stopped.value.code == 2 and "--city" in capsys.readouterr().err


@pytest.mark.parametrize(("make_args", "message"), [
    (lambda feed: [str(feed), "--city", "atlantis"], "no city pack 'atlantis'"),
    (lambda feed: [str(feed), "--city", "tiny", "--format", "nyc"], "--format 'nyc' is not a format"),
    (lambda feed: [str(feed.with_name("nope.csv")), "--city", "tiny"], "input files not found"),
    (lambda feed: [str(feed.with_name("empty.csv")), "--city", "tiny"], "empty input files"),
])
def test_user_errors_stop_before_any_flow_with_one_line(home: Path, tmp_path: Path, capsys,
                                                        make_args, message) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(GOOD_ROWS)
    (tmp_path / "empty.csv").write_bytes(b"")
    started = time.monotonic()
    assert ingest(home, *make_args(feed)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert time.monotonic() - started < 5


def test_the_known_cities_are_named(home: Path, tmp_path: Path, capsys) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(GOOD_ROWS)
    assert ingest(home, str(feed), "--city", "atlantis") == 2
    assert "known: tiny" in capsys.readouterr().err


def test_a_binary_file_read_as_csv_is_refused(home: Path, tmp_path: Path, capsys) -> None:
    binary = tmp_path / "photo.csv"
    binary.write_bytes(bytes(range(256)) * 64 + os.urandom(4096).replace(b"\n", b"").replace(b"\r", b""))
    assert ingest(home, str(binary), "--city", "tiny", "--no-prefect") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "photo.csv" in err[0] and "format" in err[0], err


def test_a_wrong_timestamp_format_is_refused_and_a_fixed_rerun_clears_its_dead_letters(
        home: Path, tmp_path: Path, capsys) -> None:
    feed = tmp_path / "export.csv"
    feed.write_text(GOOD_ROWS)
    wrong, right = tmp_path / "wrong.toml", tmp_path / "right.toml"
    wrong.write_text('source = "portal"\n[timestamps]\nformat = "%Y/%m/%d %H:%M"\ntimezone = "Europe/Moscow"\n')
    right.write_text('source = "portal"\n[timestamps]\nformat = "%d.%m.%Y %H:%M"\ntimezone = "Europe/Moscow"\n')
    dead_letters = Workspace(home).dead_letters_dataset
    assert ingest(home, str(feed), "--city", "tiny", "--mapping", str(wrong), "--no-prefect") == 2
    err = capsys.readouterr().err
    assert "all 2 records" in err and str(wrong) in err
    assert pl.read_parquet(dead_letters / "**" / "*.parquet")[dl.REASON].to_list() == [dl.Reason.BAD_TIMESTAMP] * 2
    assert ingest(home, str(feed), "--city", "tiny", "--mapping", str(right), "--no-prefect") == 0
    assert not list(dead_letters.rglob("*.parquet"))


def test_the_dead_letters_of_a_wrong_timestamp_format_name_the_format_and_the_mapping(
        home: Path, tmp_path: Path) -> None:
    feed = tmp_path / "export.csv"
    feed.write_text(GOOD_ROWS.replace("01.11.2026 08:00", "2026-11-03 14:05"))
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[timestamps]\nformat = "%d/%m/%Y %H:%M"\ntimezone = "Europe/Moscow"\n')
    assert ingest(home, str(feed), "--city", "tiny", "--mapping", str(wrong), "--no-prefect") == 2
    dead = pl.read_parquet(Workspace(home).dead_letters_dataset / "**" / "*.parquet").sort(dl.SOURCE_POSITION)
    assert dead[dl.REASON].to_list() == [dl.Reason.BAD_TIMESTAMP] * 2
    assert dead[dl.DETAIL].to_list() == [
        f'requested_datetime "{value}" does not match the mapping\'s timestamp format "%d/%m/%Y %H:%M" '
        f"(mapping file {wrong})"
        for value in ("2026-11-03 14:05", "01.11.2026 09:30")
    ]


def test_what_the_run_assumes_is_said(home: Path, tmp_path: Path, capsys) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(GOOD_ROWS.replace("01.11.2026 08:00", "2026-11-01T08:00:00Z")
                    .replace("01.11.2026 09:30", "2026-11-01T09:30:00Z"))
    assert ingest(home, str(feed), "--city", "tiny", "--no-prefect") == 0
    out = capsys.readouterr().out
    assert "taxonomy of 2 categories; other categories get the default 8-day SLA" in out
    assert "no classifier for city 'tiny'" in out


def test_staging_of_a_crashed_run_is_swept_by_the_next_run(home: Path, tmp_path: Path) -> None:
    workspace = Workspace(home)
    leftover = staging_dir(workspace.requests_dataset) / "requests-crashed" / "2026-11-01" / "x.arrow"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a batch")
    feed = tmp_path / "feed.csv"
    feed.write_text(GOOD_ROWS.replace("01.11.2026 08:00", "2026-11-01T08:00:00Z")
                    .replace("01.11.2026 09:30", "2026-11-01T09:30:00Z"))
    assert ingest(home, str(feed), "--city", "tiny", "--no-prefect") == 0
    assert not leftover.exists()


@pytest.mark.parametrize(("error", "retried"), [
    (ValueError("bad mapping"), False), (FileNotFoundError("gone"), False),
    (AccountingError("lost"), False), (KeyboardInterrupt(), False), (OSError("disk hiccup"), True),
    (RuntimeError("runner crashed"), True),
])
def test_only_failures_a_retry_may_fix_are_retried(error: BaseException, retried: bool) -> None:
    assert ingest_flow.worth_retrying(None, None, Failed(data=error)) is retried
