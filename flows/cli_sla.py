"""`urbanpulse train sla-risk --city C [--score-only]`: the SLA breach risk of open requests.

Trains on the city's published requests (a temporal split; the model card goes to
`models/sla-risk-C/MODEL_CARD.md`), then publishes `datasets/sla_breach_risk/city=C/` with the
probability of every open request to miss its due time. `--score-only` re-scores with the saved
model (after a new ingest, without retraining).
"""

from __future__ import annotations

from flows.cli_steps import done, step
from plumbing.workspace import Workspace


def register(_commands, groups) -> None:
    sla = groups["train"].add_parser("sla-risk", help="train the SLA breach risk model and score open requests")
    sla.add_argument("--city", required=True)
    sla.add_argument("--score-only", action="store_true", help="score with the saved model, do not retrain")
    sla.set_defaults(handler=train_sla_risk)


def train_sla_risk(args, _extra, workspace: Workspace) -> int:
    from pipelines.sla_risk import model_folder, run

    started = step(f"{'scoring' if args.score_only else 'training and scoring'} the SLA risk of city {args.city!r}")
    report = run(workspace, args.city, retrain=not args.score_only)
    done(started)
    print_sla_report(report, model_folder(workspace, args.city))
    return 0


def print_sla_report(report, folder) -> None:
    card = report.card
    print(f"model {report.model}: AUC {card.auc_test:.3f} on the latest {card.rows_test:,} requests (unseen), Brier "
          f"{card.brier_test:.4f} vs {card.brier_base_rate:.4f} for the base rate; card {folder / 'MODEL_CARD.md'}")
    print(f"{report.open_requests:,} open requests as of {report.as_of}: {report.already_overdue:,} already overdue, "
          f"{report.at_risk:,} more likely than not to miss their due time")
    print(f"  sla_breach_risk  {report.dataset}")
