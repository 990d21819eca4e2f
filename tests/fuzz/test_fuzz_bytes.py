"""Fuzz: random bytes and damaged files, through every source format.

Whatever a file holds, its adapter either gives raw rows (one per record it could find) or
raises `SourceFormatError`; it never raises anything else, hangs or blows up memory
(`fuzzing.read_or_reject` checks all of that). Inputs are random bytes, and good files of each
format with bytes flipped, inserted, deleted or cut off.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fuzzing import read_or_reject
from hypothesis import given
from hypothesis import strategies as st

from pipelines.sources.requests import FORMATS
from schemas.requests import OPEN311_FIELDS

RECORDS = [
    {"service_request_id": "1", "requested_datetime": "2023-02-28T23:45:00Z", "lat": "40.7",
     "long": "-74.0", "description": "Яма на дороге, \"глубокая\"", "status": "open"},
    {"service_request_id": "2", "requested_datetime": "2023-03-01 08:00:00", "description": "café"},
]
NYC_VALUES = {"Unique Key": "1", "Created Date": "02/28/2023 11:45:00 PM", "Complaint Type": "Noise",
              "Latitude": "40.7", "Longitude": "-74.0", "Status": "Open"}
NYC_COLUMNS = sorted({c for f in OPEN311_FIELDS for c in FORMATS["nyc311"].mapping.required_columns(f)})


def _parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(RECORDS), buffer, row_group_size=1)
    return buffer.getvalue()


def _xml() -> str:
    requests = "".join(
        "<request>" + "".join(f"<{k}>{v}</{k}>" for k, v in record.items()) + "</request>"
        for record in RECORDS
    )
    return f'<?xml version="1.0" encoding="utf-8"?><service_requests>{requests}</service_requests>'


SEEDS: dict[str, bytes] = {
    "csv": (b"service_request_id,requested_datetime,description\n1,2023-02-28T23:45:00Z,\"a, \"\"b\"\"\"\n"
            b"2,2023-03-01,\"two\nlines\"\n"),
    "nyc311": (",".join(NYC_COLUMNS) + "\n" + ",".join(NYC_VALUES.get(c, "") for c in NYC_COLUMNS)).encode(),
    "sf311": b"unique_key,created_date,closed_date,resolution_action_updated_date,status_notes,status,"
             b"category,complaint_type,descriptor,agency_name,incident_address,latitude,longitude\n"
             b"1,2023-02-28T23:45:00+00:00,,,,open,Streets,Pothole,Deep,DPW,1 Main St,37.7,-122.4\n",
    "open311-json": json.dumps(RECORDS, ensure_ascii=False).encode(),
    "open311-xml": _xml().encode(),
    "jsonl": "\n".join(json.dumps(record, ensure_ascii=False) for record in RECORDS).encode(),
    "parquet": _parquet_bytes(),
}
assert set(SEEDS) == set(FORMATS)

EDIT = st.tuples(st.sampled_from(["flip", "insert", "delete", "cut"]), st.integers(0, 1 << 16),
                 st.integers(0, 255))


def damaged(seed: bytes) -> st.SearchStrategy[bytes]:
    def apply(edits: list[tuple[str, int, int]]) -> bytes:
        data = bytearray(seed)
        for op, position, value in edits:
            at = position % (len(data) + 1)
            if op == "insert":
                data[at:at] = bytes([value]) * (1 + value % 4)
            elif op == "flip" and at < len(data):
                data[at] ^= 1 << (value % 8)
            elif op == "delete":
                del data[at : at + 1 + value % 8]
            elif op == "cut":
                del data[at:]
        return bytes(data)

    return st.lists(EDIT, min_size=1, max_size=6).map(apply)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-bytes")


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@given(data=st.data())
def test_any_bytes_give_rows_or_a_format_error(workdir: Path, fmt: str, data: st.DataObject) -> None:
    content = data.draw(st.one_of(st.binary(max_size=3000), damaged(SEEDS[fmt])), label="content")
    path = workdir / f"input.{fmt}"
    path.write_bytes(content)
    read_or_reject(path, fmt, batch_rows=data.draw(st.sampled_from([3, 100_000])))


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_seed_files_are_read(workdir: Path, fmt: str) -> None:
    path = workdir / f"seed.{fmt}"
    path.write_bytes(SEEDS[fmt])
    raw = read_or_reject(path, fmt)
    assert raw is not None and raw.height == (1 if fmt in ("nyc311", "sf311") else 2)
