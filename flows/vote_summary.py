"""What a vote ingest decided, read back from the published tables (for the CLI, the demo, the flow)."""

from __future__ import annotations

import polars as pl

from pipelines.sinks.participation import election_folder
from pipelines.sinks.survey import survey_folder
from plumbing.atomic import PART_FILE
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import participation as pb
from schemas import surveys as sv


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



def survey_summaries(workspace: Workspace, city: str, survey_ids: list[str]) -> list[dict]:
    return [survey_summary(workspace, city, survey_id) for survey_id in survey_ids]


def survey_summary(workspace: Workspace, city: str, survey_id: str) -> dict:
    """The leading answer of every question, city-wide: raw and weighted shares."""
    folder = survey_folder(workspace.city_dataset(ds.SURVEY_RESULTS, city), survey_id)
    results = pl.read_parquet(folder / PART_FILE)
    city_wide = results.filter((pl.col(sv.MEASURE) == sv.Measure.SHARE) & (pl.col(sv.GROUP_KIND) == pb.GroupKind.CITY)
                               & pl.col(sv.SHARE).is_not_null())
    leaders = (city_wide.sort(sv.SHARE, descending=True).group_by(sv.QUESTION_ID, maintain_order=True).first()
               .sort(sv.QUESTION_ID))
    return {"survey_id": survey_id, "weighting": results[sv.WEIGHTING][0] if results.height else "none",
            "leaders": leaders.select(sv.QUESTION_ID, sv.ANSWER, sv.SHARE, sv.WEIGHTED_SHARE).rows(),
            "dataset": str(folder)}


def print_survey(summary: dict) -> None:
    print(f"\nsurvey {summary['survey_id']!r} (shares weighted by: {summary['weighting']}):")
    for question, answer, share, weighted in summary["leaders"]:
        print(f"  {question:<10} {_short(answer or ''):<40} {share:6.1%} (weighted {weighted:.1%})")
    print(f"  results: {summary['dataset']}")
