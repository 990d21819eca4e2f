"""`urbanpulse train classifier` and `urbanpulse classify`: a city's request classifier from its
labelled history, and categories with calibrated confidence for any CSV or Parquet of texts."""

from __future__ import annotations

from pathlib import Path

from flows.cli_steps import done, step
from plumbing.workspace import Workspace


def register(commands, groups) -> None:
    train = groups["train"]
    classifier = train.add_parser("classifier", help="train a request classifier on labelled history")
    classifier.add_argument("--data", type=Path, required=True, help="labelled history (.parquet or .csv)")
    classifier.add_argument("--text", required=True, help="column with the request text")
    classifier.add_argument("--label", required=True, help="column with the category")
    classifier.add_argument("--label2", help="column with the second level (category -> reason)")
    classifier.add_argument("--time", help="time column: hold out the latest 20%% instead of a random 20%%")
    classifier.add_argument("--city", help="make the model this city's default (and route to its departments)")
    classifier.add_argument("--name", help="model name under models/ (default CITY-classifier)")
    classifier.add_argument("--seed", type=int, default=0)
    classifier.set_defaults(handler=train_classifier)

    classify = commands.add_parser("classify", help="classify the texts of a CSV or Parquet file")
    classify.add_argument("file", type=Path)
    classify.add_argument("--model", required=True, help="model name under models/ (or a model folder)")
    classify.add_argument("--text", required=True, help="column with the request text")
    classify.add_argument("--out", type=Path, required=True, help="output .csv or .parquet")
    classify.add_argument("--city", help="route to this city's departments (default: the model's city)")
    classify.set_defaults(handler=classify_file)


def train_classifier(args, _extra, workspace: Workspace) -> int:
    from models.classification.training import train_classifier_from_file

    started = step(f"training classifier on {args.data}")
    summary = train_classifier_from_file(
        workspace, args.data, args.text, args.label, city=args.city, name=args.name,
        time=args.time, seed=args.seed, label2=args.label2,
    )
    done(started)
    print(f"model {summary['name']} ({summary['selected']}) -> {summary['path']}")
    print(f"holdout ({summary['split']}): accuracy {summary['accuracy']:.3f}, macro-F1 "
          f"{summary['macro_f1']:.3f} (baseline {summary['baseline_macro_f1']:.3f}); "
          f"{summary['coverage_at_threshold']:.1%} decided without review")
    print(f"selection: {summary['selection']['verdict']}")
    if "level2" in summary:
        level2 = summary["level2"]
        print(f"second level {level2['label']}: holdout macro-F1 {level2['holdout_macro_f1']:.3f}, "
              f"category and {level2['label']} both right {level2['holdout_joint_accuracy']:.1%}, "
              f"consistent with the category {level2['holdout_consistent_share']:.1%}")
    return 0


def classify_file(args, _extra, workspace: Workspace) -> int:
    started = step(f"classifying {args.file} with model {args.model}")
    model_dir = args.model if Path(args.model).is_dir() else workspace.model(args.model)
    result = classify_table(args.file, args.text, Path(model_dir), args.out,
                            workspace.city(args.city) if args.city else None, workspace)
    done(started)
    print(f"wrote {result['rows']:,} rows to {args.out}; {result['needs_review']:,} need review; "
          f"model {result['model_version']}")
    return 0


def classify_table(
    path: Path, text: str, model_dir: Path, out: Path, pack_dir: Path | None,
    workspace: Workspace,
) -> dict:
    """Read CSV / Parquet, classify, write CSV / Parquet (by the output's suffix)."""
    from models.classification.apply import classify_frame
    from models.classification.artifact import RequestTextModel
    from models.classification.training import read_table
    from schemas.requests import NEEDS_REVIEW

    model = RequestTextModel.load(model_dir)
    if pack_dir is None and model.city:
        pack_dir = workspace.city(model.city)
    classified = classify_frame(read_table(path), text, model, pack_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        classified.write_parquet(out)
    else:
        classified.write_csv(out)
    return {"rows": classified.height, "needs_review": int(classified[NEEDS_REVIEW].sum()),
            "model_version": model.model_version}
