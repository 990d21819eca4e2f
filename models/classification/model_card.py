"""The model card that travels with every trained request classifier (JSON for machines, Markdown
for people).

A researcher reading `model_version` on a dataset row must be able to find out what produced it:
the data it learned from and how it was split, which candidates were tried and why one was
chosen, how well it did on rows it never saw (the holdout, scored once), how far its confidence
can be trusted (reliability bins, ECE, precision against coverage, the review threshold), how it
compares with the plain TF-IDF baseline on the same split, and which library versions computed
it. The figures are computed in `models.classification.metrics`; the holdout ones can be recomputed
from `holdout_predictions.parquet` beside the card.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

CARD_JSON = "model_card.json"
CARD_MARKDOWN = "model_card.md"


@dataclass
class ModelCard:
    name: str
    version: str
    model_version: str
    created_at: str
    data: dict  # source columns, rows per part, how the holdout and validation were chosen
    classes: list[str]
    class_support: dict[str, int]  # training rows per class
    selected: str  # the candidate that ships
    candidates: list[dict]  # name, estimator, validation figures, training time, throughput
    holdout: dict  # `classifier_metrics.holdout_report` of the shipped model
    baseline: dict  # the TF-IDF baseline on the same split
    review: dict  # precision target, confidence floor, threshold, validation coverage
    training_seconds: float
    inference_texts_per_second: float
    model: dict  # estimator, hyper-parameters, calibration
    libraries: dict[str, str]
    level2: dict | None = None  # second level (category -> reason), when trained
    notes: list[str] = field(default_factory=list)
    selection: dict | None = None  # the rule, the shipped and the baseline validation macro-F1

    @property
    def accuracy(self) -> float:
        return self.holdout["accuracy"]

    @property
    def macro_f1(self) -> float:
        return self.holdout["macro_f1"]

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / CARD_JSON).write_text(
            json.dumps(asdict(self), indent=2, ensure_ascii=False), encoding="utf-8"
        )
        (directory / CARD_MARKDOWN).write_text(card_markdown(self), encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> ModelCard:
        path = Path(directory) / CARD_JSON
        if not path.exists():
            raise FileNotFoundError(f"no model card at {path}; train the model with `urbanpulse train classifier`")
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def _figure(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def card_markdown(card: ModelCard) -> str:
    """The card for people: one section per question a reader of `model_version` asks."""
    sections = [
        _summary_lines(card),
        _section("Data and split", [f"- {key}: {value}" for key, value in card.data.items()]),
        _candidates_section(card),
        _holdout_section(card),
        _review_section(card.holdout, card.review),
        _per_class_section(card),
        _confusion_section(card.holdout["confusion_matrix"]),
    ]
    if card.level2:
        sections.append(_section(
            f"Second level: {card.level2['label']}",
            [f"- {key}: {value}" for key, value in card.level2.items() if key != "label"],
        ))
    sections.append(
        _section("Libraries", [f"- {name} {version}" for name, version in card.libraries.items()])
    )
    if card.notes:
        sections.append(_section("Notes", [f"- {note}" for note in card.notes]))
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def _section(title: str, body: list[str]) -> list[str]:
    return [f"## {title}", "", *body]


def _summary_lines(card: ModelCard) -> list[str]:
    return [
        f"# Model card: {card.name} {card.version}",
        "",
        f"- model_version: `{card.model_version}`",
        f"- created: {card.created_at}",
        f"- selected candidate: **{card.selected}** ({card.model.get('estimator')})",
        *([f"- selection: {card.selection['verdict']}"] if card.selection else []),
        (f"- training time (all candidates and the baseline): {card.training_seconds:.1f} s; "
        f"inference: {card.inference_texts_per_second:,.0f} texts/s"),
    ]


def _candidates_section(card: ModelCard) -> list[str]:
    floor = card.selection or {}
    return _section("Candidates (validation slice of the training period)", [
        *([f"- rule: {floor['rule']}", (f"- baseline on this slice: macro-F1 "
           f"{floor['baseline_validation_macro_f1']:.4f}"), ""] if floor else []),
        "| candidate | estimator | macro-F1 | accuracy | training s | texts/s |",
        "|---|---|---:|---:|---:|---:|",
        *(
            f"| {c['name']}{' (selected)' if c['name'] == card.selected else ''} "
            f"| {c['estimator']} "
            f"| {c['macro_f1']:.4f} | {c['accuracy']:.4f} | {c['training_seconds']:.1f} "
            f"| {c['texts_per_second']:,.0f} |"
            for c in card.candidates
        ),
    ])


def _holdout_section(card: ModelCard) -> list[str]:
    holdout, baseline = card.holdout, card.baseline
    return _section("Holdout (scored once, after selection)", [
        "| model | accuracy | macro-F1 | training s | texts/s |",
        "|---|---:|---:|---:|---:|",
        (f"| {card.selected} | {holdout['accuracy']:.4f} | {holdout['macro_f1']:.4f} "
        f"| {card.training_seconds:.1f} | {card.inference_texts_per_second:,.0f} |"),
        (f"| baseline: {baseline.get('estimator')} | {baseline['accuracy']:.4f} "
        f"| {baseline['macro_f1']:.4f} | {baseline['training_seconds']:.1f} "
        f"| {baseline['texts_per_second']:,.0f} |"),
    ])


def _review_section(holdout: dict, review: dict) -> list[str]:
    """The review rule and threshold, then the reliability bins and precision against coverage."""
    return _section("Confidence and review", [
        f"- rule: {review['rule']}",
        (f"- review threshold: {_figure(review['threshold'])} (validation coverage "
        f"{review['validation_coverage']:.1%}, "
        f"precision {_figure(review['validation_precision'])})"),
        (f"- holdout at that threshold: coverage {holdout['coverage_at_threshold']:.1%}, "
        f"precision {_figure(holdout['precision_at_threshold'])}"),
        (f"- holdout coverage at {holdout['precision_target']:.0%} precision (best threshold in "
        f"hindsight): {holdout['coverage_at_target']:.1%}"),
        f"- expected calibration error (ECE): {holdout['calibration']['ece']:.4f}",
        "",
        "| confidence | rows | mean confidence | accuracy |",
        "|---|---:|---:|---:|",
        *(
            f"| {b['low']:.1f}-{b['high']:.1f} | {b['rows']} | {b['mean_confidence']:.3f} "
            f"| {b['accuracy']:.3f} |"
            for b in holdout["calibration"]["bins"] if b["rows"]
        ),
        "",
        "| threshold | coverage | precision |",
        "|---:|---:|---:|",
        *(
            f"| {p['threshold']:.2f} | {p['coverage_at_threshold']:.1%} "
            f"| {_figure(p['precision_at_threshold'])} |"
            for p in holdout["precision_coverage"]
        ),
    ])


def _per_class_section(card: ModelCard) -> list[str]:
    return _section("Per class (holdout)", [
        "| class | train rows | precision | recall | F1 | holdout rows |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {label} | {card.class_support.get(label, 0)} | {metrics['precision']:.3f} "
            f"| {metrics['recall']:.3f} | {metrics['f1']:.3f} | {metrics['support']} |"
            for label, metrics in card.holdout["per_class"].items()
        ),
    ])


def _confusion_section(matrix: dict) -> list[str]:
    """Columns are numbered (label names would make the table too wide); rows say which is which."""
    labels = matrix["labels"]
    title = "Confusion matrix (holdout; rows truth, columns predicted, last: no category)"
    return _section(title, [
        "| truth \\ predicted | " + " | ".join(str(i) for i in range(len(labels))) + " |",
        "|---|" + "---:|" * len(labels),
        *(
            f"| {index}: {label} | " + " | ".join(str(v) for v in row) + " |"
            for index, (label, row) in enumerate(zip(labels, matrix["matrix"], strict=True))
        ),
    ])


def library_versions() -> dict[str, str]:
    """Versions of the libraries that compute features, weights and pipelines (recorded, shown)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in ("numpy", "polars", "pyarrow", "scipy", "scikit-learn", "spacy", "thinc"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return versions
