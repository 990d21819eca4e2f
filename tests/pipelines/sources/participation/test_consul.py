"""CONSUL exports (proposals, investments, supports) read into a VoteFile the vote pipeline tallies."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from models.participation.election import election_from_pabulib
from pipelines.sources.errors import SourceFormatError
from pipelines.sources.participation.consul import plain_text, read_consul
from pipelines.transforms.participation.validate import validate_ballots
from schemas.requests import GUESSED_ENCODING, SOURCE_FILE, SOURCE_POSITION, UNREADABLE_RECORD

BALLOT_COLUMNS = [SOURCE_POSITION, "voter_id", "vote", UNREADABLE_RECORD, SOURCE_FILE, GUESSED_ENCODING]
PROPOSALS = [
    "id;title;summary;description;cached_votes_up;created_at;retired_at;retired_reason;geozone_id;geozone_name",
    '1;"Más árboles &amp; sombra";Resumen;"<p>Plantar <strong>100</strong> árboles&nbsp;en la plaza</p>";'
    "120;05/01/2023 10:30;;;1;Centro",
    "2;Carril bici;R;<p>Un carril</p><p>seguro</p>;45;2023-02-01T09:00:00;15/03/2023;duplicated;2;Arganzuela",
    '3;Biblioteca;R;"<p>Con ""wifi"";\r\nabierta</p>";7;1/3/2023;;;;',
]
INVESTMENTS = [
    "ID;Title;Price;Winner;Feasibility;Heading_name;Cached_votes_up",
    "10;Parque;300;true;feasible;Centro;2",
    "11;Fuente;100;false;feasible;Centro;1",
    "12;Pista;250;false;unfeasible;Retiro;1",
]
SUPPORTS = [
    "user_id;investment_id;created_at;geozone_name",
    "v1;11;05/01/2023 10:05;Centro",
    "v2;12;05/01/2023 09:00;Retiro",
    "v1;10;05/01/2023 10:00:00;Centro",
    "v3;10;2023-01-06T08:00:00;",
    "",
    "v3;10;2023-01-06 08:05:00 UTC;",
    ";12;06/01/2023;Retiro",
]


def write(folder: Path, name: str, lines: list[str], bom: bool = False, newline: str = "\n") -> Path:
    path = folder / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (newline.join(lines) + newline).encode("utf-8"))
    return path


def consumed(vote_file) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The ballots through the pipeline's own election typing and validation."""
    election = election_from_pabulib("e", vote_file.meta, vote_file.projects, "test")
    valid, dead = validate_ballots(vote_file.ballots, election, "consul", datetime(2024, 1, 1, tzinfo=UTC))
    assert valid.height + dead.height == vote_file.ballots.height
    return valid, dead


def test_a_proposals_export_gives_projects_their_supports_and_no_ballots(tmp_path: Path) -> None:
    path = write(tmp_path, "proposals.csv", PROPOSALS, bom=True, newline="\r\n")
    parsed = read_consul([path])
    projects = parsed.projects
    assert projects["project_id"].to_list() == ["1", "2", "3"]
    assert projects["name"].to_list() == ["Más árboles & sombra", "Carril bici", "Biblioteca"]
    assert projects["description"].to_list() == ["Plantar 100 árboles en la plaza", "Un carril seguro",
                                                 'Con "wifi"; abierta']
    assert projects["cost"].to_list() == ["1", "1", "1"]
    assert projects["votes"].to_list() == ["120", "45", "7"]
    assert projects["retired"].to_list() == ["0", "1", "0"]
    assert projects["retired_at"].to_list() == [None, "2023-03-15T00:00:00", None]
    assert projects["created_at"].to_list() == ["2023-01-05T10:30:00", "2023-02-01T09:00:00", "2023-03-01T00:00:00"]
    assert projects["district"].to_list() == ["Centro", "Arganzuela", None]
    assert parsed.ballots.columns == BALLOT_COLUMNS and parsed.ballots.height == 0
    assert parsed.ballots.schema[SOURCE_POSITION] == pl.Int64
    assert parsed.meta["vote_type"] == "approval" and parsed.meta["budget"] == "3"
    assert "each costs 1" in parsed.meta["comment"] and "no ballots" in parsed.meta["comment"]
    assert "retired" in parsed.meta["comment"]
    election = election_from_pabulib("p", parsed.meta, projects, str(path))
    assert election.budget == 3 and election.projects["votes_source"].to_list() == [120, 45, 7]
    assert consumed(parsed)[0].height == 0


def test_supports_become_one_ballot_per_voter_in_time_order(tmp_path: Path) -> None:
    supports = write(tmp_path, "supports.csv", SUPPORTS, newline="\r\n")
    investments = write(tmp_path, "investments.csv", INVESTMENTS)
    parsed = read_consul([supports, investments], meta_overrides={"Budget": "500"})
    assert parsed.path == investments
    assert parsed.projects["cost"].to_list() == ["300", "100", "250"]
    assert parsed.projects["selected"].to_list() == ["1", "0", "0"]
    assert parsed.projects["feasibility"].to_list() == ["feasible", "feasible", "unfeasible"]
    assert parsed.projects["district"].to_list() == ["Centro", "Centro", "Retiro"]
    assert parsed.meta["budget"] == "500" and "sum of all prices" not in parsed.meta.get("comment", "")
    assert (parsed.meta["date_begin"], parsed.meta["date_end"]) == ("2023-01-05", "2023-01-06")
    ballots = parsed.ballots
    assert ballots.select(SOURCE_POSITION, "voter_id", "vote", "neighborhood").rows() == [
        (0, "v1", "10,11", "Centro"), (1, "v2", "12", "Retiro"), (3, "v3", "10,10", None), (6, None, "12", "Retiro"),
    ]
    assert ballots[SOURCE_FILE].unique().to_list() == [str(supports)]
    assert ballots[UNREADABLE_RECORD].null_count() == ballots.height
    valid, dead = consumed(parsed)
    assert valid["voter_id"].to_list() == ["v1", "v2"]
    assert valid["choices"].to_list() == [["10", "11"], ["12"]]
    assert sorted(dead["reason"].to_list()) == ["duplicate_choice", "missing_voter_id"]


def test_without_a_budget_the_prices_add_up_to_it(tmp_path: Path) -> None:
    parsed = read_consul([write(tmp_path, "investments.csv", INVESTMENTS)])
    assert parsed.meta["budget"] == "650"
    assert "sum of all prices" in parsed.meta["comment"]
    assert election_from_pabulib("i", parsed.meta, parsed.projects, "test").budget == 650


def test_unrecognised_columns_say_which_are_needed(tmp_path: Path) -> None:
    path = write(tmp_path, "other.csv", ["code;label;amount", "1;a;2"])
    with pytest.raises(SourceFormatError, match=r"code, label, amount.*needs id .*title"):
        read_consul([path])


def test_two_projects_files_or_none_are_refused(tmp_path: Path) -> None:
    investments = write(tmp_path, "investments.csv", INVESTMENTS)
    supports = write(tmp_path, "supports.csv", SUPPORTS)
    with pytest.raises(SourceFormatError, match="at most one supports"):
        read_consul([investments, investments])
    with pytest.raises(SourceFormatError, match="supports.csv \\(supports\\)"):
        read_consul([supports])


@pytest.mark.parametrize("line", ["4;Plaza;R;D;3;01/01/2023;;;;;extra", '4;"Plaza;R;D;3;01/01/2023;;;;'])
def test_a_broken_proposal_names_its_line(tmp_path: Path, line: str) -> None:
    path = write(tmp_path, "proposals.csv", [*PROPOSALS, line])
    with pytest.raises(SourceFormatError, match="proposals.csv line 6"):
        read_consul([path])


@pytest.mark.parametrize("quoted", [False, True])
def test_a_malformed_support_is_an_unreadable_row_and_the_rest_is_read(tmp_path: Path, quoted: bool) -> None:
    rows = [["v1", "10", "05/01/2023"], ["v2", "11", "05/01/2023", "x"], ["v2", "12", "06/01/2023"]]
    lines = [";".join(f'"{f}"' if quoted else f for f in row) for row in rows]
    if quoted:
        lines.insert(2, 'v4;"10;05/01/2023')
    supports = write(tmp_path, "supports.csv", ["voter_id;investment_id;created_at", *lines])
    parsed = read_consul([write(tmp_path, "investments.csv", INVESTMENTS), supports])
    ballots = parsed.ballots
    readable = ballots.filter(pl.col(UNREADABLE_RECORD).is_null())
    assert readable.select("voter_id", "vote").rows() == [("v1", "10"), ("v2", "12")]
    assert ballots.filter(pl.col(UNREADABLE_RECORD).is_not_null())[UNREADABLE_RECORD].to_list() == lines[1:-1]
    valid, dead = consumed(parsed)
    assert valid.height == 2 and set(dead["reason"]) == {"unreadable_line"}


def test_plain_text_drops_markup_and_keeps_words() -> None:
    assert plain_text("<h2>Título</h2><ul><li>uno</li><li>dos&amp;tres</li></ul><script>x()</script>") == \
        "Título uno dos&tres"
    assert plain_text("<p>&nbsp;</p>") is None and plain_text(None) is None
