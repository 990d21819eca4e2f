"""The spaCy textcat candidate and the TF-IDF baseline on generated requests with known answers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.classification.baseline import evaluate_baseline
from models.classification.candidates import calibrate
from models.classification.levels import SecondLevel
from models.classification.spacy_textcat import SpacyTextcat
from schemas.requests import CATEGORY, CATEGORY_CONFIDENCE, NEEDS_REVIEW

# category -> reason -> phrases (Russian and English), each reason its own words
PHRASES = {
    "roads": {"pothole": ["яма на дороге", "deep pothole", "выбоина у дома", "pothole again"],
              "asphalt": ["разбит асфальт", "cracked asphalt", "асфальт треснул", "broken pavement"]},
    "noise": {"music": ["громкая музыка", "loud music", "музыка ночью", "music all night"],
              "works": ["шум стройки", "construction noise", "стройка шумит", "drilling noise"]},
}
FILLERS = ["", "у подъезда", "near the school", "please fix", "срочно!", "XX/XX/XXXX", "тел 89161234567"]


def requests(rows: int, seed: int) -> pl.DataFrame:
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(rows):
        category = rng.choice(sorted(PHRASES))
        reason = rng.choice(sorted(PHRASES[category]))
        text = f"{rng.choice(FILLERS)} {rng.choice(PHRASES[category][reason])} {rng.choice(FILLERS)}"
        out.append((text.upper() if rng.random() < 0.1 else text, category, reason))
    return pl.DataFrame(out, schema=["text", "category", "reason"], orient="row")


@pytest.fixture(scope="module")
def data() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return requests(800, 1), requests(200, 2), requests(300, 3)


@pytest.fixture(scope="module")
def spacy_model(data) -> SpacyTextcat:
    fit, validation, _ = data
    model = SpacyTextcat.train(fit["text"], fit["category"], seed=0, max_epochs=4)
    calibrate(model, validation["text"], validation["category"])
    return model


def test_spacy_textcat_learns_known_categories(spacy_model: SpacyTextcat, data) -> None:
    _, _, test = data
    predicted = spacy_model.predict_batch(test["text"])
    assert (predicted[CATEGORY] == test["category"]).mean() > 0.95
    assert predicted[CATEGORY_CONFIDENCE].is_between(0, 1).all()
    empty = spacy_model.predict_batch(pl.Series(["", None, "XXXX", "loud music"]))
    assert empty[CATEGORY].to_list() == [None, None, None, "noise"]
    assert empty[NEEDS_REVIEW].to_list()[:3] == [True, True, True]


def test_spacy_textcat_round_trip(spacy_model: SpacyTextcat, data, tmp_path: Path) -> None:
    spacy_model.save(tmp_path / "m")
    loaded = SpacyTextcat.load(tmp_path / "m")
    assert loaded.model_version == spacy_model.model_version
    texts = data[2]["text"]
    assert_frame_equal(loaded.predict_batch(texts), spacy_model.predict_batch(texts))


def test_baseline_on_the_same_rows(data) -> None:
    fit, _, test = data
    result = evaluate_baseline(fit["text"], fit["category"], test["text"], test["category"], 500)
    assert result["macro_f1"] > 0.95 and result["texts_per_second"] > 0


def test_second_level_is_consistent_with_the_predicted_category(data) -> None:
    fit, validation, test = data
    level = SecondLevel.train("reason", fit["text"], fit["category"], fit["reason"],
                              (validation["text"], validation["reason"]), seed=0)
    assert level.allowed == {"noise": ["music", "works"], "roads": ["asphalt", "pothole"]}
    wrong_parent = pl.Series(["noise"] * test.height)
    forced = level.predict(test["text"], wrong_parent)
    assert set(forced["reason"].to_list()) <= {"music", "works"}
    right = level.predict(test["text"], test["category"])
    assert (right["reason"] == test["reason"]).mean() > 0.95
    assert level.predict(pl.Series(["loud music"]), pl.Series([None], dtype=pl.String))["reason"][0] is None
