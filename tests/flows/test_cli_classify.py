"""`urbanpulse train classifier` then `urbanpulse classify`, end to end through the CLI."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from conftest import build_tiny_pack, forget_prefect_settings

from flows.cli import main
from models.cities.pack import CityPack
from schemas import requests as rq
from schemas.taxonomy import TAXONOMY_CATEGORY, TAXONOMY_DEPARTMENT
from synthetic.requests.generator import generate_requests

MODEL = "tiny-model"


@pytest.fixture(autouse=True)
def isolated_prefect_settings(monkeypatch):
    """The CLI sets Prefect's environment for its process; keep it from leaking into other tests."""
    forget_prefect_settings(monkeypatch)


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory) -> tuple[Path, CityPack]:
    """A home with the tiny city and its classifier, trained once through `urbanpulse train classifier`."""
    home = tmp_path_factory.mktemp("classify-home")
    pack = build_tiny_pack(home)
    records, truth = generate_requests(pack, 1500, seed=3)
    history = records.select(rq.DESCRIPTION, rq.REQUESTED_DATETIME).with_columns(truth[rq.CATEGORY])
    history.write_csv(home / "history.csv")
    with pytest.MonkeyPatch.context() as patch:
        forget_prefect_settings(patch)
        code = main(["--home", str(home), "train", "classifier", "--data", str(home / "history.csv"),
                     "--text", rq.DESCRIPTION, "--label", rq.CATEGORY, "--time", rq.REQUESTED_DATETIME,
                     "--city", "tiny", "--name", MODEL])
    assert code == 0
    return home, pack


def test_train_then_classify_a_parquet_file(trained_home: tuple[Path, CityPack], tmp_path: Path) -> None:
    home, tiny_pack = trained_home
    fresh, fresh_truth = generate_requests(tiny_pack, 300, seed=4)
    fresh.select(rq.SERVICE_REQUEST_ID, rq.DESCRIPTION).write_parquet(tmp_path / "new.parquet")
    out = tmp_path / "out" / "classified.parquet"
    assert main(["--home", str(home), "classify", "--model", MODEL, str(tmp_path / "new.parquet"),
                 "--text", rq.DESCRIPTION, "--out", str(out)]) == 0

    result = pl.read_parquet(out)
    assert result[rq.SERVICE_REQUEST_ID].to_list() == fresh[rq.SERVICE_REQUEST_ID].to_list()
    assert {rq.CATEGORY, rq.CATEGORY_CONFIDENCE, rq.NEEDS_REVIEW, rq.MODEL_VERSION, rq.LANGUAGE,
            rq.DEPARTMENT} <= set(result.columns)
    assert (result[rq.CATEGORY] == fresh_truth[rq.CATEGORY]).mean() > 0.9
    taxonomy = tiny_pack.taxonomy
    departments = dict(zip(taxonomy[TAXONOMY_CATEGORY], taxonomy[TAXONOMY_DEPARTMENT], strict=True))
    decided = result.filter(pl.col(rq.CATEGORY).is_not_null())
    assert decided[rq.DEPARTMENT].to_list() == [departments[c] for c in decided[rq.CATEGORY]]
    assert result.filter(pl.col(rq.CATEGORY_CONFIDENCE) < 0.5)[rq.NEEDS_REVIEW].all()


def test_classify_names_a_missing_text_column(
    trained_home: tuple[Path, CityPack], tmp_path: Path, capsys
) -> None:
    """The model loads fine; the input lacks the text column: the error names it and what there is."""
    home, _ = trained_home
    pl.DataFrame({"other": ["x"], "note": ["y"]}).write_csv(tmp_path / "in.csv")
    out = tmp_path / "o.csv"
    code = main(["--home", str(home), "classify", "--model", MODEL, str(tmp_path / "in.csv"),
                 "--text", rq.DESCRIPTION, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"column {rq.DESCRIPTION!r} is not in the input" in err
    assert "['other', 'note']" in err
    assert "no request classifier" not in err
    assert not out.exists()


def test_train_reports_selection_against_the_baseline_and_both_levels(tmp_path: Path, capsys) -> None:
    from synthetic.requests.free_text import CATEGORY, FILED, REASON, TEXT, generate_appeals

    generate_appeals(1500, seed=5).write_csv(tmp_path / "appeals.csv")
    code = main(["--home", str(tmp_path / "home"), "train", "classifier", "--data",
                 str(tmp_path / "appeals.csv"), "--text", TEXT, "--label", CATEGORY,
                 "--label2", REASON, "--time", FILED, "--name", "appeals"])
    out = capsys.readouterr().out
    assert code == 0
    selection = next(line for line in out.splitlines() if line.startswith("selection: "))
    assert ("on the same slice" in selection) or selection.startswith("selection: BELOW THE BASELINE")
    level2 = next(line for line in out.splitlines() if line.startswith("second level reason: "))
    assert "consistent with the category 100.0%" in level2
