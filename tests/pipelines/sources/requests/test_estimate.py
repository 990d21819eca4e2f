"""Record-count estimates for the progress of a file being read."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.sources.requests.estimate import SAMPLE_BYTES, estimated_records
from schemas import requests as rq


def test_a_whole_small_file_is_counted(tmp_path: Path) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text(f"{rq.SERVICE_REQUEST_ID},{rq.REQUESTED_DATETIME}\n1,a\n2,b\n3,c")  # no final newline
    assert estimated_records(csv, "csv") == 3
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"a": 1}\n{"a": 2}\n')
    assert estimated_records(jsonl, "jsonl") == 2
    assert estimated_records(tmp_path / "missing.csv", "csv") is None


def test_a_large_line_file_is_estimated_from_its_first_megabyte(tmp_path: Path) -> None:
    rows = 200_000
    path = tmp_path / "big.csv"
    path.write_text("id,text\n" + "".join(f"{i},{'x' * (i % 20)}\n" for i in range(rows)))
    assert path.stat().st_size > SAMPLE_BYTES
    assert abs(estimated_records(path, "csv") - rows) < rows * 0.1


def test_parquet_says_exactly_and_documents_count_their_records(tmp_path: Path) -> None:
    parquet = tmp_path / "x.parquet"
    pl.DataFrame({rq.SERVICE_REQUEST_ID: [str(i) for i in range(1234)]}).write_parquet(parquet)
    assert estimated_records(parquet, "parquet") == 1234
    document = tmp_path / "x.json"
    document.write_text("[" + ",".join(f'{{"{rq.SERVICE_REQUEST_ID}": "{i}"}}' for i in range(50)) + "]")
    assert estimated_records(document, "open311-json") == 50
    one_line = tmp_path / "one.json"
    one_line.write_text('[{"id": "1"}]' + " " * (SAMPLE_BYTES + 10))
    assert estimated_records(one_line, "open311-json") is None
