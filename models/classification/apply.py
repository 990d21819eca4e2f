"""Classify a file of request texts with a trained model: what `urbanpulse classify` does.

Adds category, calibrated category_confidence, needs_review, language, model_version (and the
second level's two columns when the model has one) to every row, and the owning department from
the city's taxonomy when a city is known (given, or recorded in the model at training), routed
exactly as the pipeline routes (`pipelines.transforms.requests.classify.route`). Columns of the input
with the same names are replaced.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from models.classification.artifact import RequestTextModel
from models.classification.training import read_table
from plumbing.workspace import Workspace
from schemas import requests as rq
from schemas.citypack import PACK_TAXONOMY_FILE


class ClassifyInputError(ValueError):
    """The file to classify cannot be read as asked; the message says what to change."""


def add_departments(frame: pl.DataFrame, pack_dir: Path) -> pl.DataFrame:
    """DEPARTMENT from the city's taxonomy (the source's agency, if any, for unlisted categories)."""
    from models.cities.pack import read_taxonomy
    from pipelines.transforms.requests.classify import route

    had_agency = rq.AGENCY_RESPONSIBLE in frame.columns
    if not had_agency:
        frame = frame.with_columns(pl.lit(None, pl.String).alias(rq.AGENCY_RESPONSIBLE))
    routed = route(frame.drop(rq.DEPARTMENT, rq.SLA_DAYS, strict=False),
                   read_taxonomy(pack_dir / PACK_TAXONOMY_FILE))
    return routed.drop(rq.SLA_DAYS, *([] if had_agency else [rq.AGENCY_RESPONSIBLE]))


def classify_frame(
    frame: pl.DataFrame, text: str, model: RequestTextModel, pack_dir: Path | None
) -> pl.DataFrame:
    if text not in frame.columns:
        raise ClassifyInputError(f"column {text!r} is not in the input; it has {frame.columns}")
    predictions = model.predict_batch(frame[text].cast(pl.String))
    classified = frame.drop(predictions.columns, strict=False).hstack(predictions)
    return add_departments(classified, pack_dir) if pack_dir is not None else classified


def classify_table(
    path: Path, text: str, model_dir: Path, out: Path, pack_dir: Path | None,
    workspace: Workspace,
) -> dict:
    """Read CSV / Parquet, classify, write CSV / Parquet (by the output's suffix)."""
    model = RequestTextModel.load(model_dir)
    if pack_dir is None and model.city:
        pack_dir = workspace.city(model.city)
    classified = classify_frame(read_table(path), text, model, pack_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        classified.write_parquet(out)
    else:
        classified.write_csv(out)
    return {"rows": classified.height, "needs_review": int(classified[rq.NEEDS_REVIEW].sum()),
            "model_version": model.model_version}
