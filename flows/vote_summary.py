"""What a vote ingest decided, read back from the published tables (for the CLI, the demo, the flow)."""

from __future__ import annotations

import polars as pl

from pipelines.sinks.participation import election_folder
from plumbing.atomic import PART_FILE
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import participation as pb


def election_summaries(workspace: Workspace, city: str, election_ids: list[str]) -> list[dict]:
    return [election_summary(workspace, city, election_id) for election_id in election_ids]


def _table(workspace: Workspace, name: str, city: str, election_id: str) -> pl.DataFrame:
    return pl.read_parquet(election_folder(workspace.city_dataset(name, city), election_id) / PART_FILE)


def election_summary(workspace: Workspace, city: str, election_id: str) -> dict:
    """Winners under both rules (by score), money spent, and turnout by parent area or district."""
    election = _table(workspace, ds.PB_ELECTIONS, city, election_id).row(0, named=True)
    projects = _table(workspace, ds.PB_PROJECTS, city, election_id).sort(pb.SCORE, descending=True, nulls_last=True)
    turnout = _table(workspace, ds.PB_TURNOUT, city, election_id)
    kinds = turnout[pb.GROUP_KIND].unique().to_list()
    kind = next((k for k in (pb.GroupKind.PARENT, pb.GroupKind.DISTRICT, pb.GroupKind.NEIGHBORHOOD) if k in kinds), None)
    areas = turnout.filter(pl.col(pb.GROUP_KIND) == kind).sort(pb.BALLOTS, descending=True, nulls_last=True)
    return {
        "election_id": election_id, "ballots": election[pb.BALLOTS], "budget": election[pb.BUDGET],
        "spent_greedy": election[pb.SPENT_GREEDY], "spent_mes": election[pb.SPENT_MES],
        "greedy": _names(projects.filter(pb.SELECTED_GREEDY)),
        "mes": _names(projects.filter(pb.SELECTED_MES)),
        "turnout_kind": kind,
        "turnout": [(r[pb.GROUP_NAME] or r[pb.GROUP_VALUE], r[pb.BALLOTS], r[pb.BALLOTS_PER_1000])
                    for r in areas.iter_rows(named=True)],
        "datasets": {name: str(election_folder(workspace.city_dataset(name, city), election_id))
                     for name in (ds.PB_PROJECTS, ds.PB_TURNOUT)},
    }


def _names(projects: pl.DataFrame) -> list[str]:
    return projects.select(pl.coalesce(pb.NAME, pb.PROJECT_ID))[pb.NAME].to_list()


def print_election(summary: dict, shown: int = 5) -> None:
    print(f"\nelection {summary['election_id']!r}: {summary['ballots']:,} ballots, budget {summary['budget']:,.0f}")
    for rule, key, spent in (("greedy", "greedy", "spent_greedy"), ("equal shares (MES)", "mes", "spent_mes")):
        names = summary[key]
        more = f" and {len(names) - shown} more" if len(names) > shown else ""
        print(f"  {rule:<19} {len(names)} funded, {summary[spent]:,.0f} spent: "
              + "; ".join(_short(n) for n in names[:shown]) + more)
    if summary["turnout_kind"]:
        print(f"  turnout by {summary['turnout_kind']}: " + ", ".join(
            f"{name} {count:,}" + (f" ({per:.1f}/1000)" if per is not None else "") if count is not None
            else f"{name} (<{pb.MIN_CELL})" for name, count, per in summary["turnout"]))
    print(f"  projects: {summary['datasets'][ds.PB_PROJECTS]}")


def _short(name: str, width: int = 40) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"

