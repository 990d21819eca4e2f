"""The vote pipeline end to end: real and generated Pabulib files, every dead-letter reason,
hostile input, outcomes equal to pabutools', and nothing small or identifying published."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from pabutools.election import Cost_Sat, parse_pabulib
from pabutools.rules import method_of_equal_shares
from samples import sample_file

from models.cities.pack import CityPack
from pipelines import ingest_votes
from pipelines.sources.errors import SourceFormatError
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import dead_letters as dl
from schemas import participation as pb
from schemas.participation import BallotReason as R
from synthetic.demo_city import build_demo_city
from synthetic.participation.generator import generate_votes, write_pabulib

WARSAW = ("participation", "Poland_Warszawa_2026.pb")


def ingest(home: Path, *paths: Path, city: str = "tiny", **options) -> ingest_votes.VoteReport:
    return ingest_votes.run(ingest_votes.vote_argv([str(p) for p in paths], city, str(home), **options))


def table(home: Path, name: str, city: str = "tiny") -> pl.DataFrame:
    return pl.read_parquet(Workspace(home).city_dataset(name, city) / "**" / "*.parquet", hive_partitioning=False)


def pb_file(path: Path, votes: list[str], meta: str = "", projects: list[str] | None = None,
            header: str = "voter_id;vote;age;sex;neighborhood") -> Path:
    project_rows = projects or ["p1;100;Park", "p2;200;Road", "p3;300;Library"]
    path.write_text("\n".join([
        "META", "key;value", "budget;400", "vote_type;approval", "max_length;2", *filter(None, meta.split("\n")),
        "PROJECTS", "project_id;cost;name", *project_rows,
        "VOTES", header, *votes,
    ]) + "\n", encoding="utf-8")
    return path


def dead_reasons(home: Path, city: str = "tiny") -> list[str]:
    return sorted(table(home, ds.DEAD_LETTERS, city)[dl.REASON].to_list())


def test_warsaw_recomputed_votes_greedy_and_mes(tmp_path: Path) -> None:
    path = sample_file(*WARSAW)
    report = ingest(tmp_path, path, city="warszawa")
    assert report.accounting_ok and report.records_in == report.records_out == 61_668
    projects = table(tmp_path, ds.PB_PROJECTS, "warszawa")
    source = parse_pabulib(str(path))
    instance, profile = source
    file_votes = {p.name: int(instance.project_meta[p]["votes"]) for p in instance}
    assert dict(zip(projects[pb.PROJECT_ID], projects[pb.VOTES], strict=True)) == file_votes
    assert (projects[pb.SELECTED_GREEDY] == projects[pb.SELECTED_SOURCE]).all()
    mes = {p.name for p in method_of_equal_shares(instance, profile, sat_class=Cost_Sat)}
    assert set(projects.filter(pb.SELECTED_MES)[pb.PROJECT_ID]) == mes


KINDS = ("approval", "ordinal", "cumulative")


@pytest.fixture(scope="module")
def demo_votes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, ingest_votes.VoteReport]:
    """Three generated elections of the demo city (one per vote type), ingested in one run."""

    home = tmp_path_factory.mktemp("votes-home")
    pack = build_demo_city(Workspace(home).city("demo"))
    votes = {kind: generate_votes(pack, 3_000, seed=11, kind=kind) for kind in KINDS}
    paths = [write_pabulib(vote, home / f"demo-{kind}.pb") for kind, vote in votes.items()]
    return home, votes, ingest(home, *paths, city="demo")


@pytest.mark.parametrize("kind", KINDS)
def test_generated_votes_equal_pabutools_and_the_file(demo_votes, kind: str) -> None:
    from pabutools.election import Additive_Cardinal_Sat, CardinalBallot, CardinalProfile

    home, votes, report = demo_votes
    assert report.accounting_ok and report.records_out == 3 * 3_000 and report.dead_letters == 0
    projects = table(home, ds.PB_PROJECTS, "demo").filter(pl.col(pb.ELECTION_ID) == f"demo-{kind}")
    shown = projects.filter(~pl.col(pb.SUPPRESSED))
    vote = votes[kind]
    by_id = dict(zip(vote.projects["project_id"].cast(pl.String), vote.projects["votes"], strict=True))
    assert shown.height > 0 and all(by_id[p] == v for p, v in zip(shown[pb.PROJECT_ID], shown[pb.VOTES], strict=True))
    assert (projects[pb.SELECTED_GREEDY] == projects[pb.SELECTED_SOURCE]).all()
    instance, profile = parse_pabulib(str(home / f"demo-{kind}.pb"))
    if kind == "approval":
        mes = method_of_equal_shares(instance, profile, sat_class=Cost_Sat)
    else:
        if not isinstance(profile, CardinalProfile):  # ordinal: points max_length - rank + 1, as UrbanPulse
            longest = int(instance.meta["max_length"])
            profile = CardinalProfile([CardinalBallot({p: longest - r for r, p in enumerate(ballot)})
                                       for ballot in profile], instance=instance)
        mes = method_of_equal_shares(instance, profile, sat_class=Additive_Cardinal_Sat)
    assert set(projects.filter(pb.SELECTED_MES)[pb.PROJECT_ID]) == {p.name for p in mes}


def test_turnout_per_district_and_population(demo_votes) -> None:
    home, _votes, _report = demo_votes
    turnout = table(home, ds.PB_TURNOUT, "demo").filter(pl.col(pb.ELECTION_ID) == "demo-approval")
    districts = turnout.filter(pl.col(pb.GROUP_KIND) == pb.GroupKind.DISTRICT)
    assert districts.height > 10 and districts[pb.POPULATION].null_count() == 0
    shown = districts.filter(~pl.col(pb.SUPPRESSED))
    assert ((shown[pb.BALLOTS] / shown[pb.POPULATION] * 1000 - shown[pb.BALLOTS_PER_1000]).abs() < 1e-9).all()
    city = turnout.filter(pl.col(pb.GROUP_KIND) == pb.GroupKind.CITY).row(0, named=True)
    assert city[pb.BALLOTS] == 3_000
    parents = turnout.filter(pl.col(pb.GROUP_KIND) == pb.GroupKind.PARENT)
    okrugs = set(CityPack.load(Workspace(home).city("demo")).parent_ids)
    assert set(parents[pb.GROUP_VALUE]) == okrugs and parents[pb.BALLOTS].sum() <= 3_000
    central = parents.filter(pl.col(pb.GROUP_VALUE) == "AO-01")[pb.BALLOTS_PER_1000][0]
    assert central > parents.filter(pl.col(pb.GROUP_VALUE) != "AO-01")[pb.BALLOTS_PER_1000].median()


def test_every_dead_letter_reason(tmp_path: Path) -> None:
    path = pb_file(tmp_path / "bad.pb", [
        "v1;p1,p2;30;M;North One",   # counted
        "v2;p1,p9;30;M;North One",   # unknown project
        "v3;p1,p2,p3;30;M;North One",  # too many (max_length 2)
        "v4;;30;M;North One",        # too few
        "v5;p1,p1;30;M;North One",   # duplicate choice
        "v6;p2;131;F;North One",     # impossible age
        "v7;p2;abc;F;North One",     # impossible age
        "v8;p2;30",                  # unreadable line (missing fields)
        ";p2;30;F;North One",        # no voter id
        "v1;p3;30;M;North One",      # repeated voter: the latest ballot counts
    ])
    report = ingest(tmp_path, path)
    assert report.records_in == 10 and report.records_out == 1 and report.dead_letters == 9
    assert report.accounting_ok
    assert dead_reasons(tmp_path) == sorted([
        R.UNKNOWN_PROJECT, R.TOO_MANY_CHOICES, R.TOO_FEW_CHOICES, R.DUPLICATE_CHOICE, R.IMPOSSIBLE_AGE,
        R.IMPOSSIBLE_AGE, R.UNREADABLE_LINE, R.MISSING_VOTER_ID, R.REPEATED_VOTER,
    ])
    projects = table(tmp_path, ds.PB_PROJECTS)
    assert projects[pb.SUPPRESSED].all()  # one ballot: every count is under 10
    election = table(tmp_path, ds.PB_ELECTIONS).row(0, named=True)
    assert election[pb.BALLOTS] is None and election[pb.SUPPRESSED]


def test_repeated_voter_rules(tmp_path: Path) -> None:
    votes = ["v1;p1;30;M;x"] + [f"w{i};p2;40;F;x" for i in range(12)] + ["v1;p3;30;M;x"]
    latest = ingest(tmp_path / "a", pb_file(tmp_path / "latest.pb", votes))
    refuse = ingest(tmp_path / "b", pb_file(tmp_path / "refuse.pb", votes), repeated_voter="refuse")
    assert latest.records_out == refuse.records_out == 13 and latest.dead_letters == refuse.dead_letters == 1
    ballots = {run: pl.read_parquet(next((tmp_path / run / "restricted" / "ballots").rglob("*.parquet")))
               for run in ("a", "b")}
    assert ["p3"] in ballots["a"][pb.CHOICES].to_list() and ["p1"] not in ballots["a"][pb.CHOICES].to_list()
    assert ["p1"] in ballots["b"][pb.CHOICES].to_list() and ["p3"] not in ballots["b"][pb.CHOICES].to_list()


def test_cumulative_points_rules(tmp_path: Path) -> None:
    meta = "vote_type;cumulative\nmax_sum_points;10"
    path = pb_file(tmp_path / "cumulative.pb", [
        "v1;p1,p2;6,4;30", "v2;p1,p2;6,5;30", "v3;p1,p2;6;30", "v4;p1;x;30", "v5;p1;;30",
    ], meta=meta, header="voter_id;vote;points;age")
    report = ingest(tmp_path, path)
    assert report.records_out == 1 and report.accounting_ok
    assert dead_reasons(tmp_path) == sorted([R.TOO_MANY_POINTS, R.BAD_POINTS, R.BAD_POINTS, R.BAD_POINTS])


def test_hostile_inputs_give_clear_answers(tmp_path: Path) -> None:
    many = ",".join(f"x{i}" for i in range(10_000))
    path = pb_file(tmp_path / "hostile.pb", [f"v1;{many};30;M;x"], meta="num_votes;2000000000\nnum_projects;99999999")
    report = ingest(tmp_path, path)
    assert report.dead_letters == 1 and dead_reasons(tmp_path) == [R.TOO_MANY_CHOICES]
    huge = pb_file(tmp_path / "huge-meta.pb", ["v1;p1;30;M;x"], meta="description;" + "x" * (2 << 20))
    with pytest.raises(SourceFormatError, match="longer than"):
        ingest(tmp_path, huge)
    (tmp_path / "no-sections.pb").write_text("voter_id;vote\n1;2\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="META, PROJECTS and VOTES"):
        ingest(tmp_path, tmp_path / "no-sections.pb")


def test_crlf_bom_and_quoted_fields(tmp_path: Path) -> None:
    votes = [f'v{i};p1,p2;30;M;"North; One"' for i in range(12)]
    path = pb_file(tmp_path / "quoted.pb", votes)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    report = ingest(tmp_path, path)
    assert report.records_out == 12 and report.dead_letters == 0
    groups = table(tmp_path, ds.PB_TURNOUT).filter(pl.col(pb.GROUP_KIND) == pb.GroupKind.NEIGHBORHOOD)
    assert groups[pb.GROUP_VALUE].to_list() == ["North; One"] and groups[pb.BALLOTS].to_list() == [12]


def test_nothing_small_or_identifying_is_published(demo_votes) -> None:
    """Every published participation table: no count under MIN_CELL, no voter id, no key."""
    demo_home, _votes, _report = demo_votes
    voter_ids = set()
    for path in demo_home.glob("demo-*.pb"):
        text = path.read_text(encoding="utf-8").split("\nVOTES\n")[1].splitlines()[1:]
        voter_ids |= {line.split(";")[0] for line in text}
    secret = Workspace(demo_home).voter_key_file.read_bytes()
    files = list((demo_home / "datasets").resolve().rglob("*.parquet"))
    assert files
    for file in files:
        frame = pl.read_parquet(file)
        for column in (pb.VOTES, pb.BALLOTS, "responses", "respondents"):
            if column in frame.columns:
                assert frame.filter(pl.col(column) < pb.MIN_CELL).height == 0, (file, column)
        for column, dtype in frame.schema.items():
            if dtype == pl.String:
                assert not set(frame[column].drop_nulls().to_list()) & voter_ids, (file, column)
        assert pb.VOTER_KEY not in frame.columns and pb.AGE not in frame.columns
        assert secret not in file.read_bytes()


def test_consul_investments_with_supports(tmp_path: Path) -> None:
    investments = tmp_path / "budget-2026.csv"
    investments.write_text("id;title;price;feasibility;heading_name;cached_votes_up\n"
                           "10;Parque;300;feasible;North One;12\n11;Fuente;100;feasible;North One;11\n"
                           "12;Pista;50;unfeasible;South One;12\n", encoding="utf-8")
    rows = [f"u{i};10;05/01/2026 10:0{i % 10}" for i in range(12)] + [f"u{i};12;06/01/2026" for i in range(12)]
    rows += [f"w{i};11;07/01/2026" for i in range(11)] + ["x1;11;07/01/2026", "x1;11;07/01/2026 10:00"]
    supports = tmp_path / "supports.csv"
    supports.write_text("user_id;investment_id;created_at\n" + "\n".join(rows) + "\n", encoding="utf-8")
    report = ingest(tmp_path, investments, supports, fmt="consul", budget="400")
    assert report.records_in == 24 and report.records_out == 23 and report.dead_letters == 1
    assert dead_reasons(tmp_path) == [R.DUPLICATE_CHOICE]
    projects = {r[pb.PROJECT_ID]: r for r in table(tmp_path, ds.PB_PROJECTS).iter_rows(named=True)}
    assert projects["10"][pb.VOTES] == 12 and projects["12"][pb.VOTES] == 12 and projects["11"][pb.VOTES] == 11
    assert not projects["12"][pb.SELECTED_GREEDY] and not projects["12"][pb.SELECTED_MES]  # unfeasible
    assert projects["10"][pb.SELECTED_GREEDY] and projects["11"][pb.SELECTED_GREEDY]
    assert report.elections == ["budget-2026"]


def test_add1_completion_is_an_option_and_equals_pabutools(tmp_path: Path) -> None:
    votes = ([f"a{i};p1;30;M;x" for i in range(20)] + [f"b{i};p2,p3;30;F;x" for i in range(12)]
             + [f"c{i};p3;30;F;x" for i in range(8)])
    projects = ["p1;220;Park", "p2;150;Road", "p3;120;Library"]
    path = pb_file(tmp_path / "add1.pb", votes, projects=projects, meta="budget;420")
    plain = ingest(tmp_path / "plain", path)
    completed = ingest(tmp_path / "add1", path, mes_completion="add1")
    assert plain.accounting_ok and completed.accounting_ok
    selected = {run: set(table(tmp_path / run, ds.PB_PROJECTS).filter(pb.SELECTED_MES)[pb.PROJECT_ID])
                for run in ("plain", "add1")}
    instance, profile = parse_pabulib(str(path))
    theirs = {p.name for p in method_of_equal_shares(instance, profile, sat_class=Cost_Sat, voter_budget_increment=1)}
    assert selected["add1"] == theirs and selected["add1"] != selected["plain"]
