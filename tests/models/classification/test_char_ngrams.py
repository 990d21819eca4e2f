"""In-word character n-grams: present, as many as char_wb makes, stable, and scored as trained."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from models.classification.features import FeatureRecipe, hash_features
from models.classification.text_classifier import TextClassifier
from models.text.normalise import normalise

WORDS_ONLY = FeatureRecipe(n_bits=18, char_max=0)
WITH_CHARS = FeatureRecipe(n_bits=18)
TEXTS = pl.Series("text", [
    "Прошу отремонтировать дорогу, ЯМА у дома 15!", "отремонтируйте дорогу", "Streetlight OUT",
    "", None, "їжак café 北京 😡", "неудовлетворительное неудовлетворительная",
])


def _char_wb(text: str, low: int = 2, high: int = 5) -> list[str]:
    """scikit-learn's char_wb n-grams of each word padded by spaces (no repeat of short words)."""
    grams = []
    for word in text.split():
        padded = f" {word} "
        grams += [padded[i:i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)]
    return grams


def _char_buckets(texts: pl.Series, recipe: FeatureRecipe) -> list[set[int]]:
    full = hash_features(texts, recipe)
    words = hash_features(texts, dataclasses.replace(recipe, char_max=0))
    return [set(full[i].indices) - set(words[i].indices) for i in range(len(texts))]


def test_every_char_wb_ngram_of_the_normalised_words_is_a_feature() -> None:
    full, words = hash_features(TEXTS, WITH_CHARS), hash_features(TEXTS, WORDS_ONLY)
    # The word block holds one 1/sqrt(k) per feature occurrence; the char block adds its own
    # occurrences scaled by 1/sqrt(its count), so the squared weights count the n-grams.
    for row, text in enumerate(normalise(TEXTS).to_list()):
        grams = _char_wb(text or "")
        char_part = (full[row] - words[row]).toarray()
        assert np.sum(char_part) == pytest.approx(np.sqrt(len(grams)) if grams else 0.0, rel=1e-5)


def test_known_buckets_are_stable() -> None:
    """The hashes are our own arithmetic: a library upgrade must not move them."""
    recipe = FeatureRecipe(n_bits=16)
    assert sorted(_char_buckets(pl.Series(["яма"]), recipe)[0]) == [
        13882, 16665, 17543, 24850, 26785, 29338, 29666, 35834, 43262, 58803]


def test_features_are_deterministic_across_batches_and_blocks() -> None:
    alone = [hash_features(pl.Series([t], dtype=pl.String), WITH_CHARS) for t in TEXTS]
    together = hash_features(TEXTS, WITH_CHARS)
    in_blocks = hash_features(TEXTS, WITH_CHARS, block_rows=2)
    assert (together != in_blocks).nnz == 0
    for row, single in enumerate(alone):
        assert (together[row] != single).nnz == 0


def test_inflections_and_long_words_share_ngrams_but_stay_distinct() -> None:
    buckets = _char_buckets(TEXTS, WITH_CHARS)
    assert len(buckets[0] & buckets[1]) >= 20  # отремонтировать / отремонтируйте, дорогу
    long_words = _char_buckets(pl.Series(["неудовлетворительное", "неудовлетворительная"]), WITH_CHARS)
    assert long_words[0] != long_words[1]  # same first 24 bytes and length: still two words


def test_scores_equal_features_times_weights() -> None:
    """Prediction computes A @ (C @ W) per distinct word; training sees A @ C."""
    texts = pl.Series(["яма на дороге", "не горит фонарь", "ямы на дорогах", "фонари не горят",
                       "pothole on the road", "street light out"] * 5)
    labels = pl.Series(["road", "light"] * 15)
    model = TextClassifier.train(texts, labels, recipe=WITH_CHARS)
    scores, _ = model.scores(TEXTS.fill_null(""))
    expected = np.asarray(hash_features(TEXTS.fill_null(""), WITH_CHARS) @ model.weights)
    assert np.allclose(scores, expected + model.intercept, atol=1e-5)
    assert "char 2-5-grams" in model.estimator


def test_models_saved_before_char_ngrams_load_without_them() -> None:
    saved = WITH_CHARS.to_dict()
    for key in ("char_min", "char_max", "char_weight"):
        saved.pop(key)
    assert not FeatureRecipe.from_dict(saved).has_chars
    with pytest.raises(ValueError, match="character n-grams"):
        FeatureRecipe(char_min=4, char_max=3)


def test_a_recipe_saved_before_character_ngrams_round_trips_unchanged() -> None:
    """Models saved by earlier releases hash their recipe dict into their fingerprint: reading
    and writing it back must give the very same dict, or they no longer load."""
    from models.classification.features import FEATURE_ALGORITHM, FeatureRecipe

    saved = {"n_bits": 20, "word_bigrams": True, "prefix_bytes_latin": 5, "prefix_bytes_other": 6,
             "suffix_bytes_latin": 3, "suffix_bytes_other": 6, "seed": 0x5EED_C17E, "algorithm": FEATURE_ALGORITHM}
    recipe = FeatureRecipe.from_dict(saved)
    assert not recipe.has_chars
    assert list(recipe.to_dict().items()) == list(saved.items())
    assert "char_max" in FeatureRecipe().to_dict()  # a recipe with n-grams says so
