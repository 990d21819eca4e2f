"""Selection against the baseline on the same validation slice, and the second level's consistency."""

from __future__ import annotations

import polars as pl
import pytest

from models.classification import candidates as cand
from models.classification.artifact import RequestTextModel
from models.classification.candidates import HASHED_LINEAR, HASHED_WORDS, Trial, select
from models.classification.model_card import ModelCard
from models.classification.text_classifier import TextClassifier
from models.classification.training import train_classifier
from plumbing.workspace import Workspace
from schemas.requests import CATEGORY
from synthetic.requests.free_text import CATEGORY as TRUE_CATEGORY
from synthetic.requests.free_text import FILED, REASON, TEXT, generate_appeals

SHUFFLED = "shuffled-labels"  # a candidate that learns nothing: always below the baseline


@pytest.fixture(scope="module")
def appeals() -> pl.DataFrame:
    return generate_appeals(2500, seed=3)


@pytest.fixture
def with_shuffled_candidate(monkeypatch):
    """A cheapest-of-all candidate trained on shuffled labels."""
    def train(texts: pl.Series, labels: pl.Series, seed: int) -> TextClassifier:
        return TextClassifier.train(texts, labels.shuffle(seed=seed), seed=seed)

    monkeypatch.setitem(cand.CANDIDATES, SHUFFLED, train)
    monkeypatch.setitem(cand.KIND_OF, SHUFFLED, "linear")
    monkeypatch.setitem(cand.COST, SHUFFLED, -1)


def _trial(name: str, macro_f1: float) -> Trial:
    return Trial(name, model=None, figures={"macro_f1": macro_f1})  # type: ignore[arg-type]


def test_a_cheaper_candidate_within_tolerance_but_below_the_baseline_does_not_ship() -> None:
    trials = [_trial(HASHED_WORDS, 0.7995), _trial(HASHED_LINEAR, 0.8005)]
    assert select(trials, floor=None)[0].name == HASHED_WORDS  # tolerance alone: the cheaper
    chosen, reaches = select(trials, floor=0.80)
    assert (chosen.name, reaches) == (HASHED_LINEAR, True)
    chosen, reaches = select(trials, floor=0.81)
    assert (chosen.name, reaches) == (HASHED_LINEAR, False)  # none reaches: the best ships


def test_selection_on_data_ships_a_candidate_reaching_the_baseline(
    appeals, tmp_path, with_shuffled_candidate
) -> None:
    summary = train_classifier(Workspace(tmp_path), appeals, TEXT, TRUE_CATEGORY, "m", time=FILED,
                               candidates=[SHUFFLED, HASHED_WORDS, HASHED_LINEAR])
    card = ModelCard.read(tmp_path / "models" / "m")
    figures = {c["name"]: c["macro_f1"] for c in card.candidates}
    floor = card.selection["baseline_validation_macro_f1"]
    assert figures[SHUFFLED] < floor <= max(figures.values())
    assert card.selection["reaches_baseline"] and summary["selection"]["reaches_baseline"]
    assert card.selected != SHUFFLED and figures[card.selected] >= floor
    assert card.selection["validation_macro_f1"] == figures[card.selected]
    assert not any("BELOW" in note for note in card.notes)


def test_when_no_candidate_reaches_the_baseline_the_card_says_so(
    appeals, tmp_path, with_shuffled_candidate
) -> None:
    summary = train_classifier(Workspace(tmp_path), appeals, TEXT, TRUE_CATEGORY, "m", time=FILED,
                               candidates=[SHUFFLED])
    card = ModelCard.read(tmp_path / "models" / "m")
    assert card.selected == SHUFFLED and not card.selection["reaches_baseline"]
    assert summary["selection"]["verdict"].startswith("BELOW THE BASELINE")
    assert any(note.startswith("BELOW THE BASELINE") for note in card.notes)
    assert "BELOW THE BASELINE" in (tmp_path / "models" / "m" / "model_card.md").read_text()


def test_second_level_is_always_one_of_the_categorys_reasons(appeals, tmp_path) -> None:
    train_classifier(Workspace(tmp_path), appeals, TEXT, TRUE_CATEGORY, "m", time=FILED,
                     label2=REASON, candidates=[HASHED_LINEAR])
    model = RequestTextModel.load(tmp_path / "models" / "m")
    seen = set(appeals.select(TRUE_CATEGORY, REASON).unique().iter_rows())
    texts = pl.concat([appeals[TEXT].tail(500), pl.Series(["прочее", "other", "", "шум яма лифт"])])
    predicted = model.predict_batch(texts)
    pairs = predicted.filter(pl.col(REASON).is_not_null()).select(CATEGORY, REASON).iter_rows()
    assert set(pairs) <= seen
    assert predicted.filter(pl.col(CATEGORY).is_null())[REASON].is_null().all()
    # "прочее" is a reason of several categories: it comes out under more than one of them.
    assert appeals.filter(pl.col(REASON) == "прочее")[TRUE_CATEGORY].n_unique() > 3

    card = ModelCard.read(tmp_path / "models" / "m")
    level2 = card.level2
    assert level2["label"] == REASON and level2["holdout_consistent_share"] == 1.0
    assert 0.5 < level2["holdout_joint_accuracy"] <= card.holdout["accuracy"]
    assert level2["holdout_macro_f1"] > 0.5 and card.holdout["macro_f1"] > 0.7
    assert 0.0 <= level2["holdout_joint_coverage_at_target"] <= 1.0
    markdown = (tmp_path / "models" / "m" / "model_card.md").read_text()
    assert f"## Second level: {REASON}" in markdown and "holdout_joint_accuracy" in markdown
