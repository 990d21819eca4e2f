"""Fuzz: delimited text (`csv`, `nyc311`, `sf311`) with hostile fields, endings, encodings.

Every record written by Python's `csv` module must come back as exactly one raw row, whatever
its fields hold (quotes, separators, line breaks, NUL, BOMs, huge text, odd times) and however
the file is laid out (LF, CRLF or lone CR, any quoting, UTF-8 with or without a BOM, UTF-16,
cp1251, latin-1, stray undecodable bytes).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fuzzing import TIMEZONES, hostile_text, read_or_reject
from hypothesis import given
from hypothesis import strategies as st

from pipelines.sources.requests import FORMATS, SourceMapping
from schemas.requests import GUESSED_ENCODING, OPEN311_FIELDS, SERVICE_REQUEST_ID, UNREADABLE_RECORD

CSV_FORMATS = ("csv", "nyc311", "sf311")
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1251", "latin-1")
STRAY_MARK = "\x01\x02"  # replaced by bytes that are not UTF-8 once the text is encoded
STRAY_BYTES = b"\xed\xa0\x80\xff"


def header_of(fmt: str) -> list[str]:
    """The columns a file of `fmt` has: every column its mapping reads, plus one it does not."""
    mapping = FORMATS[fmt].mapping
    if fmt == "csv":
        return [*OPEN311_FIELDS, "extra"]
    names = {name for field in OPEN311_FIELDS for name in mapping.required_columns(field)}
    return sorted(names) + ["extra"]


@st.composite
def delimited_files(draw, fmt: str) -> tuple[bytes, list[str], str]:
    """(file bytes, the ids written, the encoding used)."""
    header = header_of(fmt)
    id_column = header.index(FORMATS[fmt].mapping.required_columns(SERVICE_REQUEST_ID)[0])
    rows = []
    for _ in range(draw(st.integers(0, 10))):
        row = [""] * len(header)  # a few hostile fields a row: cheaper to draw than all of them
        for column, value in draw(st.lists(st.tuples(st.integers(0, len(header) - 1), hostile_text()), max_size=5)):
            row[column] = value
        # an id holding the stray mark itself would have its characters replaced by the stray bytes
        row[id_column] = draw(st.text(min_size=1, max_size=12).filter(lambda text: STRAY_MARK not in text))
        rows.append(row)
    if rows and draw(st.integers(0, 9)) == 0:  # now and then a field far past any buffer
        rows[0][-1] = "x" * draw(st.sampled_from([70_000, 300_000, 1_200_000]))
    encoding = draw(st.sampled_from(ENCODINGS))
    stray = encoding.startswith("utf-8") and draw(st.booleans())
    if rows and stray:
        rows[0][-1] += STRAY_MARK
    out = io.StringIO()
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    if any("\r" in field or "\n" in field for row in rows for field in row):
        quoting = csv.QUOTE_ALL  # `csv` leaves a lone CR unquoted under LF endings: not one record
    writer = csv.writer(
        out, delimiter=",", lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])), quoting=quoting
    )
    writer.writerow(header)
    writer.writerows(rows)
    data = out.getvalue().encode(encoding, errors="replace")
    if stray:
        data = data.replace(STRAY_MARK.encode(), STRAY_BYTES)
    return data, [row[id_column] for row in rows], encoding


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-csv")


@pytest.mark.parametrize("fmt", CSV_FORMATS)
@given(data=st.data())
def test_every_written_record_is_one_row(workdir: Path, fmt: str, data: st.DataObject) -> None:
    content, ids, encoding = data.draw(delimited_files(fmt))
    path = workdir / f"{fmt}.csv"
    path.write_bytes(content)
    mapping = SourceMapping(timezone=data.draw(st.sampled_from(TIMEZONES))) if fmt == "csv" else None
    raw = read_or_reject(path, fmt, mapping=mapping, batch_rows=data.draw(st.sampled_from([4, 100_000])))
    assert raw is not None, "a well-formed file was rejected"
    assert raw.height == len(ids)
    assert raw[UNREADABLE_RECORD].null_count() == raw.height
    if encoding in ("utf-8", "utf-8-sig", "utf-16") and raw[GUESSED_ENCODING].null_count() == raw.height:
        assert raw[SERVICE_REQUEST_ID].to_list() == ids
    assert raw[GUESSED_ENCODING].n_unique() <= 1
