"""`urbanpulse datasets verify` and `urbanpulse datasets repair`: the published files against
their manifest (`plumbing.publishing`), and damaged or foreign files moved to quarantine."""

from __future__ import annotations

import json

from plumbing.publishing import current_snapshot, repair, verify
from plumbing.workspace import Workspace

EXIT_DAMAGED = 1


def register(commands, _groups) -> None:
    datasets = commands.add_parser("datasets", help="check or repair the published datasets")
    actions = datasets.add_subparsers(dest="action", required=True)
    actions.add_parser("verify", help="check every published file against its checksum").set_defaults(
        handler=verify_datasets)
    actions.add_parser("repair", help="quarantine damaged or unknown files and publish without them").set_defaults(
        handler=repair_datasets)


def verify_datasets(_args, _extra, workspace: Workspace) -> int:
    snapshot = current_snapshot(workspace)
    if snapshot is None:
        print(f"nothing published yet in {workspace.root}")
        return 0
    findings = verify(workspace)
    for finding in findings:
        print(f"  {finding.problem:<20} {finding.path}")
    if findings:
        print(f"{len(findings)} file(s) of snapshot {snapshot.name} are damaged, missing or unknown: "
              "run `urbanpulse datasets repair`")
        return EXIT_DAMAGED
    print(f"every file of snapshot {snapshot.name} matches its checksum")
    return 0


def repair_datasets(_args, _extra, workspace: Workspace) -> int:
    findings, quarantine = repair(workspace)
    if not findings:
        print("nothing to repair: every published file matches its checksum")
        return 0
    for finding in findings:
        print(f"  {finding.problem:<20} {finding.path}")
    print(f"moved {sum(f.problem != 'missing' for f in findings)} file(s) to {quarantine} and published "
          "the datasets without them")
    runs = sorted({f.run for f in findings if f.run})
    for run in runs:
        record = workspace.runs / f"{run}.json"
        if record.exists():
            report = json.loads(record.read_text())
            inputs = " ".join(report["inputs"])
            print(f"  re-ingest the inputs of run {run}: urbanpulse ingest requests {inputs} --city {report['city']}")
        else:
            print(f"  run {run} wrote them (the live path republishes from its live store on replay)")
    return 0
