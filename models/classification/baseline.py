"""The baseline every UrbanPulse request classifier must beat: what a competent analyst fits today.

TF-IDF over character n-grams inside word boundaries (`char_wb`, 2-5, min_df=3, sublinear tf,
300k features) + LinearSVC(C=0.5), exactly as in the pandas peer of our benchmarks
(`shared/bench/peer_pandas.py`). It is trained on the same training period and scored on the
same holdout as the candidates, and its figures go into the model card beside the shipped
model's. It is never shipped (a scikit-learn pipeline would need pickle), so it has no
calibration, no review threshold and no artifact.
"""

from __future__ import annotations

import time

import numpy as np
import polars as pl

from models.classification.metrics import classification_metrics, measure_throughput
from models.classification.text_classifier import labelled_rows

ESTIMATOR = ("TF-IDF char_wb 2-5 (min_df=3, sublinear_tf, max_features=300000) "
             "+ LinearSVC(C=0.5)")


def baseline_pipeline():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True,
                        max_features=300000),
        LinearSVC(C=0.5),
    )


def evaluate_baseline(
    train_texts: pl.Series, train_labels: pl.Series, test_texts: pl.Series,
    test_labels: pl.Series, throughput_rows: int = 20_000,
) -> dict:
    """Fit on the training period (rows with a text and a label, as the peer does), score the
    holdout (a missing text is scored as ""), and time both (no throughput when
    `throughput_rows` is 0: the validation-slice run that sets the selection floor)."""
    texts, labels = labelled_rows(train_texts, train_labels)
    has_text = texts.is_not_null()
    texts, labels = texts.filter(has_text), labels.filter(has_text)
    started = time.perf_counter()
    model = baseline_pipeline().fit(texts.to_list(), labels.to_list())
    training_seconds = time.perf_counter() - started

    def predict(batch: pl.Series) -> np.ndarray:
        return model.predict(batch.fill_null("").to_list())

    test_texts, test_labels = labelled_rows(test_texts, test_labels)
    predicted = pl.Series(predict(test_texts), dtype=pl.String)
    metrics = classification_metrics(predicted, test_labels, sorted(labels.unique().to_list()))
    return {
        "estimator": ESTIMATOR,
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "training_seconds": round(training_seconds, 3),
        "texts_per_second": (round(measure_throughput(predict, test_texts, throughput_rows, 1))
                             if throughput_rows else None),
        "per_class_f1": {label: m["f1"] for label, m in metrics["per_class"].items()},
    }
