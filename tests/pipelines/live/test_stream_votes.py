"""Live votes end to end: ballots landed in segments while a vote is open, counted by the stream of
votes, equal a batch recount of the same ballots; repeated voters, closed votes, exactly once."""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest
from conftest import build_tiny_pack
from live_fixtures import wait_until
from polars.testing import assert_frame_equal

from pipelines import ingest_votes
from pipelines.land_votes import BallotLander
from pipelines.live_elections import close_vote, open_vote
from pipelines.stopping import STOP
from pipelines.stream_votes import VoteSettings, catch_up, stream
from plumbing.live_store import votes as vt
from plumbing.live_store import writer_votes
from plumbing.live_store.reader import LiveStoreReader
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import dead_letters as dl
from schemas import participation as pb
from schemas.participation import BallotReason as R
from synthetic.participation.generator import generate_votes, write_pabulib

REPO = Path(__file__).resolve().parents[3]
CITY = "tiny"
SEGMENT = 320
COMPARED = (pb.PROJECT_ID, pb.VOTES, pb.SCORE, pb.SUPPRESSED, pb.SELECTED_GREEDY, pb.SELECTED_MES)
TURNOUT_KINDS = (pb.GroupKind.DISTRICT, pb.GroupKind.PARENT, pb.GroupKind.AGE_BAND, pb.GroupKind.SEX)


def rules_only(path: Path, target: Path) -> Path:
    """The .pb file without its ballots (META, PROJECTS and an empty VOTES section)."""
    text = path.read_text(encoding="utf-8")
    target.write_text(text[: text.index("\nVOTES\n")] + "\nVOTES\n", encoding="utf-8")
    return target


def landed_ballots(vote) -> pl.DataFrame:
    """The generated ballots, then 80 voters voting again (other choices), three broken ballots
    and a voter who votes twice within the last segment."""
    ballots = vote.ballots.select(vote.vote_columns).cast(pl.String)
    again = ballots.slice(0, 80).with_columns(ballots.slice(600, 80)["vote"])
    broken = pl.DataFrame({"voter_id": ["x1", None, "x3"], "vote": ["999999", ballots["vote"][1], ballots["vote"][2]],
                           "age": ["30", "40", "250"]}).cast(pl.String)
    twice = ballots.slice(700, 1).with_columns(pl.lit("twice").alias("voter_id"))
    twice = pl.concat([twice, twice.with_columns(ballots.slice(701, 1)["vote"])])
    return pl.concat([ballots, again, broken, twice], how="diagonal")


def land(lander: BallotLander, ballots: pl.DataFrame, size: int = SEGMENT) -> list[int]:
    return [seq for start in range(0, ballots.height, size) for seq in lander.land(ballots.slice(start, size))]


def store_tallies(workspace: Workspace, election: str) -> tuple[pl.DataFrame, pl.DataFrame, dict, dict]:
    """(projects as the feed shows them, raw turnout rows, dead letters per reason, the election row)."""
    with closing(LiveStoreReader.open(workspace.live_store(CITY))) as reader:
        row = vt.election(reader.db, election)
        projects = vt.public_projects(vt.project_frame(reader.db, election), row[pb.BALLOTS])
        turnout = pl.read_database(f"SELECT * FROM {vt.TURNOUT_TABLE.name} WHERE election_id = ? "
                                   "ORDER BY group_kind, group_value", reader.db, execute_options={"parameters": [election]})
        return projects, turnout, vt.dead_letter_counts(reader.db, election), row


def batch_table(home: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(Workspace(home).city_dataset(name, CITY) / "**" / "*.parquet", hive_partitioning=False)


@pytest.fixture(scope="module")
def spring(tmp_path_factory):
    """The vote `spring` of the tiny city: opened from its rules, ~1,600 ballots landed in
    segments of 320, counted by the stream; and the same ballots recounted by the batch pipeline."""
    home = tmp_path_factory.mktemp("live-votes")
    workspace = Workspace(home)
    vote = generate_votes(build_tiny_pack(home), 1_500, seed=7, kind="approval", election="spring")
    ballots = landed_ballots(vote)
    rules = rules_only(write_pabulib(vote, home / "spring.pb"), home / "spring-rules.pb")
    _election, created, in_file = open_vote(workspace, CITY, rules, "spring")
    assert created and in_file == 0
    segments = land(lander := BallotLander(workspace, CITY, "spring"), ballots)
    report = catch_up(VoteSettings(workspace, CITY))
    build_tiny_pack(batch_home := tmp_path_factory.mktemp("batch-votes"))
    recount = write_pabulib(dataclasses.replace(vote, ballots=ballots), batch_home / "spring.pb")
    batch = ingest_votes.run(ingest_votes.vote_argv([str(recount)], CITY, str(batch_home)))
    return {"workspace": workspace, "ballots": ballots, "segments": segments, "report": report,
            "batch_home": batch_home, "batch": batch, "lander": lander}


def test_live_tallies_equal_a_batch_recount(spring) -> None:
    projects, turnout, dead, row = store_tallies(spring["workspace"], "spring")
    batch = batch_table(spring["batch_home"], ds.PB_PROJECTS)
    assert len(spring["segments"]) == 5 and spring["report"].counters["records_in"] == spring["ballots"].height
    assert row[pb.BALLOTS] == spring["batch"].records_out == 1_501 and row[vt.BALLOTS_IN] == spring["ballots"].height
    assert_frame_equal(projects.select(COMPARED), batch.select(COMPARED), check_dtypes=False)
    assert projects[pb.SELECTED_MES].any() and row[vt.MES_BALLOTS] == row[pb.BALLOTS]
    batch_turnout = batch_table(spring["batch_home"], ds.PB_TURNOUT)
    for kind in TURNOUT_KINDS:
        shown = batch_turnout.filter((pl.col(pb.GROUP_KIND) == kind) & ~pl.col(pb.SUPPRESSED))
        live = dict(turnout.filter(pl.col(pb.GROUP_KIND) == kind).select(pb.GROUP_VALUE, pb.BALLOTS).iter_rows())
        assert shown.height > 0 and {v: live[v] for v in shown[pb.GROUP_VALUE]} == dict(
            shown.select(pb.GROUP_VALUE, pb.BALLOTS).iter_rows())
    reasons = batch_table(spring["batch_home"], ds.DEAD_LETTERS)[dl.REASON].value_counts()
    assert dead == dict(reasons.iter_rows()) == {R.REPEATED_VOTER: 81, R.UNKNOWN_PROJECT: 1,
                                                 R.MISSING_VOTER_ID: 1, R.IMPOSSIBLE_AGE: 1}


def test_a_voter_who_votes_again_counts_with_the_latest_ballot(spring) -> None:
    with closing(LiveStoreReader.open(spring["workspace"].live_store(CITY))) as reader:
        stored = pl.read_database(f"SELECT voter_key, choices, source_file FROM {vt.BALLOTS_TABLE.name}", reader.db)
        segments = pl.read_database(f"SELECT * FROM {vt.SEGMENTS_TABLE.name} ORDER BY seq", reader.db)
    ballots = spring["ballots"]
    assert stored.height == 1_501 and not set(stored[pb.VOTER_KEY]) & set(ballots["voter_id"])  # pseudonyms only
    later = stored.filter(pl.col("source_file").str.ends_with("000000000004"))
    assert later.height == ballots.height - 4 * SEGMENT - 3 - 1  # the last segment: 3 broken, one repeat
    assert set(ballots.slice(600, 80)["vote"]) <= set(stored["choices"])
    assert segments[vt.REPLACED].to_list() == [0, 0, 0, 0, 80]


def mini_vote(home: Path, name: str, rule: str = "latest") -> Path:
    path = home / f"{name}.pb"
    path.write_text("\n".join(["META", "key;value", "budget;400", "vote_type;approval", "max_length;2",
                               f"repeated_voter;{rule}", "PROJECTS", "project_id;cost;name", "p1;100;Park",
                               "p2;200;Road", "p3;300;Library", "VOTES", "voter_id;vote"]) + "\n", encoding="utf-8")
    return path


def mini_projects(workspace: Workspace, election: str) -> dict[str, tuple[int, float]]:
    """Raw (unsuppressed) votes and score per project."""
    with closing(LiveStoreReader.open(workspace.live_store(CITY))) as reader:
        frame = vt.project_frame(reader.db, election)
    return {p: (v, s) for p, v, s in frame.select(pb.PROJECT_ID, pb.VOTES, pb.SCORE).iter_rows()}


@pytest.mark.parametrize(("rule", "expected"), [
    ("latest", {"p1": (0, 0.0), "p2": (12, 12.0), "p3": (12, 12.0)}),
    ("refuse", {"p1": (12, 12.0), "p2": (0, 0.0), "p3": (0, 0.0)}),
])
def test_repeated_voters_across_segments_follow_the_rule(spring, rule, expected) -> None:
    workspace = spring["workspace"]
    open_vote(workspace, CITY, mini_vote(workspace.root, f"mini-{rule}", rule))
    lander = BallotLander(workspace, CITY, f"mini-{rule}")
    lander.land([{"voter_id": f"v{i}", "vote": "p1", "age": 30 + i} for i in range(12)])
    catch_up(VoteSettings(workspace, CITY))
    lander.land([{"voter_id": f"v{i}", "vote": ["p2", "p3"], "sex": "F"} for i in range(12)])
    catch_up(VoteSettings(workspace, CITY))
    _projects, turnout, dead, row = store_tallies(workspace, f"mini-{rule}")
    assert mini_projects(workspace, f"mini-{rule}") == expected
    assert row[pb.BALLOTS] == 12 and dead == {R.REPEATED_VOTER: 12}
    sexes = dict(turnout.filter(pl.col(pb.GROUP_KIND) == pb.GroupKind.SEX).select(pb.GROUP_VALUE, pb.BALLOTS).iter_rows())
    assert sexes == ({"F": 12, "M": 0} if rule == "latest" else {"F": 0, "M": 0})


def test_ballots_landed_after_the_vote_closed_are_dead_letters(spring) -> None:
    workspace = spring["workspace"]
    open_vote(workspace, CITY, mini_vote(workspace.root, "autumn"))
    lander = BallotLander(workspace, CITY, "autumn")
    lander.land([{"voter_id": f"v{i}", "vote": "p1,p2"} for i in range(20)])
    assert close_vote(workspace, CITY, "autumn") and not close_vote(workspace, CITY, "autumn")
    lander.land([{"voter_id": f"w{i}", "vote": "p3"} for i in range(7)])
    catch_up(VoteSettings(workspace, CITY))
    projects, _turnout, dead, row = store_tallies(workspace, "autumn")
    assert vt.status_of(row) == pb.STATUS_CLOSED and row[pb.BALLOTS] == 20 and dead == {pb.VOTE_CLOSED: 7}
    assert mini_projects(workspace, "autumn") == {"p1": (20, 20.0), "p2": (20, 20.0), "p3": (0, 0.0)}
    assert row[vt.MES_BALLOTS] == 20 and projects[pb.SELECTED_MES].to_list() == [True, True, False]


def test_running_again_over_the_same_segments_changes_nothing(spring) -> None:
    workspace = spring["workspace"]
    before = store_tallies(workspace, "spring")
    report = catch_up(VoteSettings(workspace, CITY), from_seq=0)
    after = store_tallies(workspace, "spring")
    assert report.counters["records_out"] == 0 and report.counters["records_in"] == 0
    assert_frame_equal(before[0], after[0]) and assert_frame_equal(before[1], after[1])
    assert before[2] == after[2] and before[3][pb.BALLOTS] == after[3][pb.BALLOTS]


def test_a_commit_that_fails_leaves_nothing_and_the_next_run_counts_it_once(spring, monkeypatch) -> None:
    workspace = spring["workspace"]
    open_vote(workspace, CITY, mini_vote(workspace.root, "winter"))
    lander = BallotLander(workspace, CITY, "winter")
    for part in range(3):
        lander.land([{"voter_id": f"v{part}-{i}", "vote": "p2"} for i in range(10)])
    real, calls = writer_votes._write_change, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second segment's transaction, after its tallies were written
            raise OSError("disk went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(writer_votes, "_write_change", failing)
    with pytest.raises(Exception, match="disk went away"):
        catch_up(VoteSettings(workspace, CITY))
    assert mini_projects(workspace, "winter")["p2"] == (10, 10.0)
    monkeypatch.setattr(writer_votes, "_write_change", real)
    catch_up(VoteSettings(workspace, CITY))
    assert mini_projects(workspace, "winter")["p2"] == (30, 30.0)


def _committed(store: Path, source: str) -> int:
    """How far the stream of votes committed `source` (0 while it creates the store's tables)."""
    try:
        with closing(LiveStoreReader.open(store)) as reader:
            return reader.offsets(vt.VOTES_READER).get(source, 0)
    except Exception:  # noqa: BLE001
        return 0


def test_killed_stream_restarts_with_the_uninterrupted_tallies(tmp_path_factory) -> None:
    """SIGKILL the stream of votes at a random moment after its first commit, run it again: the
    tallies equal those of an uninterrupted stream over the same landed ballots."""
    tallies = []
    vote = generate_votes(build_tiny_pack(tmp_path_factory.mktemp("pack")), 1_200, seed=3, kind="approval")
    for kill in (True, False):
        build_tiny_pack(home := tmp_path_factory.mktemp("killed" if kill else "whole"))
        workspace = Workspace(home)
        rules = rules_only(write_pabulib(vote, home / "vote.pb"), home / "rules.pb")
        open_vote(workspace, CITY, rules, "vote")
        land(BallotLander(workspace, CITY, "vote"), landed_ballots(vote), 30)
        if kill:
            code = "import sys; from pathlib import Path; from plumbing.workspace import Workspace; " \
                   "from pipelines.stream_votes import VoteSettings, catch_up; " \
                   "catch_up(VoteSettings(Workspace(Path(sys.argv[1])), 'tiny'))"
            stream = subprocess.Popen([sys.executable, "-c", code, str(home)], cwd=REPO,
                                      env={**os.environ, "PYTHONPATH": str(REPO)})
            deadline = time.monotonic() + 60
            while _committed(workspace.live_store(CITY), "votes-vote") == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(random.Random(5).uniform(0.0, 0.1))
            stream.send_signal(signal.SIGKILL)
            stream.wait()
            assert _committed(workspace.live_store(CITY), "votes-vote") > 0
        catch_up(VoteSettings(workspace, CITY))
        projects, turnout, dead, row = store_tallies(workspace, "vote")
        tallies.append((projects, turnout.drop(pb.ELECTION_ID), dead, row[pb.BALLOTS], row[vt.BALLOTS_IN]))
    killed, whole = tallies
    assert_frame_equal(killed[0], whole[0]) and assert_frame_equal(killed[1], whole[1])
    assert killed[2:] == whole[2:] and whole[4] == landed_ballots(vote).height


def test_a_vote_opened_while_the_stream_runs_is_followed(spring) -> None:
    """The running stream drains and starts again with the new vote's landing log."""
    workspace = spring["workspace"]
    reports: list = []
    runner = threading.Thread(target=lambda: reports.append(stream(VoteSettings(workspace, CITY))), daemon=True)
    runner.start()
    try:
        BallotLander(workspace, CITY, "autumn").land([{"voter_id": "late", "vote": "p1"}])
        assert wait_until(lambda: store_tallies(workspace, "autumn")[2][pb.VOTE_CLOSED] == 8, 60)  # it runs
        open_vote(workspace, CITY, mini_vote(workspace.root, "spring-2"))
        BallotLander(workspace, CITY, "spring-2").land([{"voter_id": f"v{i}", "vote": "p3"} for i in range(12)])
        assert wait_until(lambda: mini_projects(workspace, "spring-2")["p3"] == (12, 12.0), 60)
    finally:
        STOP.set()
        runner.join(timeout=60)
    assert reports and "votes-spring-2" in reports[0].sources


def test_the_commands_open_land_every_format_stream_and_close(tmp_path, monkeypatch, capsys) -> None:
    """As a user types them: one unreadable line per file becomes a dead letter, the rest is counted."""
    from conftest import forget_prefect_settings

    from flows import cli

    forget_prefect_settings(monkeypatch)
    build_tiny_pack(tmp_path)
    files = {"a.csv": "voter_id;vote;age\na1;p1;30\na2;p1,p2;40\nbroken;line;with;too;many\n",
             "b.csv": 'voter_id,vote,sex\nb1,"p2,p3",F\nb2,p3,M\n"unclosed,p1\n',
             "c.jsonl": '{"voter_id": "c1", "vote": ["p1", "p3"], "age": 51}\n{"voter_id": 7, "vote": "p3"}\nnot json\n'}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    run = lambda *args: cli.main(["--home", str(tmp_path), *args])  # noqa: E731
    assert run("vote", "open", str(mini_vote(tmp_path, "cli")), "--city", CITY) == 0
    assert run("land", "votes", *(str(tmp_path / n) for n in files), "--city", CITY, "--election", "cli") == 0
    assert run("land", "votes", str(tmp_path / "a.csv"), "--city", CITY, "--election", "nope") == 2
    assert "urbanpulse vote open" in capsys.readouterr().err
    assert run("stream", "votes", "--city", CITY, "--to-end") == 0
    assert "ballots in 9: counted 6, dead letters 3" in capsys.readouterr().out
    assert run("vote", "close", "cli", "--city", CITY) == 0 and "closed" in capsys.readouterr().out
    _projects, _turnout, dead, row = store_tallies(Workspace(tmp_path), "cli")
    assert mini_projects(Workspace(tmp_path), "cli") == {"p1": (3, 3.0), "p2": (2, 2.0), "p3": (4, 4.0)}
    assert dead == {R.UNREADABLE_LINE: 3} and vt.status_of(row) == pb.STATUS_CLOSED
