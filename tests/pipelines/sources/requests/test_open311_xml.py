"""Open311 GeoReport v2 XML: the real SF311 answer (SOAP namespaces, xsi:nil, naive times)."""

from __future__ import annotations

from pathlib import Path

import defusedxml.ElementTree as SafeET
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from raw_reading import read_raw, sample_file

from pipelines.sources.requests import SourceFormatError, SourceMapping, read_raw_batches
from schemas.requests import (
    ADDRESS,
    AGENCY_RESPONSIBLE,
    CLOSED_DATETIME,
    DESCRIPTION,
    EXPECTED_DATETIME,
    LAT,
    LONG,
    OPEN311_FIELDS,
    REQUESTED_DATETIME,
    SERVICE_CODE,
    SERVICE_NAME,
    SERVICE_REQUEST_ID,
    STATUS,
    STATUS_NOTES,
    UNREADABLE_RECORD,
    UPDATED_DATETIME,
)

SAN_FRANCISCO = SourceMapping(timezone="America/Los_Angeles")


@pytest.fixture(scope="module")
def sample() -> Path:
    return sample_file("open311", "san_francisco_requests.xml")


@pytest.fixture(scope="module")
def request_ids(sample: Path) -> list[str | None]:
    """Counted independently: every <request> element and its <service_request_id>."""
    root = SafeET.parse(sample).getroot()
    return [r.findtext("service_request_id") for r in root.iter("request")]


@pytest.fixture
def raw(sample: Path) -> pl.DataFrame:
    return read_raw(sample, "open311-xml", mapping=SAN_FRANCISCO, batch_rows=20)


def test_one_row_per_request(raw: pl.DataFrame, request_ids: list[str | None]) -> None:
    assert raw.height == len(request_ids) == 56
    assert raw[SERVICE_REQUEST_ID].to_list() == request_ids


def test_first_rows_known_values(raw: pl.DataFrame) -> None:
    expected = pl.DataFrame(
        {
            SERVICE_REQUEST_ID: ["1129806", "1129792"],
            STATUS: ["Open", "Open"],
            STATUS_NOTES: [None, None],  # <status_notes/>
            SERVICE_CODE: ["280", "015"],
            SERVICE_NAME: ["RCS - SFMTA - G", "Illegal_Dumping"],
            DESCRIPTION: [None, None],  # <description/>
            AGENCY_RESPONSIBLE: [None, None],
            # 2012-05-22 23:57:23.97 Pacific Daylight Time
            REQUESTED_DATETIME: ["2012-05-23T06:57:23.970000Z", "2012-05-23T05:43:22.440000Z"],
            UPDATED_DATETIME: [None, None],  # xsi:nil="true"
            EXPECTED_DATETIME: ["2012-05-31T15:30:00Z", None],
            CLOSED_DATETIME: [None, None],
            ADDRESS: ["     SAN FRANCISCO , CA ", "INTERSECTION  of  FALMOUTH ST  and  FOLSOM ST"],
            LAT: ["0.0", "37.77944"],
            LONG: ["0.0", "-122.404434"],
        },
        schema=dict.fromkeys(OPEN311_FIELDS, pl.String),
    )
    picked = raw.filter(pl.col(SERVICE_REQUEST_ID).is_in(["1129806", "1129792"]))
    assert_frame_equal(picked.select(OPEN311_FIELDS), expected)


def test_nil_updated_datetime_is_null(raw: pl.DataFrame, sample: Path) -> None:
    nil = sample.read_text(encoding="utf-8").count('<updated_datetime xsi:nil="true"')
    assert raw[UPDATED_DATETIME].null_count() == nil == 52


def test_timezone_defaults_to_utc(sample: Path) -> None:
    raw = read_raw(sample, "open311-xml")
    assert raw[REQUESTED_DATETIME][0] == "2012-05-22T23:57:23.970000Z"


def test_namespaced_soap_answer(tmp_path: Path) -> None:
    path = tmp_path / "requests.xml"
    path.write_text(
        '<?xml version="1.0"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        '<soapenv:Body><m:service_requests xmlns:m="http://example.org/311">'
        "<m:request><m:service_request_id>7</m:service_request_id>"
        "<m:requested_datetime>2012-05-22T10:00:00-07:00</m:requested_datetime>"
        "<m:lat>  </m:lat></m:request>"
        "</m:service_requests></soapenv:Body></soapenv:Envelope>"
    )
    raw = read_raw(path, "open311-xml")
    assert raw[SERVICE_REQUEST_ID].to_list() == ["7"]
    assert raw[REQUESTED_DATETIME].to_list() == ["2012-05-22T17:00:00Z"]
    assert raw[LAT].to_list() == [None]


def test_error_envelope_raises_with_the_servers_message(tmp_path: Path) -> None:
    path = tmp_path / "requests.xml"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><errors><error><code>403</code>'
        "<description>Invalid api_key received -- can't proceed</description></error></errors>"
    )
    with pytest.raises(SourceFormatError, match=r"403: Invalid api_key received"):
        list(read_raw_batches(path, "open311-xml"))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("<service_requests><request><status>open</request>", r"not well-formed XML \(line 1"),
        ("<services><service/></services>", r"no <service_requests> element"),
    ],
)
def test_unreadable_documents_raise(tmp_path: Path, document: str, message: str) -> None:
    path = tmp_path / "requests.xml"
    path.write_text(document)
    with pytest.raises(SourceFormatError, match=message):
        list(read_raw_batches(path, "open311-xml"))


REQUEST = "<request><service_request_id>{}</service_request_id></request>"


@pytest.mark.parametrize(
    "layout",
    [
        "<service_requests><requests>{}</requests></service_requests>",
        "<root><service_requests>{}</service_requests></root>",
        "<root><service_requests><page>{}</page></service_requests></root>",
    ],
)
def test_requests_one_level_deeper_are_read(tmp_path: Path, layout: str) -> None:
    """Regression (parsing probe): `<service_requests><requests><request>` gave 0 records and
    no error."""
    path = tmp_path / "requests.xml"
    path.write_text(layout.format(REQUEST.format(1) + REQUEST.format(2)))
    assert read_raw(path, "open311-xml")[SERVICE_REQUEST_ID].to_list() == ["1", "2"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (f"<root>{REQUEST.format(1)}</root>", r"<request> elements in <root> but none inside <service_requests>"),
        (REQUEST.format(1), r"<request> elements in the top level"),
        (
            "<service_requests><service_request><service_request_id>1</service_request_id>"
            + "</service_request></service_requests>",
            r"<service_requests> holds <service_request> elements",
        ),
    ],
)
def test_records_outside_the_expected_structure_raise_naming_it(
    tmp_path: Path, document: str, message: str
) -> None:
    path = tmp_path / "requests.xml"
    path.write_text(document)
    with pytest.raises(SourceFormatError, match=message) as raised:
        list(read_raw_batches(path, "open311-xml"))
    assert "<service_requests><request>...</request>...</service_requests>" in str(raised.value)


def test_empty_answers_are_zero_requests(tmp_path: Path) -> None:
    path = tmp_path / "requests.xml"
    path.write_text("<service_requests><requests/></service_requests>")
    assert list(read_raw_batches(path, "open311-xml")) == []


def test_request_nested_too_deep_is_an_unreadable_row(tmp_path: Path) -> None:
    deep = "<media>" + "<a>" * 200 + "</a>" * 200 + "</media>"
    path = tmp_path / "requests.xml"
    path.write_text(f"<service_requests><request><service_request_id>1</service_request_id>{deep}</request>"
                    f"{REQUEST.format(2)}</service_requests>")
    raw = read_raw(path, "open311-xml")
    assert raw[SERVICE_REQUEST_ID].to_list() == [None, "2"]
    assert raw[UNREADABLE_RECORD][0].startswith("<request><service_request_id>1</service_request_id>")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_and_bom(tmp_path: Path, newline: str) -> None:
    document = newline.join(['<?xml version="1.0" encoding="utf-8"?>', "<service_requests>",
                             "<request><service_request_id>1</service_request_id>",
                             f"<description>two{newline}lines</description></request>", "</service_requests>"])
    path = tmp_path / "requests.xml"
    path.write_bytes(b"\xef\xbb\xbf" + document.encode())
    raw = read_raw(path, "open311-xml")
    assert raw[DESCRIPTION].to_list() == ["two\nlines"]  # XML reads every line break as LF


def test_declared_encoding_is_used_and_an_unknown_one_refused(tmp_path: Path) -> None:
    """Found by tests/fuzz: an unknown declared encoding raised LookupError, not a format error."""
    path = tmp_path / "requests.xml"
    body = f'<service_requests>{REQUEST.format("Яма")}</service_requests>'
    path.write_bytes(f'<?xml version="1.0" encoding="windows-1251"?>{body}'.encode("cp1251"))
    assert read_raw(path, "open311-xml")[SERVICE_REQUEST_ID].to_list() == ["Яма"]
    path.write_bytes(f'<?xml version="1.0" encoding="klingon"?>{body}'.encode())
    with pytest.raises(SourceFormatError, match=r"cannot decode .* encoding its <\?xml \.\.\.\?> declaration"):
        list(read_raw_batches(path, "open311-xml"))
