"""An election's rules and projects, typed from a source's text (Pabulib META and PROJECTS).

What is wrong here is wrong for every ballot (no budget, an unknown vote type, a project without
a cost), so it raises `ElectionRulesError` saying what to fix, before any ballot is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from schemas import participation as pb
from schemas.requests import LAT, LONG

MAX_CHOICES = 1_000  # a ballot naming more projects is a dead letter, whatever max_length says
REPEATED_VOTER_RULES = ("latest", "refuse")  # count the voter's latest ballot, or only the first
RETIRED, FEASIBILITY = "retired", "feasibility"  # CONSUL's (`pipelines.sources.participation.consul`)
ELIGIBLE = "eligible"  # may be funded
PROJECT_COLUMNS = {"latitude": LAT, "longitude": LONG, "district": pb.NEIGHBORHOOD}


class ElectionRulesError(ValueError):
    """An election's rules or projects cannot be used: the whole file needs fixing."""


@dataclass(frozen=True)
class Election:
    election_id: str
    vote_type: str
    budget: float
    projects: pl.DataFrame  # project_id, name, cost, category, votes_source, selected_source, lat, long, eligible
    min_length: int | None = None
    max_length: int | None = None
    threshold: float | None = None  # min_project_score_threshold
    max_sum_points: float | None = None
    repeated_voter: str = "latest"
    mes_completion: str = "none"  # or "add1" (`models.participation.outcomes.equal_shares`)
    meta: dict | None = None

    @property
    def project_ids(self) -> list[str]:
        return self.projects[pb.PROJECT_ID].to_list()

    def ordinal_points(self, rank: pl.Expr) -> pl.Expr:
        """Points of the choice at 0-based `rank` when the file gives none: `max_length - rank`
        (the first choice gets max_length, which reproduces Kraków's scores)."""
        return (pl.lit(self.max_length or MAX_CHOICES) - rank).cast(pl.Float64)

    def row(self) -> dict:
        """The election's published row (without the figures a tally adds)."""
        meta = self.meta or {}
        return {
            pb.ELECTION_ID: self.election_id, pb.DESCRIPTION: meta.get(pb.DESCRIPTION),
            pb.UNIT: meta.get(pb.UNIT), pb.VOTE_TYPE: self.vote_type, pb.RULE: meta.get(pb.RULE),
            pb.BUDGET: self.budget, pb.MIN_LENGTH: self.min_length, pb.MAX_LENGTH: self.max_length,
            pb.MIN_PROJECT_SCORE_THRESHOLD: self.threshold,
            pb.DATE_BEGIN: _date(meta.get(pb.DATE_BEGIN)), pb.DATE_END: _date(meta.get(pb.DATE_END)),
            pb.CURRENCY: meta.get(pb.CURRENCY),
        }


def election_from_pabulib(election_id: str, meta: dict[str, str], projects: pl.DataFrame, where: str,
                          repeated_voter: str | None = None, mes_completion: str | None = None) -> Election:
    """The election a file describes. `mes_completion`: given, else `add1` when META's rule names
    it (Pabulib writes `equalshares/add1`), else none."""
    vote_type = (meta.get(pb.VOTE_TYPE) or pb.VoteType.APPROVAL).strip().lower()
    if vote_type not in pb.VoteType.ALL:
        raise ElectionRulesError(f"{where}: META vote_type {vote_type!r} is not one of {', '.join(pb.VoteType.ALL)}")
    rule = repeated_voter or (meta.get("repeated_voter") or "latest").strip().lower()
    if rule not in REPEATED_VOTER_RULES:
        raise ElectionRulesError(f"{where}: the repeated-voter rule {rule!r} is not one of {', '.join(REPEATED_VOTER_RULES)}")
    budget = _number(meta.get(pb.BUDGET), "META budget", where, required=True)
    lengths = [_count(meta.get(key), f"META {key}", where) for key in (pb.MIN_LENGTH, pb.MAX_LENGTH)]
    return Election(
        election_id=election_id, vote_type=vote_type, budget=budget,
        projects=_typed_projects(projects, where),
        min_length=lengths[0], max_length=lengths[1],
        threshold=_number(meta.get(pb.MIN_PROJECT_SCORE_THRESHOLD), "META min_project_score_threshold", where),
        max_sum_points=_number(meta.get(pb.MAX_SUM_POINTS), "META max_sum_points", where),
        repeated_voter=rule, meta=meta,
        mes_completion=mes_completion or ("add1" if "add1" in (meta.get(pb.RULE) or "").lower() else "none"),
    )


def _typed_projects(projects: pl.DataFrame, where: str) -> pl.DataFrame:
    frame = projects.rename({k: v for k, v in PROJECT_COLUMNS.items() if k in projects.columns})
    for name in (pb.NAME, pb.CATEGORY, pb.VOTES, "selected", LAT, LONG, pb.NEIGHBORHOOD, RETIRED, FEASIBILITY):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(name))
    typed = frame.select(
        pl.col(pb.PROJECT_ID).str.strip_chars(),
        pl.col(pb.NAME), pl.col(pb.CATEGORY),
        pl.col(pb.COST).str.replace(",", ".", literal=True).cast(pl.Float64, strict=False),
        pl.col(pb.VOTES).cast(pl.Int64, strict=False).alias("votes_source"),
        pl.col("selected").str.strip_chars().replace_strict({"1": True, "0": False}, default=None,
                                                          return_dtype=pl.Boolean).alias(pb.SELECTED_SOURCE),
        pl.col(LAT).cast(pl.Float64, strict=False), pl.col(LONG).cast(pl.Float64, strict=False),
        pl.col(pb.NEIGHBORHOOD),
        # a retired proposal or an investment found unfeasible keeps its supports but is never funded
        ~((pl.col(RETIRED).str.strip_chars() == "1").fill_null(False)
          | (pl.col(FEASIBILITY).str.strip_chars().str.to_lowercase() == "unfeasible").fill_null(False))
        .alias(ELIGIBLE),
    )
    bad_cost = typed.filter(pl.col(pb.COST).is_null() | (pl.col(pb.COST) <= 0) | pl.col(pb.COST).is_infinite())
    if bad_cost.height:
        raise ElectionRulesError(f"{where}: project {bad_cost[pb.PROJECT_ID][0]!r} has no positive cost "
                                f"({bad_cost.height} project(s) in all); every project needs one")
    repeated = typed[pb.PROJECT_ID].is_duplicated()
    if repeated.any() or typed[pb.PROJECT_ID].is_null().any():
        raise ElectionRulesError(f"{where}: project ids must be present and unique "
                                f"(repeated: {typed.filter(repeated)[pb.PROJECT_ID].unique().head(5).to_list()})")
    return typed


def _number(text: str | None, what: str, where: str, required: bool = False) -> float | None:
    if text is None or not text.strip():
        if required:
            raise ElectionRulesError(f"{where}: {what} is missing; add it to the file")
        return None
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise ElectionRulesError(f"{where}: {what} {text[:50]!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise ElectionRulesError(f"{where}: {what} {text[:50]!r} must be a finite number of at least 0")
    return value


def _count(text: str | None, what: str, where: str) -> int | None:
    value = _number(text, what, where)
    if value is None:
        return None
    if value != int(value) or value > MAX_CHOICES:
        raise ElectionRulesError(f"{where}: {what} {text!r} must be a whole number up to {MAX_CHOICES:,}")
    return int(value)


def _date(text: str | None) -> date | None:
    for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime((text or "").strip(), fmt).date()
        except ValueError:
            continue
    return None
