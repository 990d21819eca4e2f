"""TOML mapping files and how a mapping is laid over a format's default."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.sources.requests import (
    ISO_8601_FORMATS,
    SourceFormatError,
    SourceMapping,
    load_mapping,
    with_encoding,
)
from pipelines.sources.requests.mapping import IDENTITY
from pipelines.sources.requests.nyc311 import NYC311
from schemas.requests import DESCRIPTION, LAT, OPEN311_FIELDS, SERVICE_REQUEST_ID


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_mapping_file(tmp_path: Path) -> None:
    mapping = load_mapping(
        toml(
            tmp_path,
            'source = "bloomington"\n[columns]\ndescription = "text"\nlat = "latitude"\n'
            '[timestamps]\nformat = ["%d/%m/%Y %H:%M", "%d/%m/%Y"]\ntimezone = "Asia/Tokyo"\n',
        )
    )
    assert mapping.source == "bloomington"
    assert mapping.required_columns(DESCRIPTION) == ["text"]
    assert mapping.required_columns(LAT) == ["latitude"]
    assert mapping.formats == ("%d/%m/%Y %H:%M", "%d/%m/%Y")
    assert mapping.zone == "Asia/Tokyo"


def test_defaults_are_iso_and_utc(tmp_path: Path) -> None:
    mapping = load_mapping(toml(tmp_path, '[columns]\nservice_request_id = "id"\n'))
    assert mapping.formats == ISO_8601_FORMATS
    assert mapping.zone == "UTC"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[columns]\ntext = "body"\ncolour = "c"\n', r"unknown field\(s\) \['colour', 'text'\]"),
        ("[columns]\ndescription = 3\n", r"\['description'\] must name a source column"),
        ('[timestamps]\ntimezone = "Mars/Olympus"\n', r"unknown timezone 'Mars/Olympus'"),
        ('[timestamps]\nzone = "UTC"\n', r"unknown key\(s\) \['zone'\] in \[timestamps\]"),
        ('sauce = "x"\n', r"unknown key\(s\) \['sauce'\] in top level"),
        ("[columns\n", r"is not valid TOML"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SourceFormatError, match=message):
        load_mapping(toml(tmp_path, text))


def test_missing_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(SourceFormatError, match=r"cannot read mapping file"):
        load_mapping(tmp_path / "absent.toml")


def test_overlay_keeps_the_formats_other_columns() -> None:
    mapping = SourceMapping(columns={DESCRIPTION: "Resolution Description"}).over(NYC311)
    assert mapping.required_columns(DESCRIPTION) == ["Resolution Description"]
    assert mapping.required_columns(SERVICE_REQUEST_ID) == ["Unique Key"]
    assert mapping.zone == "America/New_York"


def test_overlay_on_identity_makes_own_fields_required() -> None:
    mapping = SourceMapping(columns={DESCRIPTION: "text"}).over(IDENTITY)
    assert DESCRIPTION not in mapping.optional
    assert mapping.optional == frozenset(OPEN311_FIELDS) - {DESCRIPTION}
    with pytest.raises(SourceFormatError, match=r"no column 'text'"):
        mapping.check_columns([SERVICE_REQUEST_ID], "file x")


def test_expressions_are_accepted() -> None:
    joined = pl.concat_str([pl.col("a"), pl.col("b")], separator=" ")
    mapping = SourceMapping(columns={DESCRIPTION: joined})
    assert sorted(mapping.required_columns(DESCRIPTION)) == ["a", "b"]


def test_mapping_file_names_the_encoding(tmp_path: Path) -> None:
    mapping = load_mapping(toml(tmp_path, 'encoding = "cp1251"\nseparator = ";"\n'))
    assert mapping.encoding == "cp1251"
    assert mapping.over(IDENTITY).encoding == "cp1251"


def test_encoding_given_on_the_command_line_wins(tmp_path: Path) -> None:
    mapping = load_mapping(toml(tmp_path, 'encoding = "cp1251"\n[columns]\ndescription = "text"\n'))
    forced = with_encoding(mapping, "latin-1")
    assert forced is not None and forced.encoding == "latin-1"
    assert forced.required_columns(DESCRIPTION) == ["text"]
    assert with_encoding(None, "koi8-r") == SourceMapping(encoding="koi8-r")
    assert with_encoding(mapping, None) is mapping


@pytest.mark.parametrize("name", ["klingon", "rot13", "base64"])
def test_unknown_encoding_is_refused(name: str) -> None:
    with pytest.raises(SourceFormatError, match=rf"unknown text encoding '{name}'.*'cp1251'"):
        SourceMapping(encoding=name)


def test_source_columns_are_what_the_mapping_reads() -> None:
    assert NYC311.source_columns() is not None and "Unique Key" in NYC311.source_columns()
    assert SourceMapping(columns={DESCRIPTION: pl.col("^text.*$")}).source_columns() is None
