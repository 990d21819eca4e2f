"""The optional second level of a request classifier (category -> reason), kept consistent.

Some cities label a request twice: NYC's complaint type and descriptor, SF's service name and
subtype. The second level is one hashed linear model over all second-level labels, but at
prediction time it may only choose among the labels seen under the predicted category in
training (`allowed`), so "Noise -> Loud Music" can never come out as "Street Light -> Loud
Music". Its confidence is the calibrated softmax over those allowed labels only: given the
category, how sure the reason is. A row without a category gets no reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from models.classification.calibration import fit_calibration
from models.classification.predictions import constrained_top
from models.classification.text_classifier import TextClassifier, labelled_rows

LEVELS_FILE = "levels.json"


@dataclass
class SecondLevel:
    label: str  # the training column's name, also the name of the predicted column
    model: TextClassifier
    allowed: dict[str, list[str]]  # category -> second-level labels seen under it

    @property
    def confidence_column(self) -> str:
        return f"{self.label}_confidence"

    def _allowed_matrix(self, parents: list[str]) -> np.ndarray:
        children = {name: index for index, name in enumerate(self.model.classes)}
        matrix = np.zeros((len(parents), len(children)), dtype=bool)
        for row, parent in enumerate(parents):
            columns = [children[c] for c in self.allowed.get(parent, []) if c in children]
            matrix[row, columns] = True
        return matrix

    def predict(self, texts: pl.Series, category: pl.Series) -> pl.DataFrame:
        """The second-level label and its confidence per text, given the predicted category."""
        parents = sorted(self.allowed)
        parent = (
            category.replace_strict(parents, list(range(len(parents))), default=-1,
                                    return_dtype=pl.Int64)
            .fill_null(-1).to_numpy()
        )
        scores, _ = self.model.scores(texts)
        best, confidence = constrained_top(
            scores, self._allowed_matrix(parents), parent, self.model.temperature
        )
        labels = pl.Series(self.label, self.model.classes, dtype=pl.String).gather(np.maximum(best, 0))
        if (best < 0).any():
            labels = labels.set(pl.Series(best < 0), None)
        return pl.DataFrame([
            labels,
            pl.Series(self.confidence_column, confidence, dtype=pl.Float64).fill_nan(None),
        ])

    @classmethod
    def train(
        cls, label: str, texts: pl.Series, categories: pl.Series, children: pl.Series,
        validation: tuple[pl.Series, pl.Series] | None, seed: int,
    ) -> SecondLevel:
        """Fit on rows with both labels; calibrate the temperature on `validation` (texts, labels)."""
        both = (categories.is_not_null() & children.is_not_null()).to_numpy()
        texts, categories, children = (s.filter(pl.Series(both)) for s in (texts, categories, children))
        pairs = pl.DataFrame({"parent": categories.cast(pl.String), "child": children.cast(pl.String)})
        allowed = {
            row["parent"]: sorted(row["child"])
            for row in pairs.unique().group_by("parent").agg("child").iter_rows(named=True)
        }
        model = TextClassifier.train(texts, children, seed=seed, name=f"{label}-level")
        if validation is not None:
            val_texts, val_labels = labelled_rows(*validation)
            model.temperature = fit_calibration(model.scores(val_texts)[0], model.classes, val_labels)
        return cls(label, model, allowed)

    def save(self, path: Path) -> None:
        self.model.save(path)
        (path / LEVELS_FILE).write_text(
            json.dumps({"label": self.label, "allowed": self.allowed}, indent=2, ensure_ascii=False),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, path: Path) -> SecondLevel:
        levels = json.loads((path / LEVELS_FILE).read_text(encoding="utf-8"))
        return cls(levels["label"], TextClassifier.load(path), levels["allowed"])
