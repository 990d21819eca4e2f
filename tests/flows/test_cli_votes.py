"""`urbanpulse ingest votes` and `generate votes` as a user types them: outputs and clear errors."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from flows.cli import main
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import participation as pb


@pytest.mark.parametrize("flow", [["--no-prefect"], []], ids=["no-prefect", "prefect-flow"])
def test_a_file_that_is_not_pabulib_gives_one_clear_line(tmp_path: Path, capsys, flow) -> None:
    path = tmp_path / "votes.csv"
    path.write_text("voter_id,vote\n1,2\n", encoding="utf-8")
    code = main(["--home", str(tmp_path), "ingest", "votes", str(path), "--city", "tiny", *flow])
    err = capsys.readouterr().err
    assert code == 2
    assert "is not a Pabulib .pb file" in err and "--format csv" in err and "Traceback" not in err
    assert "while running" not in err and err.count("\n") == 1  # what is wrong, not the pipeline step or flow


def test_missing_file_and_unknown_project_cost(tmp_path: Path, capsys) -> None:
    assert main(["--home", str(tmp_path), "ingest", "votes", str(tmp_path / "nope.pb"), "--no-prefect"]) == 2
    assert "vote files not found" in capsys.readouterr().err
    path = tmp_path / "no-cost.pb"
    path.write_text("META\nkey;value\nbudget;10\nPROJECTS\nproject_id;cost\np1;\nVOTES\nvoter_id;vote\n1;p1\n",
                    encoding="utf-8")
    assert main(["--home", str(tmp_path), "ingest", "votes", str(path), "--city", "x", "--no-prefect"]) == 2
    assert "has no positive cost" in capsys.readouterr().err


def test_generate_then_ingest_a_survey(tmp_path: Path, capsys, tiny_pack) -> None:
    from synthetic.demo_city import build_demo_city

    build_demo_city(Workspace(tmp_path).city("demo"))
    out = tmp_path / "poll.csv"
    assert main(["--home", str(tmp_path), "generate", "votes", "--kind", "survey", "--ballots", "400",
                 "--out", str(out)]) == 0
    assert main(["--home", str(tmp_path), "ingest", "votes", str(out), "--format", "csv", "--city", "demo",
                 "--no-prefect"]) == 0
    printed = capsys.readouterr().out
    assert "survey 'poll'" in printed and "accounting ok: True" in printed
    results = pl.read_parquet(Workspace(tmp_path).city_dataset(ds.SURVEY_RESULTS, "demo") / "**" / "*.parquet")
    assert results.filter(pl.col(pb.SUPPRESSED).not_())["share"].is_between(0, 1).all()
