"""Training a city's request classifier: split, candidates, baseline, card, second level."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import f1_score

from models.cities.pack import CityPack
from models.classification.artifact import HOLDOUT_FILE, HOLDOUT_TRUTH, RequestTextModel
from models.classification.candidates import HASHED_LINEAR, SPACY_TEXTCAT
from models.classification.model_card import ModelCard
from models.classification.request_classifier import default_model_dir, load_request_classifier
from models.classification.training import train_classifier
from plumbing.workspace import Workspace
from schemas import requests as rq
from synthetic.requests.generator import generate_requests

ROWS = 2500


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> pl.DataFrame:
    """Generated requests of a two-category city, labelled with the generator's answer key."""
    from conftest import TINY_CITY, TINY_TAXONOMY

    root = tmp_path_factory.mktemp("tiny")
    pack = CityPack.create("tiny", root / "cities" / "tiny", TINY_CITY, name_field="title",
                           id_field="code", taxonomy=TINY_TAXONOMY)
    records, truth = generate_requests(pack, ROWS, seed=7)
    return records.select(rq.DESCRIPTION, rq.REQUESTED_DATETIME).with_columns(truth[rq.CATEGORY])


@pytest.fixture(scope="module")
def trained(history: pl.DataFrame, tmp_path_factory) -> tuple[Workspace, dict]:
    workspace = Workspace(tmp_path_factory.mktemp("home"))
    workspace.city("tiny").mkdir(parents=True)
    summary = train_classifier(
        workspace, history, rq.DESCRIPTION, rq.CATEGORY, "tiny-model", city="tiny",
        time=rq.REQUESTED_DATETIME, candidates=[HASHED_LINEAR, SPACY_TEXTCAT],
    )
    return workspace, summary


def test_temporal_split_keeps_the_future_out_of_training(trained, history) -> None:
    workspace, summary = trained
    holdout = pl.read_parquet(workspace.model("tiny-model") / HOLDOUT_FILE)
    holdout_times = set(holdout[rq.REQUESTED_DATETIME].to_list())
    training = history.filter(~pl.col(rq.REQUESTED_DATETIME).is_in(list(holdout_times)))
    assert holdout.height == summary["holdout_rows"] == round(ROWS * 0.2)
    assert training[rq.REQUESTED_DATETIME].max() <= min(holdout_times)
    assert training.height == summary["train_rows"]


def test_card_figures_recompute_from_saved_holdout_predictions(trained) -> None:
    workspace, _ = trained
    directory = workspace.model("tiny-model")
    card = ModelCard.read(directory)
    holdout = pl.read_parquet(directory / HOLDOUT_FILE)
    truth = holdout[HOLDOUT_TRUTH].to_list()
    guesses = holdout[rq.CATEGORY].fill_null("-").to_list()
    labels = sorted(set(card.classes) | set(truth))
    assert card.holdout["accuracy"] == pytest.approx(np.mean(np.array(truth) == np.array(guesses)))
    assert card.holdout["macro_f1"] == pytest.approx(
        f1_score(truth, guesses, labels=labels, average="macro", zero_division=0)
    )
    decided = holdout.filter(pl.col(rq.CATEGORY_CONFIDENCE) >= card.review["threshold"])
    assert card.holdout["coverage_at_threshold"] == pytest.approx(decided.height / holdout.height)
    confidence = holdout[rq.CATEGORY_CONFIDENCE].drop_nulls().to_numpy()
    correct = (holdout[rq.CATEGORY] == holdout[HOLDOUT_TRUTH]).drop_nulls().to_numpy()
    bins = np.minimum((confidence * 10).astype(int), 9)
    ece = sum(abs(correct[bins == b].mean() - confidence[bins == b].mean()) * (bins == b).sum()
              for b in range(10) if (bins == b).any()) / confidence.size
    assert card.holdout["calibration"]["ece"] == pytest.approx(ece)
    matrix = np.array(card.holdout["confusion_matrix"]["matrix"])
    assert matrix.sum() == holdout.height


def test_card_reports_candidates_baseline_and_selection(trained) -> None:
    workspace, summary = trained
    card = ModelCard.read(workspace.model("tiny-model"))
    assert [c["name"] for c in card.candidates] == [HASHED_LINEAR, SPACY_TEXTCAT]
    assert card.selected == summary["selected"] in {HASHED_LINEAR, SPACY_TEXTCAT}
    assert card.baseline["macro_f1"] > 0.8 and card.baseline["texts_per_second"] > 0
    assert card.holdout["macro_f1"] > 0.9
    assert card.review["threshold"] >= 0.5
    assert {"spacy", "scikit-learn", "polars"} <= set(card.libraries)
    markdown = (workspace.model("tiny-model") / "model_card.md").read_text()
    assert "baseline" in markdown and "ECE" in markdown


def test_city_default_and_pipeline_loader_use_the_selected_model(trained, history) -> None:
    workspace, _ = trained
    model_dir = default_model_dir(workspace, "tiny")
    assert model_dir == workspace.model("tiny-model")
    manifest = json.loads((model_dir / "classifier.json").read_text())
    assert manifest["city"] == "tiny"
    requests = history.head(200)
    predicted = load_request_classifier(model_dir).predict_batch(requests)
    assert predicted.columns == [rq.CATEGORY, rq.CATEGORY_CONFIDENCE, rq.NEEDS_REVIEW,
                                 rq.LANGUAGE, rq.MODEL_VERSION]
    accuracy = (predicted[rq.CATEGORY] == requests[rq.CATEGORY]).mean()
    assert accuracy > 0.9
    direct = RequestTextModel.load(model_dir).predict_batch(requests[rq.DESCRIPTION])
    assert direct[rq.CATEGORY].equals(predicted[rq.CATEGORY])


def test_missing_column_is_a_clear_error(history, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'reason' not in the training data"):
        train_classifier(Workspace(tmp_path), history, rq.DESCRIPTION, rq.CATEGORY, "m",
                         label2="reason")


def test_us_twelve_hour_times_split_in_time_order_not_text_order():
    """NYC writes 01:00 PM after 11:00 AM; as text it would sort first and leak the future."""
    from models.classification.split import latest_mask

    times = pl.Series("Created Date", ["02/28/2023 11:00:00 AM", "02/28/2023 01:00:00 PM",
                                        "02/28/2023 09:00:00 AM", "02/28/2023 10:00:00 PM"])
    assert latest_mask(times, 0.5).tolist() == [False, True, False, True]


def test_unreadable_text_times_are_refused_clearly():
    from models.classification.split import latest_mask

    with pytest.raises(ValueError, match="not a readable time"):
        latest_mask(pl.Series("when", ["yesterday", "today", "soon", "later"]), 0.5)
