"""`urbanpulse train classifier` then `urbanpulse classify`, end to end through the CLI."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from flows.cli import main
from models.cities.pack import CityPack
from schemas import requests as rq
from schemas.taxonomy import TAXONOMY_CATEGORY, TAXONOMY_DEPARTMENT
from synthetic.requests.generator import generate_requests


def test_train_then_classify_a_parquet_file(tiny_pack: CityPack, tmp_path: Path) -> None:
    home = tmp_path  # tiny_pack lives in tmp_path / "cities" / "tiny"
    records, truth = generate_requests(tiny_pack, 1500, seed=3)
    history = records.select(rq.DESCRIPTION, rq.REQUESTED_DATETIME).with_columns(truth[rq.CATEGORY])
    history.write_csv(tmp_path / "history.csv")
    assert main(["--home", str(home), "train", "classifier", "--data", str(tmp_path / "history.csv"),
                 "--text", rq.DESCRIPTION, "--label", rq.CATEGORY, "--time", rq.REQUESTED_DATETIME,
                 "--city", "tiny", "--name", "tiny-model"]) == 0

    fresh, fresh_truth = generate_requests(tiny_pack, 300, seed=4)
    fresh.select(rq.SERVICE_REQUEST_ID, rq.DESCRIPTION).write_parquet(tmp_path / "new.parquet")
    out = tmp_path / "out" / "classified.parquet"
    assert main(["--home", str(home), "classify", "--model", "tiny-model", str(tmp_path / "new.parquet"),
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


def test_classify_names_a_missing_text_column(tiny_pack: CityPack, tmp_path: Path, capsys) -> None:
    pl.DataFrame({"other": ["x"]}).write_csv(tmp_path / "in.csv")
    code = main(["--home", str(tmp_path), "classify", "--model", "nope", str(tmp_path / "in.csv"),
                 "--text", rq.DESCRIPTION, "--out", str(tmp_path / "o.csv")])
    assert code == 2
    assert "no request classifier" in capsys.readouterr().err
