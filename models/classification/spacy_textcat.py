"""The spaCy candidate: a blank multilingual pipeline with a bag-of-words `textcat`, trained here.

Nothing is downloaded: `spacy.blank("xx")` (a tokenizer for any script) plus a `textcat` with
spaCy's `TextCatBOW` architecture (hashed unigrams and bigrams into a linear layer, softmax over
exclusive classes), trained on the city's labelled history on the CPU. Training stops after
`max_epochs` passes or `max_seconds`, whichever comes first, so 50k texts train in well under a
minute. Texts go through the same normalisation as the hashed linear model
(`models.text.normalise.normalise`: case, ё, URLs, e-mails, phones, masked spans), so the two
candidates compete on the model, not on the cleaning. The raw scores are log-probabilities,
calibrated by the same temperature and review rule as every candidate. Saved with
`nlp.to_disk` (no pickle).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from models.classification.predictions import prediction_frame
from models.classification.text_classifier import (
    ModelArtifactError,
    TrainingDataError,
    labelled_rows,
)
from models.text.language import detect_language
from models.text.normalise import normalise

ARTIFACT_FORMAT = "urbanpulse-spacy-textcat/1"
MANIFEST_FILE = "spacy_model.json"
PIPELINE_DIR = "pipeline"
DEFAULT_NAME = "request-text-spacy"
MAX_EPOCHS = 6
MAX_SECONDS = 25.0
BATCH_SIZE = 256
PIPE_BATCH = 4096
BOW_CONFIG = {
    "@architectures": "spacy.TextCatBOW.v3",
    "exclusive_classes": True,
    "ngram_size": 2,
    "no_output_layer": False,
    "length": 262144,
}
# A document with no token breaks the BOW layer; it is scored as this and then abstains.
_PLACEHOLDER = "."


@dataclass
class SpacyTextcat:
    nlp: object  # spacy.Language
    classes: list[str]
    temperature: float = 1.0
    review_threshold: float | None = None
    name: str = DEFAULT_NAME
    version: str = "0"
    epochs: int = 0
    _version_cache: tuple = field(default=(), init=False, repr=False, compare=False)

    @property
    def estimator(self) -> str:
        return (f"spaCy {_spacy_version()} blank('xx') + textcat TextCatBOW (word uni+bigrams), "
                f"{self.epochs} epochs")

    @property
    def model_version(self) -> str:
        """`name@version-digest`, the digest over the weights computed once per calibration."""
        key = (self.name, self.version, self.temperature, self.review_threshold)
        if not self._version_cache or self._version_cache[0] != key:
            sha = hashlib.sha256()
            sha.update(json.dumps([self.classes, self.temperature, self.review_threshold]).encode())
            sha.update(self.nlp.get_pipe("textcat").model.to_bytes())
            self._version_cache = (key, f"{self.name}@{self.version}-{sha.hexdigest()[:8]}")
        return self._version_cache[1]

    def _docs(self, normalised: pl.Series) -> list:
        texts = normalised.fill_null("").to_list()
        texts = [text or _PLACEHOLDER for text in texts]
        return list(self.nlp.tokenizer.pipe(texts, batch_size=PIPE_BATCH))

    def scores(self, texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
        """Log-probabilities (texts x classes) and whether each text had a word."""
        normalised = normalise(texts.cast(pl.String))
        has_words = (normalised.fill_null("").str.len_bytes() > 0).to_numpy()
        if len(texts) == 0:
            return np.zeros((0, len(self.classes))), has_words
        textcat = self.nlp.get_pipe("textcat")
        parts = []
        for start in range(0, len(texts), PIPE_BATCH):
            docs = self._docs(normalised.slice(start, PIPE_BATCH))
            parts.append(np.asarray(textcat.predict(docs)))
        probabilities = np.vstack(parts)
        return np.log(np.maximum(probabilities, 1e-12)), has_words

    def predict_batch(self, texts: pl.Series) -> pl.DataFrame:
        scores, has_words = self.scores(texts)
        return prediction_frame(
            scores, has_words, detect_language(texts), self.classes, self.temperature,
            self.review_threshold, self.model_version,
        )

    @classmethod
    def train(
        cls, texts: pl.Series, labels: pl.Series, *, seed: int = 0, max_epochs: int = MAX_EPOCHS,
        max_seconds: float = MAX_SECONDS, name: str = DEFAULT_NAME,
    ) -> SpacyTextcat:
        """Train from a blank pipeline until `max_epochs` or `max_seconds` (checked per batch)."""
        import spacy
        from spacy.training import Example
        from thinc.api import fix_random_seed

        started = time.perf_counter()
        texts, labels = labelled_rows(texts, labels)
        classes = sorted(labels.unique().to_list())
        if len(classes) < 2:
            raise TrainingDataError(f"{len(texts)} labelled rows in {len(classes)} category; "
                                    "a classifier needs two")
        fix_random_seed(seed)
        nlp = spacy.blank("xx")
        textcat = nlp.add_pipe("textcat", config={"model": BOW_CONFIG})
        for label in classes:
            textcat.add_label(label)
        model = cls(nlp, classes, name=name, version=datetime.now(UTC).strftime("%Y%m%d.%H%M%S"))
        normalised = normalise(texts)
        has_words = (normalised.str.len_bytes() > 0).to_numpy()
        docs = model._docs(normalised.filter(pl.Series(has_words)))
        targets = labels.filter(pl.Series(has_words)).to_list()
        examples = [
            Example.from_dict(doc, {"cats": {label: float(label == target) for label in classes}})
            for doc, target in zip(docs, targets, strict=True)
        ]
        optimizer = nlp.initialize(lambda: examples[:1000])
        rng = random.Random(seed)
        while model.epochs < max_epochs and time.perf_counter() - started < max_seconds:
            rng.shuffle(examples)
            for start in range(0, len(examples), BATCH_SIZE):
                nlp.update(examples[start : start + BATCH_SIZE], sgd=optimizer, drop=0.0)
                if time.perf_counter() - started >= max_seconds:
                    break
            model.epochs += 1
        return model

    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.nlp.to_disk(path / PIPELINE_DIR)
        manifest = {
            "format": ARTIFACT_FORMAT, "name": self.name, "version": self.version,
            "model_version": self.model_version, "classes": self.classes,
            "temperature": self.temperature, "review_threshold": self.review_threshold,
            "epochs": self.epochs,
        }
        (path / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, path: Path) -> SpacyTextcat:
        import spacy

        path = Path(path)
        manifest_path = path / MANIFEST_FILE
        if not manifest_path.exists():
            raise ModelArtifactError(f"no spaCy textcat at {path}: {MANIFEST_FILE} is missing; "
                                     "train one with `urbanpulse train classifier`")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != ARTIFACT_FORMAT:
            raise ModelArtifactError(f"{manifest_path} has format {manifest.get('format')!r}, this "
                                     f"code reads {ARTIFACT_FORMAT!r}; retrain the model")
        model = cls(
            spacy.load(path / PIPELINE_DIR), list(manifest["classes"]),
            float(manifest["temperature"]), manifest["review_threshold"], manifest["name"],
            manifest["version"], int(manifest["epochs"]),
        )
        if model.model_version != manifest["model_version"]:
            raise ModelArtifactError(f"{path / PIPELINE_DIR} does not match {manifest_path}; the "
                                     "artifact is damaged or mixed from two trainings")
        return model


def _spacy_version() -> str:
    import spacy

    return spacy.__version__
