"""The survey pipeline end to end: a generated demo-city survey (accounting, shares, intervals,
weights, instant runoff, suppression), every dead-letter reason, CSV / JSON Lines / Parquet
through a mapping, and nothing identifying or personal published."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import build_tiny_pack

from models.participation.survey_stats import instant_runoff
from pipelines import ingest_surveys
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import dead_letters as dl
from schemas import participation as pb
from schemas import surveys as sv
from schemas.requests import SOURCE_POSITION
from schemas.surveys import SurveyReason as R
from synthetic.demo_city import build_demo_city
from synthetic.participation.generator import generate_votes
from synthetic.participation.population import population_age_weights

RESPONDENTS = 3_000
PHONE, EMAIL, SHORT_EMAIL = "8 916 123-45-67", "ivan.petrov@example.com", "olga.k@mail.ru"
COMMENT = f"Нужно больше скамеек и фонарей во дворе у школы, звоните мне {PHONE} или пишите на {EMAIL}, спасибо"
SHARE = pl.col(sv.MEASURE) == sv.Measure.SHARE


def ingest(home: Path, *paths: Path, city: str = "demo", **options) -> ingest_surveys.SurveyReport:
    return ingest_surveys.run(ingest_surveys.survey_argv([str(p) for p in paths], city, str(home), **options))


def results(home: Path, survey: str, city: str = "demo") -> pl.DataFrame:
    folder = Workspace(home).city_dataset(ds.SURVEY_RESULTS, city) / f"survey={survey}"
    return pl.read_parquet(folder / "part-0.parquet")


def population_csv(path: Path, pack, margins_only: bool) -> Path:
    """Residents by district x age band x sex (or only the age and sex margins of the city)."""
    ages = population_age_weights()
    bands = {name: float(ages[low:high + 1].sum()) for low, high, name in pb.AGE_BANDS}
    sexes = {"M": 0.46, "F": 0.54}
    total = float(sum(pack.populations))
    if margins_only:
        rows = [("", band, "", total * share) for band, share in bands.items()]
        rows += [("", "", sex, total * share) for sex, share in sexes.items()]
    else:
        rows = [(name, band, sex, people * b * s) for name, people in zip(pack.district_names, pack.populations,
                                                                          strict=True)
                for band, b in bands.items() for sex, s in sexes.items()]
    pl.DataFrame(rows, schema=["district", "age_band", "sex", "population"], orient="row").write_csv(path)
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """A generated demo-city survey with planted free text, ingested three times: unweighted,
    raked to age and sex margins, and post-stratified by district x age band x sex."""
    home = tmp_path_factory.mktemp("surveys-home")
    pack = build_demo_city(Workspace(home).city("demo"))
    vote = generate_votes(pack, RESPONDENTS, seed=7, kind="survey")
    planted = pl.DataFrame({"respondent_id": [999_001, 999_002], "question_id": ["q1", "q2"],
                            "answer": [COMMENT, SHORT_EMAIL], "submitted_at": ["2026-06-02T10:00:00+03:00"] * 2,
                            "district": ["Басманный"] * 2, "age": [40, 41], "sex": ["F", "M"]})
    answers = pl.concat([vote.answers, planted.cast(vote.answers.schema)])
    path = home / "survey.csv"
    answers.write_csv(path)
    reports = {
        "raw": ingest(home, path, survey="raw"),
        "raked": ingest(home, path, survey="raked", population=str(population_csv(home / "m.csv", pack, True))),
        "cells": ingest(home, path, survey="cells", population=str(population_csv(home / "c.csv", pack, False))),
    }
    return home, answers, reports


def test_accounting_and_report(demo) -> None:
    _home, answers, reports = demo
    for name, report in reports.items():
        assert report.accounting_ok and report.records_in == report.records_out == answers.height
        assert report.dead_letters == 0 and report.surveys == [name]
    assert reports["raw"].weighting == {"raw": sv.Weighting.SAMPLE}
    assert reports["raked"].weighting["raked"] == "raking:age_band|sex"
    assert reports["cells"].weighting["cells"] == "post_stratification:district_id*age_band*sex"
    assert reports["raw"].counters["personal_data_spans_scrubbed"] >= 3


def test_shares_sum_to_one_and_intervals_hold_them(demo) -> None:
    home, _answers, _reports = demo
    for survey in ("raw", "raked", "cells"):
        table = results(home, survey)
        whole = table.filter(SHARE).group_by(sv.QUESTION_ID, pb.GROUP_KIND, pb.GROUP_VALUE).agg(
            pl.col(sv.SHARE).sum(), pl.col(sv.WEIGHTED_SHARE).sum(), pl.col(pb.SUPPRESSED).any().alias("hidden"))
        complete = whole.filter(~pl.col("hidden"))
        assert complete.height >= 20 and (complete[pb.GROUP_KIND] == pb.GroupKind.CITY).sum() == 4
        assert np.allclose(complete[sv.SHARE], 1.0) and np.allclose(complete[sv.WEIGHTED_SHARE], 1.0)
        shown = table.drop_nulls(sv.SHARE)
        assert ((shown[sv.CI_LOW] <= shown[sv.SHARE]) & (shown[sv.SHARE] <= shown[sv.CI_HIGH])).all()
        assert (shown[sv.CI_HIGH] - shown[sv.CI_LOW] > 0).all()


def test_weighted_equals_raw_without_population_and_differs_with_it(demo) -> None:
    home, _answers, _reports = demo
    raw = results(home, "raw").drop_nulls(sv.WEIGHTED_SHARE)
    assert np.allclose(raw[sv.SHARE], raw[sv.WEIGHTED_SHARE])
    for survey in ("raked", "cells"):
        city = results(home, survey).filter(SHARE & (pl.col(pb.GROUP_KIND) == pb.GroupKind.CITY)).drop_nulls(sv.SHARE)
        assert (city[sv.WEIGHTED_SHARE] - city[sv.SHARE]).abs().max() > 0.01


def test_restricted_weights_match_the_population_margins(demo) -> None:
    home, _answers, _reports = demo
    folder = Workspace(home).restricted / sv.SURVEY_ANSWERS / "city=demo" / "survey=raked"
    answers = pl.read_parquet(folder / "part-0.parquet")
    people = answers.unique(sv.RESPONDENT_KEY).drop_nulls([pb.AGE_BAND, pb.SEX])
    by_sex = people.group_by(pb.SEX).agg(pl.col(sv.WEIGHT).sum())
    shares = dict(zip(by_sex[pb.SEX], by_sex[sv.WEIGHT] / by_sex[sv.WEIGHT].sum(), strict=True))
    assert shares == pytest.approx({"M": 0.46, "F": 0.54}, abs=1e-6)


def test_ranked_question_runoff(demo) -> None:
    home, answers, _reports = demo
    table = results(home, "raw").filter(pl.col(sv.MEASURE) == sv.Measure.IRV_ROUND)
    ranked = answers.filter(pl.col("question_id") == "q5")["answer"].str.split(">")
    expected = instant_runoff(ranked)
    elected = table.filter(pl.col(sv.IRV_STATUS) == "elected")
    assert elected[sv.ANSWER].to_list() == [expected.winner]
    assert table[sv.ROUND].max() == expected.rounds["round"].max()
    first = table.filter(pl.col(sv.ROUND) == 1)
    assert first[sv.RESPONDENTS].unique().to_list() == [RESPONDENTS]


def test_small_cells_are_suppressed_and_not_derivable(demo) -> None:
    home, _answers, _reports = demo
    table = results(home, "cells")
    assert table[pb.SUPPRESSED].any() and (~table[pb.SUPPRESSED]).any()
    assert table.filter(pl.col(sv.RESPONSES) < pb.MIN_CELL).height == 0
    assert table.filter(pl.col(sv.RESPONDENTS) < pb.MIN_CELL).height == 0
    hidden = table.filter(pb.SUPPRESSED)
    assert hidden[sv.RESPONSES].null_count() == hidden.height and hidden[sv.SHARE].null_count() == hidden.height
    assert hidden[sv.WEIGHTED_SHARE].null_count() == hidden.height and hidden[sv.CI_LOW].null_count() == hidden.height
    blocks = table.filter(SHARE).drop_nulls(sv.RESPONDENTS).group_by(sv.QUESTION_ID, pb.GROUP_KIND, pb.GROUP_VALUE).agg(
        (pl.col(sv.RESPONDENTS).first() - pl.col(sv.RESPONSES).sum()).alias("hidden_total"))
    assert blocks.filter((pl.col("hidden_total") > 0) & (pl.col("hidden_total") < pb.MIN_CELL)).height == 0


def test_free_text_is_scrubbed_counted_and_never_an_option(demo) -> None:
    home, _answers, _reports = demo
    table = results(home, "raw")
    assert not table[sv.ANSWER].drop_nulls().str.contains("скамеек").any()
    text = table.filter(pl.col(sv.MEASURE) == sv.Measure.TEXT_ANSWERS)
    assert text[sv.QUESTION_ID].to_list() == ["q1"] and text[pb.SUPPRESSED].to_list() == [True]
    assert text[sv.RESPONDENTS].to_list() == [None]  # else respondents minus option answers would tell the 1
    stored = pl.read_parquet(Workspace(home).restricted / sv.SURVEY_ANSWERS / "city=demo" / "survey=raw" / "part-0.parquet")
    comment = stored.filter(pl.col(sv.FREE_TEXT))
    assert comment.height == 1 and "[PHONE]" in comment[sv.ANSWER][0] and "[EMAIL]" in comment[sv.ANSWER][0]
    assert "[EMAIL]" in stored.filter(pl.col(sv.QUESTION_ID) == "q2")[sv.ANSWER].to_list()


def texts_of(path: Path) -> list[str]:
    frame = pl.read_parquet(path)
    columns = [c for c, t in frame.schema.items() if t in (pl.String, pl.List(pl.String))]
    return [str(v) for c in columns for v in frame[c].drop_nulls().to_list()]


def test_nothing_identifying_or_personal_is_published(demo) -> None:
    home, answers, _reports = demo
    ids = set(answers["respondent_id"].cast(pl.String).to_list())
    secret = Workspace(home).voter_key_file.read_bytes()
    published = list((home / "datasets").resolve().rglob("*.parquet"))
    stored = list((Workspace(home).restricted / sv.SURVEY_ANSWERS).rglob("*.parquet"))
    assert len(published) >= 3 and len(stored) == 3
    for path in published:
        frame = pl.read_parquet(path)
        assert sv.RESPONDENT_KEY not in frame.columns and pb.AGE not in frame.columns, path
        assert not set(texts_of(path)) & ids, path
        assert secret not in path.read_bytes()
    for path in published + stored:
        text = "\n".join(texts_of(path))
        for planted in (PHONE, EMAIL, SHORT_EMAIL, "89161234567"):
            assert planted not in text, (path, planted)
    assert not set(texts_of(stored[0])) & ids  # pseudonyms only, in the restricted store too


HEADER = "respondent_id,question_id,answer,submitted_at,district,age,sex"


def write_rows(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_every_dead_letter_reason(tmp_path: Path) -> None:
    build_tiny_pack(tmp_path)
    good = [f"r{i},q1,yes,2026-06-01T10:00:00Z,North One,30,F" for i in range(12)]
    good += [f"r{i},q5,a>b>c,2026-06-01T10:00:00Z,North One,30,F" for i in range(12)]
    path = write_rows(tmp_path / "bad.csv", [
        *good,
        "r0,q1,no,2026-06-02T10:00:00Z,North One,30,F",  # repeated: this later answer counts
        ",q1,yes,2026-06-01T10:00:00Z,North One,30,F",  # missing respondent
        "x1,,yes,2026-06-01T10:00:00Z,North One,30,F",  # missing question
        "x2,q1,,2026-06-01T10:00:00Z,North One,30,F",  # missing answer
        "x3,q1,yes,2026-06-01T10:00:00Z,North One,131,F",  # impossible age
        "x4,q1,yes,2026-06-01T10:00:00Z,North One,abc,F",  # impossible age
        "x5,q1,yes,yesterday,North One,30,F",  # unparseable time
        "x6,q5,a>a>b,2026-06-01T10:00:00Z,North One,30,F",  # duplicate choice
        "x7,q5,>>,2026-06-01T10:00:00Z,North One,30,F",  # a ranking of nothing
        "x8,q1,yes,2026-06-01T10:00:00Z,North One,30,F,extra,fields",  # unreadable row
    ])
    report = ingest(tmp_path, path, city="tiny")
    assert report.accounting_ok and report.records_in == 34 and report.records_out == 24 and report.dead_letters == 10
    dead = pl.read_parquet(Workspace(tmp_path).city_dataset(ds.DEAD_LETTERS, "tiny") / "**" / "*.parquet")
    assert sorted(dead[dl.REASON]) == sorted([
        R.REPEATED_ANSWER, R.MISSING_RESPONDENT, R.MISSING_QUESTION, R.MISSING_ANSWER, R.IMPOSSIBLE_AGE,
        R.IMPOSSIBLE_AGE, R.BAD_TIME, R.DUPLICATE_CHOICE, R.MISSING_ANSWER, R.UNREADABLE_ROW])
    assert dl.RAW_PAYLOAD not in dead.columns and not dead[dl.DETAIL].str.contains("r0").any()
    repeated = dead.filter(pl.col(dl.REASON) == R.REPEATED_ANSWER)
    assert repeated[SOURCE_POSITION].to_list() == [0]  # the first answer of r0 was superseded
    table = results(tmp_path, "bad", city="tiny")
    city_q1 = table.filter(SHARE & (pl.col(sv.QUESTION_ID) == "q1") & (pl.col(pb.GROUP_KIND) == pb.GroupKind.CITY))
    assert dict(zip(city_q1[sv.ANSWER], city_q1[pb.SUPPRESSED], strict=True)) == {"no": True, "yes": True}
    district = table.filter(SHARE & (pl.col(pb.GROUP_KIND) == pb.GroupKind.DISTRICT))
    assert set(district[pb.GROUP_VALUE]) == {"N1"} and set(district[pb.GROUP_NAME]) == {"North One"}


def test_jsonl_and_parquet_through_a_mapping_equal_the_csv(tmp_path: Path) -> None:
    build_tiny_pack(tmp_path)
    rows = [(f"p{i}", q, a, "2026-06-01 13:00", "North Two" if i % 2 else "South One", 20 + i, "MF"[i % 2])
            for i in range(40) for q, a in (("q1", "yes" if i % 3 else "no"), ("q5", "a>b>c" if i % 4 else "c>a>b"))]
    frame = pl.DataFrame(rows, schema=["ID", "Frage", "Antwort", "Zeit", "Bezirk", "Alter", "G"], orient="row")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('source = "portal"\n[columns]\nrespondent = "ID"\nquestion = "Frage"\nanswer = "Antwort"\n'
                       'time = "Zeit"\ndistrict = "Bezirk"\nage = "Alter"\nsex = "G"\n[questions]\nq5 = "ranked"\n'
                       '[timestamps]\nformat = "%Y-%m-%d %H:%M"\ntimezone = "Europe/Moscow"\n', encoding="utf-8")
    frame.write_csv(tmp_path / "a.csv")
    frame.write_parquet(tmp_path / "a.parquet")
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in frame.to_dicts()) + "\n",
                                      encoding="utf-8")
    tables = {}
    for suffix in ("csv", "parquet", "jsonl"):
        report = ingest(tmp_path, tmp_path / f"a.{suffix}", city="tiny", mapping=str(mapping), survey=suffix)
        assert report.records_out == 80 and report.dead_letters == 0
        tables[suffix] = results(tmp_path, suffix, city="tiny").drop(sv.SURVEY_ID)
    assert tables["csv"].equals(tables["parquet"]) and tables["csv"].equals(tables["jsonl"])
    stored = pl.read_parquet(Workspace(tmp_path).restricted / sv.SURVEY_ANSWERS / "city=tiny" / "survey=csv")
    assert stored[sv.SUBMITTED_DATETIME].dt.hour().unique().to_list() == [10]  # 13:00 Moscow is 10:00 UTC
    assert set(stored[pb.PARENT_ID]) == {"N", "S"}


def test_single_question_e_vote_with_ranked_columns(tmp_path: Path) -> None:
    """A ranked e-vote (one question, a column per preference): the runoff elects the option the
    plurality count would not."""
    build_tiny_pack(tmp_path)
    ballots = ([("Memphis", "Nashville", "Chattanooga")] * 42 + [("Nashville", "Chattanooga", "Knoxville")] * 26
               + [("Chattanooga", "Knoxville", "Nashville")] * 15 + [("Knoxville", "Chattanooga", "")] * 17)
    lines = ["voter;first;second;third", *[f"v{i};{';'.join(b)}" for i, b in enumerate(ballots)]]
    (tmp_path / "capital.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = tmp_path / "vote.toml"
    mapping.write_text('separator = ";"\nquestion = "capital"\n[columns]\nrespondent = "voter"\n'
                       'ranked = ["first", "second", "third"]\n', encoding="utf-8")
    report = ingest(tmp_path, tmp_path / "capital.csv", city="tiny", mapping=str(mapping))
    assert report.records_out == 100 and report.surveys == ["capital"]
    table = results(tmp_path, "capital", city="tiny")
    rounds = table.filter(pl.col(sv.MEASURE) == sv.Measure.IRV_ROUND)
    assert rounds.filter(pl.col(sv.IRV_STATUS) == "elected")[sv.ANSWER].to_list() == ["Knoxville"]
    first = table.filter(SHARE & (pl.col(pb.GROUP_KIND) == pb.GroupKind.CITY)).sort(sv.RESPONSES, descending=True)
    assert first[sv.ANSWER][0] == "Memphis" and first[sv.QUESTION_TYPE][0] == sv.QuestionType.RANKED


def test_mapping_mistakes_name_the_fix(tmp_path: Path) -> None:
    from pipelines.sources.errors import SourceFormatError

    build_tiny_pack(tmp_path)
    path = write_rows(tmp_path / "s.csv", ["r1,q1,yes,,North One,30,F"])
    for text, message in [('[columns]\nfavourite = "x"\n', "unknown field"),
                          ('[columns]\nage = "Alter"\n', "no column 'Alter'"),
                          ('[questions]\nq1 = "essay"\n', "question type"),
                          ('format = "xlsx"\n', "not one of")]:
        (tmp_path / "m.toml").write_text(text, encoding="utf-8")
        with pytest.raises(SourceFormatError, match=message):
            ingest(tmp_path, path, city="tiny", mapping=str(tmp_path / "m.toml"))
    (tmp_path / "v.csv").write_text("voter,vote\n1,a\n", encoding="utf-8")
    (tmp_path / "m.toml").write_text('[columns]\nrespondent = "voter"\nanswer = "vote"\n', encoding="utf-8")
    with pytest.raises(SourceFormatError, match="set `question`"):
        ingest(tmp_path, tmp_path / "v.csv", city="tiny", mapping=str(tmp_path / "m.toml"))
    bad_population = tmp_path / "p.csv"
    bad_population.write_text("age_band,sex,population\n18-30,M,100\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not UrbanPulse's"):
        ingest(tmp_path, path, city="tiny", population=str(bad_population))
