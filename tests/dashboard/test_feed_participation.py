"""The feed's live votes over real HTTP: elections, projects with suppression and selections,
turnout per group, clear 400s and 404s, and a `participation` change event per counted segment."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import polars as pl
import pytest
from conftest import TINY_CITY, build_tiny_pack
from feed_fixtures import feed_in_thread

from pipelines.land_votes import BallotLander
from pipelines.live_elections import close_vote, open_vote
from pipelines.stream_votes import VoteSettings, catch_up
from plumbing.live_store import votes as vt
from plumbing.live_store.reader import LiveStoreReader
from plumbing.workspace import Workspace
from schemas import participation as pb
from synthetic.participation.generator import generate_votes, write_pabulib

CITY = "tiny"
NAMES = {f["properties"]["code"]: f["properties"]["title"] for f in TINY_CITY["features"]}


def rules_file(path: Path, target: Path) -> Path:
    text = path.read_text(encoding="utf-8")
    target.write_text(text[: text.index("\nVOTES\n")] + "\nVOTES\n", encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    """Two votes of the tiny city: `big` (600 ballots: a few projects under 10 votes) and `small`
    (closed after 4 ballots), counted by the stream of votes, served over HTTP."""
    home = tmp_path_factory.mktemp("feed-votes")
    pack = build_tiny_pack(home)
    workspace = Workspace(home)
    vote = generate_votes(pack, 600, seed=5, kind="approval", election="big")
    open_vote(workspace, CITY, rules_file(write_pabulib(vote, home / "big.pb"), home / "big-rules.pb"), "big")
    ballots = vote.ballots.select(vote.vote_columns)
    lander = BallotLander(workspace, CITY, "big")
    for start in range(0, ballots.height, 200):
        lander.land(ballots.slice(start, 200))
    small = generate_votes(pack, 4, seed=6, kind="approval", election="small")
    open_vote(workspace, CITY, write_pabulib(small, home / "small.pb"), "small")
    BallotLander(workspace, CITY, "small").land(small.ballots.select(small.vote_columns))
    catch_up(VoteSettings(workspace, CITY))
    close_vote(workspace, CITY, "small")
    with feed_in_thread(workspace) as url:
        yield {"url": url, "workspace": workspace, "vote": vote, "lander": lander}


def get(feed, path: str, **params) -> httpx.Response:
    return httpx.get(f"{feed['url']}/api/v1/participation{path}", params=params, timeout=10)


def test_elections_list_both_votes_with_status_and_figures(feed):
    body = get(feed, "/elections").json()
    by_id = {e[pb.ELECTION_ID]: e for e in body["elections"]}
    assert body["city"] == CITY and set(by_id) == {"big", "small"}
    big, small = by_id["big"], by_id["small"]
    assert (big["status"], big[pb.BALLOTS], big[pb.VOTE_TYPE]) == ("open", 600, "approval")
    assert big[pb.BUDGET] > 0 and big["last_update"] and big["dead_letters"] == {}
    assert (small["status"], small[pb.BALLOTS], small["mes"]) == ("closed", None, "current")  # 4: under 10
    assert small["closed_at"] >= small["opened_at"]


def test_projects_are_the_store_tallies_with_small_counts_suppressed(feed):
    body = get(feed, "/big/projects").json()
    rows = pl.DataFrame(body["projects"])
    reader = LiveStoreReader.open(feed["workspace"].live_store(CITY))
    try:
        stored = vt.project_frame(reader.db, "big")
    finally:
        reader.close()
    assert (body["status"], body[pb.BALLOTS], body["mes"]) == ("open", 600, "current")
    assert rows[pb.PROJECT_ID].to_list() == stored[pb.PROJECT_ID].to_list()
    small = stored[pb.VOTES] < pb.MIN_CELL
    assert small.any() and (~small).any()
    assert rows[pb.SUPPRESSED].to_list() == small.to_list()
    hidden = rows.filter(pl.col(pb.SUPPRESSED))
    assert hidden[pb.VOTES].null_count() == hidden[pb.SCORE].null_count() == hidden["share"].null_count() == hidden.height
    shown = rows.filter(~pl.col(pb.SUPPRESSED))
    assert shown[pb.VOTES].to_list() == stored.filter(~small)[pb.VOTES].to_list()
    assert ((shown["share"] - shown[pb.VOTES] / 600).abs() < 1e-12).all()
    generated = dict(zip(feed["vote"].projects["project_id"].cast(pl.String), feed["vote"].projects["votes"], strict=True))
    assert all(generated[p] == v for p, v in shown.select(pb.PROJECT_ID, pb.VOTES).iter_rows())
    spent = rows.filter(pl.col(pb.SELECTED_GREEDY))[pb.COST].sum()
    assert 0 < spent <= get(feed, "/elections").json()["elections"][0][pb.BUDGET]


def test_a_vote_with_few_ballots_shows_no_counts(feed):
    body = get(feed, "/small/projects").json()
    assert body[pb.BALLOTS] is None and all(p[pb.SUPPRESSED] and p[pb.VOTES] is None for p in body["projects"])


def test_turnout_per_district_names_them_and_suppresses_small_groups(feed):
    body = get(feed, "/big/turnout", group="district").json()
    groups = {g[pb.GROUP_VALUE]: g for g in body["groups"]}
    assert body["group"] == "district" and set(groups) == set(NAMES)
    assert {v: g[pb.GROUP_NAME] for v, g in groups.items()} == NAMES
    shown = [g for g in groups.values() if not g[pb.SUPPRESSED]]
    assert shown and sum(g[pb.BALLOTS] for g in shown) <= 600
    assert all(abs(g[pb.SHARE_OF_BALLOTS] - g[pb.BALLOTS] / 600) < 1e-12 for g in shown)
    sexes = get(feed, "/big/turnout", group="sex").json()["groups"]
    assert {g[pb.GROUP_VALUE] for g in sexes} >= {"F", "M"}
    small = get(feed, "/small/turnout", group="age_band").json()["groups"]
    assert small and all(g[pb.SUPPRESSED] and g[pb.BALLOTS] is None for g in small)


def test_bad_group_is_a_400_and_an_unknown_vote_a_404_naming_the_votes(feed):
    bad = get(feed, "/big/turnout", group="shoe_size")
    assert bad.status_code == 400 and "district" in bad.json()["detail"]
    for path in ("/nope/projects", "/nope/turnout"):
        missing = get(feed, path)
        assert missing.status_code == 404
        assert "'nope'" in missing.json()["detail"] and "'big'" in missing.json()["detail"]


def test_no_store_yet_lists_no_votes(tmp_path):
    with feed_in_thread(Workspace(tmp_path)) as url:
        listed = httpx.get(f"{url}/api/v1/participation/elections", timeout=10)
        missing = httpx.get(f"{url}/api/v1/participation/x/projects", timeout=10)
    assert listed.json() == {"city": CITY, "elections": []}
    assert missing.status_code == 404 and "urbanpulse vote open" in missing.json()["detail"]


def _participation_events(url: str, events: list[dict], connected: threading.Event) -> None:
    with httpx.stream("GET", f"{url}/api/v1/stream", timeout=30) as response:
        connected.set()
        for line in response.iter_lines():
            if line.startswith("data: "):
                change = json.loads(line[6:])
                if change.get("kind") == "participation":
                    events.append(change)
                    return


def test_a_counted_segment_sends_a_participation_change_event(feed):
    events: list[dict] = []
    connected = threading.Event()
    reader = threading.Thread(target=_participation_events, args=(feed["url"], events, connected), daemon=True)
    reader.start()
    assert connected.wait(10)
    time.sleep(0.3)  # the stream starts after the newest change
    ballots = feed["vote"].ballots.select(feed["vote"].vote_columns).head(15).with_columns(
        ("again-" + feed["vote"].ballots["voter_id"].head(15).cast(pl.String)).alias("voter_id"))
    (seq,) = feed["lander"].land(ballots)
    catch_up(VoteSettings(feed["workspace"], CITY))
    reader.join(timeout=20)
    assert events, "no participation change event arrived"
    event = events[0]
    assert (event["event"], event[pb.ELECTION_ID], event["segment"]["seq"]) == ("ballots", "big", seq)
    assert event[pb.BALLOTS] == 615 and event["segment"]["records_in"] == 15
    rows = [dict(zip(event["projects"]["columns"], row, strict=True)) for row in event["projects"]["rows"]]
    assert rows and all((r[pb.VOTES] is None) == r[pb.SUPPRESSED] for r in rows)
    assert "voter" not in json.dumps(event)  # no voter id or pseudonym on the wire
