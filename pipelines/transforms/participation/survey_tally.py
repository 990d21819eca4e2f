"""One survey's counted answers -> its published results (`schemas.surveys.SURVEY_RESULT`).

    share         per question x group x answer: responses, respondents, share, Wilson 95%
                  interval, post-stratified share (ranked questions: first preferences)
    irv_round     per ranked question, round and option still in the race: instant-runoff
                  votes among the rankings still in the race, and who is elected (whole city)
    text_answers  per question: how many answers were free text (never tallied as options)

Groups are the whole city, the pack's district and parent area, the age band and the sex, as
in the vote tallies (`tally.GROUP_COLUMNS`). Vectorised over the answers (one group-by per
group kind, polars): a million answers tally in about a second. Small cells are suppressed
(`suppress_cells`).
"""

from __future__ import annotations

import polars as pl

from models.participation import survey_stats as st
from pipelines.transforms.participation.tally import GROUP_COLUMNS
from schemas import participation as pb
from schemas import surveys as sv
from schemas.requests import SCHEMA_VERSION_COLUMN
from schemas.surveys import Measure
from schemas.surveys import QuestionType as T

KINDS = (pb.GroupKind.DISTRICT, pb.GroupKind.PARENT, pb.GroupKind.AGE_BAND, pb.GroupKind.SEX)
_W, _WT = "_weighted", "_weighted_total"
QUESTION_KEYS = [sv.QUESTION_ID, sv.QUESTION_TYPE]


def _grouped(answers: pl.DataFrame, kind: str) -> pl.DataFrame:
    """The answers under one group kind: `group_value` and `group_name` per answer (group-less
    answers left out; the city is one group)."""
    if kind == pb.GroupKind.CITY:
        value, name = pl.lit(None, pl.String), pl.lit(None, pl.String)
    else:
        column, named = GROUP_COLUMNS[kind]
        value, name = pl.col(column), pl.col(named) if named else pl.lit(None, pl.String)
    framed = answers.select(*QUESTION_KEYS, sv.ANSWER, sv.WEIGHT, value.alias(pb.GROUP_VALUE),
                            name.alias(pb.GROUP_NAME))
    return framed if kind == pb.GroupKind.CITY else framed.drop_nulls(pb.GROUP_VALUE)


def share_rows(options: pl.DataFrame) -> pl.DataFrame:
    """Measure `share`: every answer given within every group of every kind."""
    frames = []
    for kind in (pb.GroupKind.CITY, *KINDS):
        grouped = _grouped(options, kind)
        keys = [*QUESTION_KEYS, pb.GROUP_VALUE]
        totals = grouped.group_by(keys).agg(pl.len().alias(sv.RESPONDENTS), pl.col(sv.WEIGHT).sum().alias(_WT),
                                            pl.col(pb.GROUP_NAME).first())
        cells = grouped.group_by([*keys, sv.ANSWER]).agg(pl.len().alias(sv.RESPONSES),
                                                         pl.col(sv.WEIGHT).sum().alias(_W))
        frames.append(cells.join(totals, on=keys, how="left", nulls_equal=True).with_columns(
            pl.lit(kind).alias(pb.GROUP_KIND)))
    rows = pl.concat(frames, how="vertical_relaxed")
    low, high = st.wilson_interval(rows[sv.RESPONSES].to_numpy(), rows[sv.RESPONDENTS].to_numpy())
    return rows.with_columns(
        pl.lit(Measure.SHARE).alias(sv.MEASURE),
        (pl.col(sv.RESPONSES) / pl.col(sv.RESPONDENTS)).alias(sv.SHARE),
        pl.Series(sv.CI_LOW, low), pl.Series(sv.CI_HIGH, high),
        (pl.col(_W) / pl.col(_WT)).alias(sv.WEIGHTED_SHARE),
    ).drop(_W, _WT)


def runoff_rows(options: pl.DataFrame) -> pl.DataFrame:
    """Measure `irv_round`: the instant-runoff rounds of every ranked question (whole city)."""
    frames = []
    ranked = options.filter(pl.col(sv.QUESTION_TYPE) == T.RANKED)
    for (question,), answers in ranked.partition_by(sv.QUESTION_ID, as_dict=True, maintain_order=True).items():
        rounds = st.instant_runoff(answers[sv.RANKING]).rounds
        votes, ballots = rounds[st.VOTES].to_numpy(), rounds[st.BALLOTS].to_numpy()
        low, high = st.wilson_interval(votes, ballots)
        frames.append(rounds.select(
            pl.lit(question).alias(sv.QUESTION_ID), pl.lit(T.RANKED).alias(sv.QUESTION_TYPE),
            pl.lit(Measure.IRV_ROUND).alias(sv.MEASURE), pl.lit(pb.GroupKind.CITY).alias(pb.GROUP_KIND),
            pl.col(st.OPTION).alias(sv.ANSWER), pl.col(st.ROUND).alias(sv.ROUND),
            pl.col(st.BALLOTS).cast(pl.Int64).alias(sv.RESPONDENTS), pl.col(st.VOTES).cast(pl.Int64).alias(sv.RESPONSES),
            pl.col(st.SHARE).alias(sv.SHARE), pl.Series(sv.CI_LOW, low), pl.Series(sv.CI_HIGH, high),
            pl.col(st.STATUS).alias(sv.IRV_STATUS),
        ))
    return pl.concat(frames) if frames else pl.DataFrame()


def text_rows(answers: pl.DataFrame) -> pl.DataFrame:
    """Measure `text_answers`: per question with free text, how many of its answers were."""
    counted = answers.group_by(QUESTION_KEYS[0]).agg(
        pl.col(sv.QUESTION_TYPE).first(), pl.len().alias(sv.RESPONDENTS),
        pl.col(sv.FREE_TEXT).sum().cast(pl.Int64).alias(sv.RESPONSES),
    ).filter(pl.col(sv.RESPONSES) > 0)
    low, high = st.wilson_interval(counted[sv.RESPONSES].to_numpy(), counted[sv.RESPONDENTS].to_numpy())
    return counted.with_columns(
        pl.lit(Measure.TEXT_ANSWERS).alias(sv.MEASURE), pl.lit(pb.GroupKind.CITY).alias(pb.GROUP_KIND),
        (pl.col(sv.RESPONSES) / pl.col(sv.RESPONDENTS)).alias(sv.SHARE),
        pl.Series(sv.CI_LOW, low), pl.Series(sv.CI_HIGH, high),
    )


def suppress_cells(rows: pl.DataFrame) -> pl.DataFrame:
    """Counts under `MIN_CELL` and what derives from them become null, `suppressed` true.

    A cell is small when its responses, or its group's respondents, are under `MIN_CELL`.
    Since a group's respondents are published, one small answer would follow from the others
    (respondents minus the rest): when a group's small cells add up to fewer than `MIN_CELL`,
    its smallest other cell is suppressed too (so the hidden total is at least `MIN_CELL`). A
    `text_answers` row keeps its respondents only when neither its free-text count nor the
    rest (the option answers) is a small number."""
    block = [sv.QUESTION_ID, sv.MEASURE, pb.GROUP_KIND, pb.GROUP_VALUE, sv.ROUND]
    small = (pl.col(sv.RESPONSES) < pb.MIN_CELL) | (pl.col(sv.RESPONDENTS) < pb.MIN_CELL)
    rows = rows.with_columns(small.alias(pb.SUPPRESSED))
    hidden = pl.col(sv.RESPONSES).filter(pl.col(pb.SUPPRESSED)).sum().over(block)
    rank = pl.when(~pl.col(pb.SUPPRESSED)).then(pl.col(sv.RESPONSES)).rank("ordinal").over(block)
    secondary = (~pl.col(pb.SUPPRESSED) & (hidden > 0) & (hidden < pb.MIN_CELL) & (rank == 1)
                 & (pl.col(sv.RESPONDENTS) >= pb.MIN_CELL))
    rows = rows.sort(*block, sv.ANSWER, nulls_last=False).with_columns(
        (pl.col(pb.SUPPRESSED) | secondary.fill_null(False)).alias(pb.SUPPRESSED))
    derived = (sv.RESPONSES, sv.SHARE, sv.CI_LOW, sv.CI_HIGH, sv.WEIGHTED_SHARE)
    rest = pl.col(sv.RESPONDENTS) - pl.col(sv.RESPONSES)
    untold = (pl.col(sv.RESPONDENTS) < pb.MIN_CELL) | ((pl.col(sv.MEASURE) == Measure.TEXT_ANSWERS) & (
        pl.col(pb.SUPPRESSED) | ((rest > 0) & (rest < pb.MIN_CELL))))
    return rows.with_columns(
        *[pl.when(pl.col(pb.SUPPRESSED)).then(None).otherwise(pl.col(c)).alias(c) for c in derived],
        pl.when(untold).then(None).otherwise(pl.col(sv.RESPONDENTS)).alias(sv.RESPONDENTS),
    )


def tally_survey(survey_id: str, answers: pl.DataFrame, weighting: str) -> pl.DataFrame:
    """Every published row of one survey, typed as `SURVEY_RESULT`. `answers`: counted, placed,
    scrubbed and weighted (one per respondent and question)."""
    options = answers.filter(~pl.col(sv.FREE_TEXT))
    parts = [share_rows(options), runoff_rows(options), text_rows(answers)]
    rows = pl.concat([p for p in parts if p.height] or [pl.DataFrame(schema=_ROW_TYPES)], how="diagonal_relaxed")
    for name, dtype in _ROW_TYPES.items():
        if name not in rows.columns:
            rows = rows.with_columns(pl.lit(None, dtype).alias(name))
    rows = suppress_cells(rows.cast(_ROW_TYPES))
    rows = rows.with_columns(
        pl.lit(survey_id).alias(sv.SURVEY_ID), pl.lit(weighting).alias(sv.WEIGHTING),
        pl.lit(sv.SURVEY_SCHEMA_VERSION).alias(SCHEMA_VERSION_COLUMN),
    ).sort(sv.QUESTION_ID, sv.MEASURE, pb.GROUP_KIND, pb.GROUP_VALUE, sv.ROUND, sv.ANSWER, nulls_last=False)
    return pl.from_arrow(rows.select(sv.SURVEY_RESULT.names).to_arrow().cast(sv.SURVEY_RESULT))


_ROW_TYPES = {
    sv.QUESTION_ID: pl.String, sv.QUESTION_TYPE: pl.String, sv.MEASURE: pl.String, pb.GROUP_KIND: pl.String,
    pb.GROUP_VALUE: pl.String, pb.GROUP_NAME: pl.String, sv.ANSWER: pl.String, sv.ROUND: pl.Int32,
    sv.RESPONDENTS: pl.Int64, sv.RESPONSES: pl.Int64, sv.SHARE: pl.Float64, sv.CI_LOW: pl.Float64,
    sv.CI_HIGH: pl.Float64, sv.WEIGHTED_SHARE: pl.Float64, sv.IRV_STATUS: pl.String,
}
