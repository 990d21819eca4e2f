"""Request classifier benchmark: every labelled dataset we have, against the TF-IDF baseline.

    python -m bench.classifier [--demo-rows 62500] [--free-text-rows 20000]
        [--throughput-rows 100000] [--out bench/out]

Per dataset, one `models.classification.training.train_classifier` run (candidates chosen on a validation slice
of the training period, holdout scored once, baseline TF-IDF char_wb 2-5 + LinearSVC(C=0.5)
trained and scored on the same split in the same run): macro-F1 of both, coverage at 98%
precision, training time, and how selection went against the baseline on the validation slice.
Datasets: the demo city (62,500 generated requests: a 50,000-row training period, temporal
split); resident-written free text (`synthetic.requests.free_text`: short, misspelt,
bureaucratic Russian and English, 15 categories with a second level of reasons, temporal split);
and the real samples in shared/data/ that have a text and a label (NYC 311 descriptor ->
complaint type; SF 311 descriptor -> category and status notes -> category). Then inference
throughput of every shipped model on the same ~120-character demo texts (description +
address) against the baseline, median of 3 runs each. Reports go to
bench/out/classifier_report.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl

from bench.report import machine_info, save_report
from models.classification.artifact import RequestTextModel
from models.classification.baseline import baseline_pipeline
from models.classification.training import train_classifier
from plumbing.workspace import Workspace
from schemas import requests as rq
from synthetic.demo_city import build_demo_city
from synthetic.requests import free_text
from synthetic.requests.generator import generate_requests

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "requests"
# Real exports: (name, file, text column, label column, time column or None), their own names.
REAL_DATASETS = (
    ("nyc311 descriptor -> complaint type", "nyc311_2023-02-28_sample_5k.csv", "Descriptor",
     "Complaint Type", "Created Date"),
    ("sf311 descriptor -> category", "sf311_service_requests_sample_10k.csv", "descriptor",
     "category", "created_date"),
    ("sf311 status notes -> category", "sf311_service_requests_sample_10k.csv", "status_notes",
     "category", "created_date"),
)
TARGET_TEXTS_PER_SECOND = 100_000
TARGET_TRAINING_SECONDS = 120
TARGET_COVERAGE = 0.80  # auto-routed at 98% precision
FREE_TEXT_MARGIN = 0.02  # over the baseline on resident-written free text
FREE_TEXT = "resident free text (generated) -> category, reason"


def _datasets(workspace: Workspace, demo_rows: int, free_text_rows: int):
    pack = build_demo_city(workspace.city("demo"))
    records, truth = generate_requests(pack, demo_rows, seed=11)
    demo = records.select(rq.DESCRIPTION, rq.REQUESTED_DATETIME, rq.ADDRESS).with_columns(truth[rq.CATEGORY])
    yield "demo city (generated)", demo, rq.DESCRIPTION, rq.CATEGORY, None, rq.REQUESTED_DATETIME
    appeals = free_text.generate_appeals(free_text_rows, seed=17)
    yield (FREE_TEXT, appeals, free_text.TEXT, free_text.CATEGORY, free_text.REASON,
           free_text.FILED)
    for name, file, text, label, time_column in REAL_DATASETS:
        path = SAMPLES / file
        if path.exists():
            frame = pl.read_csv(path, infer_schema=False).filter(pl.col(text).is_not_null())
            yield name, frame, text, label, None, time_column


def _median_rate(predict, texts: pl.Series, runs: int = 3) -> float:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        predict(texts)
        seconds.append(time.perf_counter() - started)
    return len(texts) / statistics.median(seconds)


def _throughput(workspace: Workspace, demo: pl.DataFrame, rows: int, models: list[str]) -> dict:
    """Every shipped model vs the baseline on the same demo texts (description + address)."""
    texts = (demo[rq.DESCRIPTION].fill_null("") + " " + demo[rq.ADDRESS].fill_null(""))
    texts = pl.concat([texts] * (rows // len(texts) + 1)).head(rows)
    train = demo.head(len(demo) * 4 // 5).filter(pl.col(rq.DESCRIPTION).is_not_null())
    baseline = baseline_pipeline().fit(train[rq.DESCRIPTION].to_list(), train[rq.CATEGORY].to_list())
    sample = texts.head(min(rows, 20_000))
    shipped = []
    for name in models:
        model = RequestTextModel.load(workspace.model(name))
        shipped.append({"model": name, "estimator": model.model.estimator,
                        "texts_per_second": round(_median_rate(model.model.predict_batch, texts))})
    return {
        "rows": rows, "mean_chars": round(texts.str.len_chars().mean(), 1), "shipped": shipped,
        "baseline_rows": len(sample),
        "baseline_texts_per_second": round(
            _median_rate(lambda batch: baseline.predict(batch.to_list()), sample)
        ),
    }


def _result(name: str, text: str, label: str, summary: dict, card: dict) -> dict:
    selection = card["selection"]
    result = {
        "dataset": name, "text": text, "label": label, "split": summary["split"],
        "rows": summary["rows"], "train_rows": summary["train_rows"],
        "classes": len(card["classes"]), "selected": summary["selected"],
        "macro_f1": summary["macro_f1"], "baseline_macro_f1": summary["baseline_macro_f1"],
        "margin": summary["macro_f1"] - summary["baseline_macro_f1"],
        "accuracy": summary["accuracy"], "baseline_accuracy": card["baseline"]["accuracy"],
        "validation_macro_f1": selection["validation_macro_f1"],
        "baseline_validation_macro_f1": selection["baseline_validation_macro_f1"],
        "reaches_baseline_on_validation": selection["reaches_baseline"],
        "coverage_at_98_precision": summary["coverage_at_target"],
        "coverage_at_threshold": summary["coverage_at_threshold"],
        "review_threshold": summary["review_threshold"],
        "ece": card["holdout"]["calibration"]["ece"],
        "training_seconds": summary["training_seconds"],
        "baseline_training_seconds": card["baseline"]["training_seconds"],
        "candidates": {c["name"]: round(c["macro_f1"], 4) for c in card["candidates"]},
    }
    if card.get("level2"):
        result["level2"] = card["level2"]
    return result


def run(demo_rows: int, throughput_rows: int, free_text_rows: int) -> dict:
    results, demo, names = [], None, []
    with tempfile.TemporaryDirectory() as home:
        workspace = Workspace(Path(home))
        datasets = _datasets(workspace, demo_rows, free_text_rows)
        for index, (name, frame, text, label, label2, time_column) in enumerate(datasets):
            model_name = "bench-demo" if index == 0 else f"bench-{index}"
            demo = frame if index == 0 else demo
            summary = train_classifier(workspace, frame, text, label, model_name, time=time_column,
                                       label2=label2)
            card = json.loads((workspace.model(model_name) / "model_card.json").read_text())
            results.append(_result(name, text, label, summary, card))
            names.append(model_name)
            print(f"{name}: macro-F1 {summary['macro_f1']:.4f} vs baseline "
                  f"{summary['baseline_macro_f1']:.4f}, {summary['training_seconds']:.0f} s; "
                  f"{summary['selection']['verdict']}", flush=True)
        throughput = _throughput(workspace, demo, throughput_rows, names)
    return {"machine": machine_info(), "datasets": results, "throughput": throughput,
            "targets": {"texts_per_second": TARGET_TEXTS_PER_SECOND,
                        "training_seconds_for_50k": TARGET_TRAINING_SECONDS,
                        "coverage_at_98_precision": TARGET_COVERAGE,
                        "free_text_margin": FREE_TEXT_MARGIN}}


def render(report: dict) -> str:
    m, t, targets = report["machine"], report["throughput"], report["targets"]
    lines = [
        "# Request classifier benchmark", "",
        f"Machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['ram_gb']} GB RAM, Python {m['python']}.",
        "", "## Quality on each dataset's holdout (same split for model and baseline)", "",
        ("| dataset | split | rows (train) | classes | selected | macro-F1 | baseline macro-F1 "
        "| margin | validation: model / baseline | coverage at 98% precision "
        "| shipped threshold: coverage | ECE | training s | baseline training s |"),
        "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for d in report["datasets"]:
        lines.append(
            f"| {d['dataset']} | {d['split']} | {d['rows']:,} ({d['train_rows']:,}) | {d['classes']} "
            f"| {d['selected']} | **{d['macro_f1']:.4f}** | {d['baseline_macro_f1']:.4f} "
            f"| {d['margin']:+.4f} | {d['validation_macro_f1']:.4f} / "
            f"{d['baseline_validation_macro_f1']:.4f}{'' if d['reaches_baseline_on_validation'] else ' (below)'} "
            f"| {d['coverage_at_98_precision']:.1%} | {d['coverage_at_threshold']:.1%} "
            f"| {d['ece']:.4f} | {d['training_seconds']:.1f} | {d['baseline_training_seconds']:.1f} |"
        )
    for d in report["datasets"]:
        if "level2" in d:
            level2 = d["level2"]
            lines += ["", (f"Second level of {d['dataset']} ({level2['label']}, {level2['classes']} "
                      f"labels): holdout macro-F1 {level2['holdout_macro_f1']:.4f}, accuracy "
                      f"{level2['holdout_accuracy']:.4f}; category and reason both right "
                      f"{level2['holdout_joint_accuracy']:.1%}; reasons consistent with the "
                      f"category {level2['holdout_consistent_share']:.1%}; pairs decided at 98% "
                      f"precision {level2['holdout_joint_coverage_at_target']:.1%}.")]
    lines += ["", "Candidates' validation macro-F1: " + "; ".join(
        f"{d['dataset']}: {d['candidates']}" for d in report["datasets"]), "",
        ("Training seconds cover the whole run: every candidate, the baseline twice (validation "
         "slice, holdout), calibration, the second level, the holdout scoring and the card."), "",
        f"## Inference throughput (same {t['rows']:,} demo texts, {t['mean_chars']} chars, median of 3)",
        "", "| model | estimator | texts/s |", "|---|---|---:|",
        *(f"| {s['model']} | {s['estimator']} | {s['texts_per_second']:,} |" for s in t["shipped"]),
        (f"| baseline ({t['baseline_rows']:,} texts) | TF-IDF char_wb 2-5 + LinearSVC "
         f"| {t['baseline_texts_per_second']:,} |"), "",
        (f"Targets: macro-F1 >= the baseline on every dataset, >= baseline + "
         f"{targets['free_text_margin']} on resident free text; >= {targets['texts_per_second']:,} "
         f"texts/s; >= {targets['coverage_at_98_precision']:.0%} auto-routed at 98% precision; "
         f"training on 50k texts <= {targets['training_seconds_for_50k']} s."),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.classifier", description=__doc__)
    parser.add_argument("--demo-rows", type=int, default=62_500)
    parser.add_argument("--throughput-rows", type=int, default=100_000)
    parser.add_argument("--free-text-rows", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args(argv)
    report = run(args.demo_rows, args.throughput_rows, args.free_text_rows)
    print(f"report: {save_report(args.out, 'classifier_report', report, render(report))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
