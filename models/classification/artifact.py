"""A trained request classifier as it lives in the workspace: `models/NAME/`.

    classifier.json                what it is: kind of the category model, city, training columns
    category/                      the selected category model (hashed linear: model.json +
                                   weights.npz; spaCy: spacy_model.json + pipeline/ from to_disk)
    level2/                        optional second level (category -> reason)
    model_card.json, model_card.md the card (`models.classification.model_card`)
    holdout_predictions.parquet    the holdout rows' truth, predictions (and time) behind the card

No pickle anywhere. `RequestTextModel.predict_batch` gives the request prediction columns
(category, calibrated confidence, needs_review, language, model_version) whatever the kind, and
the second level's two columns when there is one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from models.classification.levels import SecondLevel
from models.classification.model_card import CARD_JSON, ModelCard
from models.classification.spacy_textcat import SpacyTextcat
from models.classification.text_classifier import MODEL_FILE, ModelArtifactError, TextClassifier
from schemas.requests import CATEGORY

ARTIFACT_FORMAT = "urbanpulse-request-classifier/1"
MANIFEST_FILE = "classifier.json"
CATEGORY_DIR = "category"
LEVEL2_DIR = "level2"
HOLDOUT_FILE = "holdout_predictions.parquet"
# Columns of holdout_predictions.parquet besides the prediction columns: the true labels.
HOLDOUT_TRUTH = "truth"
HOLDOUT_TRUTH_LEVEL2 = "truth_level2"
LINEAR, SPACY = "linear", "spacy"
_LOADERS = {LINEAR: TextClassifier.load, SPACY: SpacyTextcat.load}


@dataclass
class RequestTextModel:
    model: TextClassifier | SpacyTextcat
    kind: str  # LINEAR | SPACY
    city: str | None = None
    training: dict | None = None  # data file, text / label / time columns
    level2: SecondLevel | None = None
    card: ModelCard | None = None

    @property
    def model_version(self) -> str:
        return self.model.model_version

    @property
    def classes(self) -> list[str]:
        return self.model.classes

    def predict_batch(self, texts: pl.Series) -> pl.DataFrame:
        predicted = self.model.predict_batch(texts)
        if self.level2 is None:
            return predicted
        return predicted.hstack(self.level2.predict(texts, predicted[CATEGORY]))

    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save(path / CATEGORY_DIR)
        if self.level2 is not None:
            self.level2.save(path / LEVEL2_DIR)
        manifest = {
            "format": ARTIFACT_FORMAT, "kind": self.kind, "model_version": self.model_version,
            "city": self.city, "training": self.training,
            "level2": self.level2.label if self.level2 else None,
        }
        (path / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), "utf-8")
        if self.card is not None:
            self.card.write(path)

    @classmethod
    def load(cls, path: Path) -> RequestTextModel:
        """Load an artifact of any kind (a bare hashed-linear model directory loads too)."""
        path = Path(path)
        manifest_path = path / MANIFEST_FILE
        if not manifest_path.exists():
            if (path / MODEL_FILE).exists():
                return cls(TextClassifier.load(path), LINEAR)
            raise ModelArtifactError(
                f"no request classifier at {path}: {MANIFEST_FILE} is missing; train one with "
                "`urbanpulse train classifier --data FILE --text COL --label COL --name NAME`"
            )
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("format") != ARTIFACT_FORMAT or manifest.get("kind") not in _LOADERS:
            raise ModelArtifactError(
                f"{manifest_path} has format {manifest.get('format')!r} / kind "
                f"{manifest.get('kind')!r}; this code reads {ARTIFACT_FORMAT!r} of kinds "
                f"{sorted(_LOADERS)}: retrain the model with this version"
            )
        model = _LOADERS[manifest["kind"]](path / CATEGORY_DIR)
        level2 = SecondLevel.load(path / LEVEL2_DIR) if manifest.get("level2") else None
        card = ModelCard.read(path) if (path / CARD_JSON).exists() else None
        return cls(model, manifest["kind"], manifest.get("city"), manifest.get("training"),
                   level2, card)
