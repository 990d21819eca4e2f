"""Fuzz: Parquet files whose columns have any scalar type and extreme values.

Each table row is one raw row: text as written, numbers and bytes as text, timestamps and dates
far outside years 1-9999 (any unit, with or without a zone), NaN and infinities, nulls.
Only a mapped column of a nested type (list, struct) may make the adapter refuse the file.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fuzzing import TIMEZONES, hostile_text, read_or_reject
from hypothesis import given
from hypothesis import strategies as st

from pipelines.sources.requests import SourceMapping
from schemas.requests import OPEN311_FIELDS, SERVICE_REQUEST_ID, UNREADABLE_RECORD

INT64 = st.integers(-(2**63), 2**63 - 1)
EXTREME_INT64 = st.one_of(INT64, st.sampled_from([-(2**63), 2**63 - 1, 0, 253402300799, -62135596800]))


def _ticks(unit: str) -> st.SearchStrategy[int]:
    """Any int64 count of `unit`s; seconds stay where Parquet's milliseconds can hold them
    (pyarrow writes seconds as milliseconds)."""
    return EXTREME_INT64.map(lambda v: -(-v // 1000) if v < 0 else v // 1000) if unit == "s" else EXTREME_INT64


def _values(kind: str, n: int) -> st.SearchStrategy[pa.Array]:
    """A strategy for an array of `n` values of one arrow type."""
    def of(values: st.SearchStrategy, arrow_type: pa.DataType) -> st.SearchStrategy[pa.Array]:
        return st.lists(st.one_of(st.none(), values), min_size=n, max_size=n).map(
            lambda items: pa.array(items, type=arrow_type)
        )

    unit = st.sampled_from(["s", "ms", "us", "ns"])
    return {
        "string": of(hostile_text(), pa.string()),
        "large_string": of(hostile_text(), pa.large_string()),
        "int": of(INT64, pa.int64()),
        "uint": of(st.integers(0, 2**64 - 1), pa.uint64()),
        "float": of(st.floats(), pa.float64()),
        "bool": of(st.booleans(), pa.bool_()),
        "date": of(st.integers(-(2**31), 2**31 - 1), pa.int32()).map(lambda a: a.cast(pa.date32())),
        "timestamp": st.tuples(unit, st.sampled_from([None, *TIMEZONES])).flatmap(
            lambda ut: of(_ticks(ut[0]), pa.int64()).map(lambda a: a.cast(pa.timestamp(*ut)))
        ),
        "binary": of(st.binary(max_size=12), pa.binary()),
        "dictionary": of(hostile_text(), pa.string()).map(lambda a: a.dictionary_encode()),
        "null": st.just(pa.nulls(n)),
        "list": of(st.lists(st.text(max_size=3), max_size=3), pa.list_(pa.string())),
    }[kind]


KINDS = ("string", "large_string", "int", "uint", "float", "bool", "date", "timestamp", "binary",
         "dictionary", "null", "list")


@st.composite
def tables(draw) -> tuple[pa.Table, bool]:
    """(table, has a nested column that a mapping reads)."""
    n = draw(st.integers(0, 12))
    names = draw(st.lists(st.sampled_from([*OPEN311_FIELDS, "source", "extra"]), unique=True, max_size=8))
    columns = {SERVICE_REQUEST_ID: pa.array([f"id-{i}" for i in range(n)])}
    for name in names:
        if name != SERVICE_REQUEST_ID:
            columns[name] = draw(_values(draw(st.sampled_from(KINDS)), n))
    nested = any(pa.types.is_list(array.type) for name, array in columns.items() if name != "extra")
    return pa.table(columns), nested


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-parquet")


@given(data=st.data())
def test_every_table_row_is_one_row(workdir: Path, data: st.DataObject) -> None:
    table, nested = data.draw(tables())
    path = workdir / "requests.parquet"
    pq.write_table(table, path, row_group_size=data.draw(st.integers(1, 5)))
    mapping = SourceMapping(timezone=data.draw(st.sampled_from(TIMEZONES)))
    raw = read_or_reject(path, "parquet", mapping=mapping, batch_rows=data.draw(st.sampled_from([3, 100_000])))
    if raw is None:
        assert nested, "only a mapped nested column may make the adapter refuse a Parquet file"
        return
    assert raw.height == table.num_rows
    assert raw[UNREADABLE_RECORD].null_count() == raw.height
    assert raw[SERVICE_REQUEST_ID].to_list() == table.column(SERVICE_REQUEST_ID).to_pylist()
