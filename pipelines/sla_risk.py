"""SLA breach risk of a city's open requests: train on its published history, publish the scores.

    published requests (one snapshot) -> models.sla.risk.train (temporal split, model card)
        -> score the open requests -> datasets/sla_breach_risk/city=C/part-0.parquet

Not a Beam pipeline: it reads one column-pruned snapshot of the city's requests with polars
(a few columns of every request, a million rows in well under a second) and scores only the
open ones; both fit in memory by far, so a runner would add cost and nothing else. The table is
published in the city's transaction, so it always describes one snapshot of requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from models.cities.errors import CityPackError
from models.cities.pack import CityPack
from models.sla.risk import MODEL_VERSION, SlaRiskCard, SlaRiskModel, score_open, train
from plumbing.atomic import PART_FILE, write_atomic
from plumbing.publishing import publishing
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import requests as rq
from schemas import sla

COLUMNS = (rq.SERVICE_REQUEST_ID, rq.CATEGORY, rq.DEPARTMENT, rq.DISTRICT_ID, rq.REQUESTED_DATETIME,
           rq.SLA_DUE_DATETIME, rq.CLOSED_DATETIME)


@dataclass
class SlaRiskReport:
    city: str
    model: str
    card: SlaRiskCard
    open_requests: int
    already_overdue: int
    at_risk: int  # open, not yet due, probability >= 0.5
    as_of: str
    dataset: str


def model_folder(workspace: Workspace, city: str) -> Path:
    return workspace.model(f"sla-risk-{city}")


def read_history(workspace: Workspace, city: str) -> pl.DataFrame:
    files = sorted(workspace.city_dataset(ds.REQUESTS, city).rglob("*.parquet"))
    if not files:
        raise ValueError(f"city {city!r} has no published requests in {workspace.root}: ingest its requests first")
    return pl.scan_parquet(files, hive_partitioning=False).select(COLUMNS).collect()


def run(workspace: Workspace, city: str, retrain: bool = True) -> SlaRiskReport:
    """Train (unless `retrain` is False: the saved model) and publish the open requests' risk."""
    history = read_history(workspace, city)
    try:
        timezone = CityPack.load(workspace.city(city)).timezone
    except CityPackError:
        timezone = "UTC"
    as_of = history[rq.REQUESTED_DATETIME].max()
    folder = model_folder(workspace, city)
    if retrain:
        model = train(history, city, timezone, as_of)
        model.save(folder)
    else:
        model = SlaRiskModel.load(folder)
    name = f"{folder.name}/v{MODEL_VERSION}"
    scored = score_open(model, history, as_of).with_columns(
        pl.lit(as_of).alias(sla.AS_OF), pl.lit(name).alias(sla.RISK_MODEL),
        pl.lit(sla.SLA_SCHEMA_VERSION).alias(rq.SCHEMA_VERSION_COLUMN))
    run_id = f"sla-risk-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    with publishing(workspace, city, run_id, f"SLA risk {run_id}") as transaction:
        folder_out = transaction.dataset(ds.SLA_BREACH_RISK)
        table = scored.select(sla.SLA_BREACH_RISK.names).sort(sla.BREACH_PROBABILITY, descending=True)
        write_atomic(table.to_arrow().cast(sla.SLA_BREACH_RISK), folder_out / PART_FILE, folder_out, sync=False)
    waiting = scored.filter(~pl.col(sla.ALREADY_OVERDUE))
    return SlaRiskReport(
        city=city, model=name, card=model.card, open_requests=scored.height,
        already_overdue=int(scored[sla.ALREADY_OVERDUE].sum()),
        at_risk=int((waiting[sla.BREACH_PROBABILITY] >= 0.5).sum()), as_of=as_of.isoformat(),
        dataset=str(workspace.city_dataset(ds.SLA_BREACH_RISK, city)))
