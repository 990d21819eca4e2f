"""SLA breach risk on a history with a planted cause (a slow department whose lateness grows with
its backlog, and night requests that wait): the model finds it on later, unseen requests,
its probabilities are calibrated, and open requests get scored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.sla.risk import (
    NotEnoughHistoryError,
    SlaRiskModel,
    labelled,
    score_open,
    train,
    with_backlog,
)
from schemas import requests as rq
from schemas.sla import ALREADY_OVERDUE, BACKLOG, BREACH_PROBABILITY

START = datetime(2025, 1, 1, tzinfo=UTC)
TZ = "Europe/Moscow"


def history(count: int = 6_000, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    requested = np.sort(rng.uniform(0, 120 * 86_400, count))
    department = rng.choice(["roads", "parks"], count, p=[0.5, 0.5])
    due_hours = np.where(department == "roads", 72.0, 48.0)
    local_hour = ((requested / 3600) + 3) % 24
    base = np.where(department == "roads", 60.0, 20.0) * np.where((local_hour < 6) | (local_hour >= 22), 1.6, 1.0)
    # a backlog of roads requests makes the next ones slower (the cause the model must find)
    seasonal = 1 + 0.8 * np.sin(requested / (9 * 86_400))
    hours = rng.gamma(4.0, base * np.where(department == "roads", seasonal, 1.0) / 4.0)
    times = [START + timedelta(seconds=float(s)) for s in requested]
    frame = pl.DataFrame({
        rq.SERVICE_REQUEST_ID: [f"r{i}" for i in range(count)], rq.CATEGORY: np.where(department == "roads", "pothole",
                                                                                     "tree"),
        rq.DEPARTMENT: department, rq.DISTRICT_ID: rng.choice(["N1", "N2", "S1"], count),
        rq.REQUESTED_DATETIME: times,
        rq.SLA_DUE_DATETIME: [t + timedelta(hours=float(h)) for t, h in zip(times, due_hours)],
        rq.CLOSED_DATETIME: [t + timedelta(hours=float(h)) for t, h in zip(times, hours)],
    }, schema_overrides={c: pl.Datetime("us", "UTC") for c in (rq.REQUESTED_DATETIME, rq.SLA_DUE_DATETIME,
                                                               rq.CLOSED_DATETIME)})
    end = frame[rq.REQUESTED_DATETIME].max()
    return frame.with_columns(pl.when(pl.col(rq.CLOSED_DATETIME) <= end).then(pl.col(rq.CLOSED_DATETIME)).alias(
        rq.CLOSED_DATETIME))  # what was still open at the snapshot


def test_backlog_counts_open_requests_of_the_department() -> None:
    at = [START + timedelta(hours=h) for h in (0, 1, 2, 3)]
    frame = pl.DataFrame({rq.DEPARTMENT: ["a", "a", "a", "b"], rq.REQUESTED_DATETIME: at,
                          rq.CLOSED_DATETIME: [at[1], None, None, None]},
                         schema_overrides={rq.CLOSED_DATETIME: pl.Datetime("us", "UTC")})
    assert with_backlog(frame)[BACKLOG].to_list() == [0, 0, 1, 0]  # the first was closed when the second came


def test_open_before_due_is_not_a_label_open_after_due_is_a_breach() -> None:
    at = START
    frame = pl.DataFrame({rq.REQUESTED_DATETIME: [at] * 3, rq.SLA_DUE_DATETIME: [at + timedelta(days=1)] * 3,
                          rq.CLOSED_DATETIME: [at + timedelta(hours=2), None, None]},
                         schema_overrides={rq.CLOSED_DATETIME: pl.Datetime("us", "UTC")})
    assert labelled(frame, at + timedelta(hours=5))[rq.CLOSED_DATETIME].null_count() == 0
    late = labelled(frame, at + timedelta(days=2))
    assert late["breached"].to_list() == [False, True, True]


def test_finds_the_cause_on_later_requests_and_is_calibrated(tmp_path: Path) -> None:
    frame = history()
    model = train(frame, "tiny", TZ)
    card = model.card
    assert card.auc_test > 0.75 and card.brier_test < card.brier_base_rate
    for row in card.reliability:  # probabilities mean what they say, decile by decile
        assert abs(row["predicted"] - row["observed"]) < 0.15, card.reliability
    model.save(tmp_path / "m")
    loaded = SlaRiskModel.load(tmp_path / "m")
    assert loaded.coefficients == model.coefficients and loaded.curve_y == model.curve_y
    as_of = frame[rq.REQUESTED_DATETIME].max()
    scored = score_open(loaded, frame, as_of)
    assert scored.height == frame[rq.CLOSED_DATETIME].null_count()
    assert scored.filter(pl.col(ALREADY_OVERDUE))[BREACH_PROBABILITY].to_list() == [1.0] * int(scored[ALREADY_OVERDUE].sum())
    waiting = scored.filter(~pl.col(ALREADY_OVERDUE))
    roads = waiting.filter(pl.col(rq.DEPARTMENT) == "roads")[BREACH_PROBABILITY].mean()
    parks = waiting.filter(pl.col(rq.DEPARTMENT) == "parks")[BREACH_PROBABILITY].mean()
    assert roads > parks
    assert (tmp_path / "m" / "MODEL_CARD.md").read_text().count("|") > 20


def test_too_little_history_says_what_to_do() -> None:
    with pytest.raises(NotEnoughHistoryError, match="ingest more history"):
        train(history(100), "tiny", TZ)


def test_the_command_trains_scores_and_publishes(tmp_path: Path, capsys) -> None:
    from flows.cli import main
    from plumbing.atomic import write_atomic
    from plumbing.publishing import publishing
    from plumbing.workspace import Workspace
    from schemas import datasets as ds

    workspace = Workspace(tmp_path)
    frame = history()
    with publishing(workspace, "tiny", "test", "test requests") as transaction:
        folder = transaction.dataset(ds.REQUESTS)
        write_atomic(frame.to_arrow(), folder / "date=2025-01-01" / "part-0.parquet", folder, sync=False)
    assert main(["--home", str(tmp_path), "train", "sla-risk", "--city", "tiny"]) == 0
    published = pl.read_parquet(workspace.city_dataset(ds.SLA_BREACH_RISK, "tiny") / "part-0.parquet")
    assert published.height == frame[rq.CLOSED_DATETIME].null_count()
    assert published[BREACH_PROBABILITY].is_between(0, 1).all()
    assert published[BREACH_PROBABILITY].is_sorted(descending=True)
    printed = capsys.readouterr().out
    assert f"{published.height:,} open requests" in printed and "AUC 0.8" in printed
    assert main(["--home", str(tmp_path), "train", "sla-risk", "--city", "tiny", "--score-only"]) == 0
    assert main(["--home", str(tmp_path), "train", "sla-risk", "--city", "nowhere"]) == 2
    assert "no published requests" in capsys.readouterr().err
