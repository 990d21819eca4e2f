"""Text classifier: normalisation, hashed features, training, review flags, save / load, card."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from models.classification import text_classifier
from models.classification.candidates import calibrate
from models.classification.features import FeatureRecipe, FeatureRecipeError, hash_features
from models.classification.text_classifier import TextClassifier
from models.text.normalise import normalise
from schemas.requests import CATEGORY, CATEGORY_CONFIDENCE, LANGUAGE, MODEL_VERSION, NEEDS_REVIEW

PHRASES = {
    "road_damage": (
        ["яма на дороге", "разбит асфальт", "глубокая выбоина", "провал асфальта", "ямы тут"],
        ["pothole on the road", "broken asphalt", "deep pothole", "cracked pavement"],
    ),
    "street_lighting": (
        ["не горит фонарь", "нет освещения", "фонари не работают", "сломан фонарный столб"],
        ["street light out", "lamp post broken", "no street lighting", "streetlight not working"],
    ),
    "waste_collection": (
        ["не вывезен мусор", "переполнены баки", "мусор не вывозят", "свалка у контейнеров"],
        ["garbage not collected", "trash overflowing", "bins are full", "missed garbage pickup"],
    ),
    "noise": (
        ["шумят соседи", "громкая музыка ночью", "шум стройки", "крики во дворе"],
        ["loud music at night", "noisy neighbors", "construction noise", "shouting all night"],
    ),
}
PLACES = (
    ["во дворе дома 12", "у подъезда", "на улице Ленина, д. 7", "около школы"],
    ["near 5th Avenue", "in front of building 7", "on Oak Street", "by the school"],
)
TAILS = (
    ["уже неделю", "примите меры!", "спасибо.", "тел. +7 (916) 123-45-67"],
    ["for a week", "please fix!", "thanks.", "mail jane@example.com"],
)


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or rng.random() > 0.1:
        return word
    i = rng.randrange(len(word) - 1)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + word[i + 1 :]


def corpus(rows: int, seed: int) -> pl.DataFrame:
    """Labelled requests: a class phrase in Russian or English among place and tail fillers."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(rows):
        label = rng.choice(sorted(PHRASES))
        lang = 0 if rng.random() < 0.6 else 1
        parts = (PLACES[lang], PHRASES[label][lang], TAILS[lang])
        words = " ".join(rng.choice(options) for options in parts)
        text = " ".join(_typo(w, rng) for w in words.split())
        texts.append(text.upper() if rng.random() < 0.1 else text)
        labels.append(label)
    return pl.DataFrame({"text": texts, "label": labels})


@pytest.fixture(scope="module")
def data() -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = corpus(3000, seed=11)
    return frame[:2400], frame[2400:]


@pytest.fixture(scope="module")
def model(data: tuple[pl.DataFrame, pl.DataFrame]) -> TextClassifier:
    train, _ = data
    fitted = TextClassifier.train(train["text"][:2000], train["label"][:2000], seed=3)
    calibrate(fitted, train["text"][2000:], train["label"][2000:])
    return fitted


def _evaluate(model: TextClassifier, frame: pl.DataFrame) -> dict:
    from models.classification.metrics import classification_metrics

    predicted = model.predict_batch(frame["text"])[CATEGORY]
    return classification_metrics(predicted, frame["label"], model.classes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Яма на дороге у дома 15, ЁЛКА упала!", "яма на дороге у дома 00 елка упала"),
        ("Streetlight OUT on 5th Ave.", "streetlight out on 0th ave"),
        ("звоните +7 (916) 123-45-67", "звоните phonetoken"),
        ("see https://x.ru/a?b=1 or mail a.b@c.org", "see urltoken or mail emailtoken"),
        ("Заявитель XXXX XXXX, кв. XX — «лифт»…", "заявитель кв лифт"),
        ("  ", ""),
        (None, None),
    ],
)
def test_normalise(text: str | None, expected: str | None) -> None:
    result = normalise(pl.Series("t", [text], dtype=pl.String))
    assert_series_equal(result, pl.Series("t", [expected], dtype=pl.String))


def test_features_of_a_batch_equal_features_of_each_text(data) -> None:
    texts = pl.concat([data[1]["text"].head(50), pl.Series(["", None, "один", "one two"])])
    recipe = FeatureRecipe(n_bits=18)
    batch = hash_features(texts, recipe)
    in_blocks = hash_features(texts, recipe, block_rows=7)
    assert (batch != in_blocks).nnz == 0
    for row, text in enumerate(texts):
        alone = hash_features(pl.Series([text], dtype=pl.String), recipe)
        assert sorted(batch[row].indices) == sorted(alone.indices)
        assert np.allclose(sorted(batch[row].data), sorted(alone.data))


def test_holdout_macro_f1_is_high(model: TextClassifier, data) -> None:
    _, holdout = data
    metrics = _evaluate(model, holdout)
    assert metrics["macro_f1"] > 0.9
    assert metrics["accuracy"] > 0.9
    assert metrics["per_class"]["noise"]["support"] == holdout["label"].eq("noise").sum()
    assert np.array(metrics["confusion_matrix"]["matrix"]).sum() == holdout.height


def test_predict_batch_columns_and_types(model: TextClassifier, data) -> None:
    result = model.predict_batch(data[1]["text"])
    assert result.schema == pl.Schema(
        {CATEGORY: pl.String, CATEGORY_CONFIDENCE: pl.Float64, NEEDS_REVIEW: pl.Boolean,
         LANGUAGE: pl.String, MODEL_VERSION: pl.String}
    )
    assert result[MODEL_VERSION].unique().to_list() == [model.model_version]
    assert result[CATEGORY_CONFIDENCE].is_between(0.0, 1.0).all()


def test_needs_review_exactly_below_threshold(model: TextClassifier, data) -> None:
    assert model.review_threshold is not None
    confidences = model.predict_batch(data[1]["text"])[CATEGORY_CONFIDENCE].unique().sort()
    middle = float(confidences[len(confidences) // 2])
    for threshold in (model.review_threshold, middle):
        variant = dataclasses.replace(model, review_threshold=threshold)
        result = variant.predict_batch(data[1]["text"])
        below = result[CATEGORY_CONFIDENCE] < threshold
        assert_series_equal(result[NEEDS_REVIEW], below.alias(NEEDS_REVIEW))
    assert below.any() and not below.all()


def test_texts_without_letters_or_words_get_no_category(model: TextClassifier) -> None:
    texts = pl.Series(["", None, "   ", "12345", "!!! ???", "😡😡", "XXXX XXXX", "яма на дороге"])
    result = model.predict_batch(texts)
    undecided = [True] * 7 + [False]
    assert result[CATEGORY].is_null().to_list() == undecided
    assert result[CATEGORY_CONFIDENCE].is_null().to_list() == undecided
    assert result[NEEDS_REVIEW].to_list()[:7] == [True] * 7
    assert result[LANGUAGE].to_list() == [None] * 6 + ["en", "ru"]
    assert result[CATEGORY][7] == "road_damage"


@pytest.mark.parametrize("texts", [[], [None, None]])
def test_empty_and_all_null_columns(model: TextClassifier, texts: list) -> None:
    result = model.predict_batch(pl.Series("description", texts, dtype=pl.String))
    assert result.height == len(texts)
    assert result[NEEDS_REVIEW].to_list() == [True] * len(texts)
    assert result[CATEGORY].null_count() == len(texts)


def test_blocks_and_threads_do_not_change_predictions(model, data, monkeypatch) -> None:
    texts = pl.concat([data[1]["text"]] * 3)
    expected = dataclasses.replace(model, threads=1).predict_batch(texts)
    monkeypatch.setattr(text_classifier, "BLOCK_ROWS", 257)
    assert_frame_equal(dataclasses.replace(model, threads=2).predict_batch(texts), expected)


def test_save_load_round_trip(model: TextClassifier, data, tmp_path: Path) -> None:
    texts = pl.concat([data[1]["text"], pl.Series(["", None, "шум"])])
    model.save(tmp_path / "model")
    loaded = TextClassifier.load(tmp_path / "model")
    assert_frame_equal(loaded.predict_batch(texts), model.predict_batch(texts))
    assert loaded.model_version == model.model_version
    assert loaded.digest == model.digest and loaded.classes == model.classes


def test_load_refuses_features_hashed_differently(model: TextClassifier, tmp_path: Path) -> None:
    model.save(tmp_path)
    manifest = json.loads((tmp_path / "model.json").read_text())
    manifest["probe_buckets"][0] = [0, 1, 2]
    (tmp_path / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(FeatureRecipeError, match="probe text"):
        TextClassifier.load(tmp_path)
