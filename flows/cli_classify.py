"""`urbanpulse train classifier`: a city's request classifier from its labelled history."""

from __future__ import annotations

from pathlib import Path

from flows.cli_steps import done, step
from pipelines.workspace import Workspace


def register(commands, train) -> None:
    classifier = train.add_parser("classifier", help="train a request classifier on labelled history")
    classifier.add_argument("--data", type=Path, required=True)
    classifier.add_argument("--text", required=True)
    classifier.add_argument("--label", required=True)
    classifier.add_argument("--city")
    classifier.add_argument("--name")
    classifier.add_argument("--seed", type=int, default=0)
    classifier.set_defaults(handler=train_classifier)


def train_classifier(args, _extra, workspace: Workspace) -> int:
    from models.training import train_classifier_from_file

    started = step(f"training classifier on {args.data}")
    card = train_classifier_from_file(
        workspace, args.data, args.text, args.label, city=args.city, name=args.name, seed=args.seed
    )
    done(started)
    print(f"model {card['name']} -> {card['path']}")
    print(f"holdout accuracy {card['accuracy']:.3f}, macro-F1 {card['macro_f1']:.3f}")
    return 0
