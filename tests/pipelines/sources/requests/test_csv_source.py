"""Generic CSV: our own vocabulary, mapped exports, and the awkward corners of real files."""

from __future__ import annotations

import codecs
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from raw_reading import read_raw

from pipelines.sources.requests import (
    SourceFormatError,
    SourceMapping,
    load_mapping,
    read_raw_batches,
)
from schemas.requests import (
    ADDRESS,
    CLOSED_DATETIME,
    DESCRIPTION,
    GUESSED_ENCODING,
    LAT,
    LONG,
    OPEN311_FIELDS,
    REQUESTED_DATETIME,
    SERVICE_NAME,
    SERVICE_REQUEST_ID,
    SOURCE,
    SOURCE_FILE,
    SOURCE_POSITION,
    STATUS,
    UNREADABLE_RECORD,
)

TEXT = pl.String


def write(path: Path, text: str, *, bom: bool = False, newline: str = "\n") -> Path:
    data = text.replace("\n", newline).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def test_own_vocabulary_without_mapping(tmp_path: Path) -> None:
    path = write(
        tmp_path / "city_requests.csv",
        "service_request_id,requested_datetime,lat,long,extra\n"
        "a1,2023-02-28T23:45:00Z,40.7,-74.0,x\n"
        "a2,2023-02-28T23:57:23.970000Z,0.0,0.0,y\n"
        "a3,,,,z\n",
    )
    raw = read_raw(path, "csv")
    expected = pl.DataFrame(
        {
            SERVICE_REQUEST_ID: ["a1", "a2", "a3"],
            REQUESTED_DATETIME: [
                "2023-02-28T23:45:00Z",
                "2023-02-28T23:57:23.970000Z",
                None,
            ],
            LAT: ["40.7", "0.0", None],
            LONG: ["-74.0", "0.0", None],
            SOURCE: ["city_requests"] * 3,  # no name given: the file's stem
            SOURCE_FILE: [str(path)] * 3,
            SOURCE_POSITION: [0, 1, 2],
        },
        schema_overrides={SOURCE_POSITION: pl.Int64},
    )
    assert_frame_equal(raw.select(expected.columns), expected)
    missing = [f for f in OPEN311_FIELDS if f not in expected.columns]
    assert raw.select(missing).null_count().row(0) == (3,) * len(missing)


def test_mapping_file_with_custom_timestamps(tmp_path: Path) -> None:
    mapping = write(
        tmp_path / "berlin.toml",
        'source = "berlin"\n'
        'separator = ";"\n'
        "[columns]\n"
        'service_request_id = "Vorgang"\n'
        'requested_datetime = "Gemeldet"\n'
        'closed_datetime = "Erledigt"\n'
        'description = "Text"\n'
        'lat = "Breite"\n'
        'long = "Länge"\n'
        "[timestamps]\n"
        'format = "%d.%m.%Y %H:%M"\n'
        'timezone = "Europe/Berlin"\n',
    )
    path = write(
        tmp_path / "maengel.csv",
        "Vorgang;Gemeldet;Erledigt;Text;Breite;Länge\n"
        "17;28.02.2023 23:45;01.03.2023 08:00;Schlagloch;52.52;13.40\n"
        "18;30.07.2023 12:00;kein Datum;Müll, viel;;\n"
        "19;26.03.2023 02:30;;Sommerzeit-Lücke;0;0\n",
    )
    raw = read_raw(path, "csv", mapping=load_mapping(mapping))
    expected = pl.DataFrame(
        {
            SERVICE_REQUEST_ID: ["17", "18", "19"],
            DESCRIPTION: ["Schlagloch", "Müll, viel", "Sommerzeit-Lücke"],
            # CET is UTC+1 in February, CEST UTC+2 in July
            REQUESTED_DATETIME: [
                "2023-02-28T22:45:00Z",
                "2023-07-30T10:00:00Z",
                "26.03.2023 02:30",  # does not exist in Berlin (clocks jump 02:00 -> 03:00)
            ],
            CLOSED_DATETIME: ["2023-03-01T07:00:00Z", "kein Datum", None],  # kept verbatim
            LAT: ["52.52", None, "0"],
            LONG: ["13.40", None, "0"],
            SOURCE: ["berlin"] * 3,
        }
    )
    assert_frame_equal(raw.select(expected.columns), expected)


def test_multiline_quoted_fields_bom_and_crlf(tmp_path: Path) -> None:
    path = write(
        tmp_path / "requests.csv",
        "service_request_id,description,address\n"
        '1,"Line one\nline two, with ""quotes""",1 Main St\n'
        '2,"",""\n'
        "3,plain,2 Side St\n",
        bom=True,
        newline="\r\n",
    )
    raw = read_raw(path, "csv")
    assert raw[SERVICE_REQUEST_ID].to_list() == ["1", "2", "3"]  # BOM not in the name
    assert raw[DESCRIPTION].to_list() == ['Line one\r\nline two, with "quotes"', None, "plain"]
    assert raw[ADDRESS].to_list() == ["1 Main St", None, "2 Side St"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_line_ending_gives_every_record(tmp_path: Path, newline: str) -> None:
    """Regression (integrity probe at f906a3d): a CR-only file gave 0 records and exit 0."""
    path = write(
        tmp_path / "requests.csv",
        "service_request_id,description,address\n"
        '1,"Line one\nline two",1 Main St\n'
        "2,,\n"
        "3,plain,2 Side St\n",
        bom=True,
        newline=newline,
    )
    raw = read_raw(path, "csv")
    assert raw[SERVICE_REQUEST_ID].to_list() == ["1", "2", "3"]
    assert raw[DESCRIPTION].to_list() == [f"Line one{newline}line two", None, "plain"]
    assert raw[ADDRESS].to_list() == ["1 Main St", None, "2 Side St"]


def test_record_with_too_many_fields_is_kept_as_unreadable(tmp_path: Path) -> None:
    path = write(
        tmp_path / "requests.csv",
        "service_request_id,status,description\n"
        "1,open,fine\n"
        '2,open,"two\nlines"\n'
        "3,open,oops,stray field\n"
        "4,closed\n"
        "\n"
        "5,open,last\n",
    )
    raw = read_raw(path, "csv", batch_rows=2)
    assert raw[SERVICE_REQUEST_ID].to_list() == ["1", "2", None, "4", "5"]
    assert raw[STATUS].to_list() == ["open", "open", None, "closed", "open"]
    assert raw[DESCRIPTION].to_list() == ["fine", "two\nlines", None, None, "last"]
    assert raw[UNREADABLE_RECORD].to_list() == [None, None, "3,open,oops,stray field", None, None]


def test_fallback_resumes_after_the_records_polars_delivered(tmp_path: Path) -> None:
    """A bad record late in a big file: earlier batches already went out, none is repeated."""
    count = 20_000
    lines = [f"{i},open" for i in range(count)]
    lines[count - 10] = "x,open,extra"
    path = write(tmp_path / "big.csv", "service_request_id,status\n" + "\n".join(lines) + "\n")
    raw = read_raw(path, "csv", batch_rows=1_000)
    expected = [str(i) for i in range(count)]
    expected[count - 10] = None
    assert raw[SERVICE_REQUEST_ID].to_list() == expected
    assert raw[UNREADABLE_RECORD].drop_nulls().to_list() == ["x,open,extra"]


@pytest.mark.parametrize("batch_rows", [1, 7, 1_000])
def test_batches_cover_every_record_once(tmp_path: Path, batch_rows: int) -> None:
    ids = [str(i) for i in range(25)]
    path = tmp_path / "requests.csv"
    pl.DataFrame({SERVICE_REQUEST_ID: ids, SERVICE_NAME: ["x"] * 25}).write_csv(path)
    raw = read_raw(path, "csv", batch_rows=batch_rows, source="ours")
    assert raw[SERVICE_REQUEST_ID].to_list() == ids
    assert raw[SOURCE].unique().to_list() == ["ours"]


def test_per_row_source_of_our_own_exports(tmp_path: Path) -> None:
    path = write(tmp_path / "mixed.csv", "service_request_id,source\n1,nyc311\n2,\n")
    assert read_raw(path, "csv")[SOURCE].to_list() == ["nyc311", "mixed"]
    assert read_raw(path, "csv", source="replay")[SOURCE].to_list() == ["replay", "replay"]


def test_missing_mapped_column_names_it_and_the_columns(tmp_path: Path) -> None:
    mapping = write(tmp_path / "m.toml", '[columns]\ndescription = "text"\n')
    path = write(tmp_path / "requests.csv", "id,body\n1,hello\n")
    with pytest.raises(
        SourceFormatError, match=r"no column 'text'.*'description'.*\['body', 'id'\]"
    ):
        list(read_raw_batches(path, "csv", mapping=load_mapping(mapping)))


def test_file_without_any_open311_column_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "requests.csv", "Unique Key,Created Date\n1,02/28/2023 11:45:00 PM\n")
    with pytest.raises(SourceFormatError, match=r"no column that maps to an Open311 field"):
        list(read_raw_batches(path, "csv"))


@pytest.mark.parametrize("content", ["", "service_request_id,status\n"])
def test_files_without_records_give_no_batches(tmp_path: Path, content: str) -> None:
    path = write(tmp_path / "requests.csv", content)
    assert list(read_raw_batches(path, "csv")) == []


def test_invalid_utf8_keeps_the_record(tmp_path: Path) -> None:
    """A byte that is not UTF-8 no longer becomes U+FFFD: the file's encoding is guessed."""
    path = tmp_path / "requests.csv"
    path.write_bytes(b"service_request_id,description\n1,caf\xe9\n")
    raw = read_raw(path, "csv")
    assert raw[DESCRIPTION].to_list() == ["café"]
    assert raw[GUESSED_ENCODING].null_count() == 0


def test_mojibake_is_passed_through(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "service_request_id,description\n1,Transportationâs site\n")
    assert read_raw(path, "csv")[DESCRIPTION].to_list() == ["Transportationâs site"]


def test_column_types_are_all_text(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "service_request_id,lat\n00123,40.70\n")
    raw = read_raw(path, "csv")
    assert raw.select(SERVICE_REQUEST_ID, LAT).rows() == [("00123", "40.70")]
    assert raw.schema[LAT] == TEXT


RUSSIAN = "service_request_id,description,address\n" + "".join(
    f"{i},Не работает фонарь у подъезда {i},ул. Ленина, д. {i}\n" for i in range(30)
)


def test_cp1251_export_is_decoded_by_guess_and_flagged(tmp_path: Path) -> None:
    """Regression (parsing probe): a cp1251 export came through as U+FFFD everywhere."""
    path = tmp_path / "moscow.csv"
    path.write_bytes(RUSSIAN.replace(",ул. Ленина, д.", ",ул. Ленина д.").encode("cp1251"))
    raw = read_raw(path, "csv", batch_rows=7)
    assert raw[DESCRIPTION].to_list() == [f"Не работает фонарь у подъезда {i}" for i in range(30)]
    guessed = raw[GUESSED_ENCODING].unique().to_list()
    assert len(guessed) == 1 and codecs.lookup(guessed[0]).name == "cp1251"


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_latin1_export_with_any_line_ending(tmp_path: Path, newline: str) -> None:
    text = "service_request_id,description\n" + "".join(f"{i},Müll vor dem Haus, Straße {i}é\n" for i in range(20))
    path = tmp_path / "berlin.csv"
    path.write_bytes(text.replace(", Straße", " Straße").replace("\n", newline).encode("latin-1"))
    raw = read_raw(path, "csv")
    assert raw[DESCRIPTION].to_list() == [f"Müll vor dem Haus Straße {i}é" for i in range(20)]
    assert raw[GUESSED_ENCODING].null_count() == 0


def test_named_encoding_is_used_and_not_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "moscow.csv"
    path.write_bytes("service_request_id,description\n1,Яма\n".encode("cp1251"))
    raw = read_raw(path, "csv", mapping=SourceMapping(encoding="cp1251"))
    assert raw[DESCRIPTION].to_list() == ["Яма"]
    assert raw[GUESSED_ENCODING].to_list() == [None]


def test_utf16_export_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("service_request_id,description\r\n1,Яма\r\n2,café\r\n".encode("utf-16"))
    raw = read_raw(path, "csv")
    assert raw[DESCRIPTION].to_list() == ["Яма", "café"]
    assert raw[GUESSED_ENCODING].null_count() == 2  # the mark says so: not a guess


def test_utf8_file_with_a_few_stray_bytes_stays_utf8(tmp_path: Path) -> None:
    text = "service_request_id,description\n" + "".join(f"{i},Müll, bitte räumen\n" for i in range(10))
    path = tmp_path / "mixed.csv"
    path.write_bytes(text.replace("Müll, ", "Müll ").encode() + b"10,caf\xe9\n")
    raw = read_raw(path, "csv")
    assert raw[DESCRIPTION].to_list() == ["Müll bitte räumen"] * 10 + ["caf\ufffd"]
    assert raw[GUESSED_ENCODING].null_count() == 11


@pytest.mark.parametrize("separator", [";;", "\n", '"', "§"])
def test_separator_that_cannot_separate_is_refused(separator: str) -> None:
    with pytest.raises(SourceFormatError, match=r"separator .* cannot separate CSV fields"):
        SourceMapping(separator=separator)
