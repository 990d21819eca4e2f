"""Fuzz: the vote readers (Pabulib, CONSUL) and ballot validation on damaged and hostile files.

Whatever a file holds, its reader either gives a `VoteFile` or raises `SourceFormatError` (or,
for rules that cannot be used, `ElectionRulesError`) that says something; it never raises anything
else, hangs or blows up memory. When it reads, every ballot line is exactly one counted ballot or
one dead letter: in = out + dead, with positions unique.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from fuzzing import bounded, hostile_text
from hypothesis import given
from hypothesis import strategies as st

from models.participation.election import ElectionRulesError, election_from_pabulib
from pipelines.sources.errors import SourceFormatError
from pipelines.sources.participation.consul import read_consul
from pipelines.sources.participation.pabulib import read_pabulib
from pipelines.transforms.participation.validate import count_repeated_voters, validate_ballots
from schemas.requests import SOURCE_POSITION

NOW = datetime(2026, 6, 1, tzinfo=UTC)
SEED_PB = ("META\nkey;value\nbudget;500\nvote_type;{vote_type}\nmax_length;3\nmax_sum_points;10\n"
           "PROJECTS\nproject_id;cost;name\np1;100;Park\np2;200;\"Road; new\"\np3;300;Library\n"
           "VOTES\nvoter_id;vote;points;age;sex;neighborhood\n")
VOTE_TYPES = ("approval", "ordinal", "cumulative", "scoring")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-votes")  # one folder: hypothesis runs many examples per test


def _accounted(parsed) -> None:
    """Validate the parsed ballots the way the pipeline does and check nothing is lost."""
    try:
        election = election_from_pabulib("e", parsed.meta, parsed.projects, "fuzz")
    except ElectionRulesError as error:
        assert str(error).strip()
        return
    valid, dead = validate_ballots(parsed.ballots, election, "fuzz", NOW)
    kept, repeated = count_repeated_voters(valid, election.repeated_voter, {}, NOW)
    assert valid.height + dead.height == parsed.ballots.height
    assert kept.height + repeated.height == valid.height
    positions = [*kept[SOURCE_POSITION], *dead[SOURCE_POSITION], *repeated[SOURCE_POSITION]]
    assert sorted(positions) == sorted(parsed.ballots[SOURCE_POSITION].to_list())
    assert len(set(positions)) == len(positions)


def ballot_line() -> st.SearchStrategy[str]:
    ids = st.sampled_from(["p1", "p2", "p3", "p9", "", " p1 ", "p1,p1"])
    fields = st.tuples(
        st.one_of(st.sampled_from(["v1", "v2", "v3", ""]), hostile_text(8)),
        st.lists(ids, max_size=5).map(",".join) | hostile_text(12),
        st.lists(st.sampled_from(["1", "2", "5", "-1", "x", "nan", "1e309", ""]), max_size=5).map(",".join),
        st.sampled_from(["30", "0", "121", "-3", "abc", "", "42.0"]) | hostile_text(4),
        st.sampled_from(["M", "F", "ж", "", "-"]),
        hostile_text(10),
    )
    return st.one_of(fields.map(";".join), hostile_text(40))


@given(vote_type=st.sampled_from(VOTE_TYPES), lines=st.lists(ballot_line(), max_size=25),
       ending=st.sampled_from(["\n", "\r\n", "\r"]), bom=st.booleans())
def test_pabulib_ballots_are_counted_or_dead_lettered(workdir: Path, vote_type: str, lines: list[str],
                                                      ending: str, bom: bool) -> None:
    text = SEED_PB.format(vote_type=vote_type) + "\n".join(lines) + "\n"
    path = workdir / "vote.pb"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.replace("\n", ending).encode("utf-8", "surrogatepass"))
    with bounded("pabulib reader"):
        try:
            parsed = read_pabulib(path)
        except SourceFormatError as error:
            assert str(error).strip()
            return
        _accounted(parsed)


@given(data=st.binary(max_size=600), cut=st.integers(0, 400))
def test_damaged_pabulib_files_read_or_are_refused(workdir: Path, data: bytes, cut: int) -> None:
    seed = (SEED_PB.format(vote_type="approval") + "v1;p1,p2;;30;M;x\nv2;p3;;40;F;y\n").encode()
    path = workdir / "damaged.pb"
    path.write_bytes(seed[:cut] + data + seed[cut:])
    with bounded("pabulib reader"):
        try:
            parsed = read_pabulib(path)
        except SourceFormatError as error:
            assert str(error).strip()
            return
        _accounted(parsed)


@given(projects=st.lists(hostile_text(30), max_size=6), supports=st.lists(hostile_text(30), max_size=12))
def test_consul_exports_read_or_are_refused(workdir: Path, projects: list[str], supports: list[str]) -> None:
    investments = workdir / "investments.csv"
    investments.write_text("id;title;price;feasibility\n10;Parque;300;feasible\n" + "\n".join(projects) + "\n",
                           encoding="utf-8", errors="surrogatepass")
    votes = workdir / "supports.csv"
    votes.write_text("user_id;investment_id;created_at\nu1;10;05/01/2026\n" + "\n".join(supports) + "\n",
                     encoding="utf-8", errors="surrogatepass")
    with bounded("consul reader"):
        try:
            parsed = read_consul([investments, votes])
        except SourceFormatError as error:
            assert str(error).strip()
            return
        _accounted(parsed)
