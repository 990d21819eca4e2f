"""Which encoding a text export is read with: UTF-8 in place, a byte-order mark, or a guess."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from pipelines.sources.encoding import TextEncoding, text_encoding, utf8_copy


def test_utf8_files_are_read_in_place(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,text\n1,Яма\n", encoding="utf-8")
    encoding = text_encoding(path)
    assert encoding == TextEncoding("utf-8") and encoding.guess is None
    with utf8_copy(path, encoding) as readable:
        assert readable == path


def test_a_sequence_cut_by_the_sample_end_is_still_utf8(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"x" * (65_536 - 1) + "Я".encode() + b"\n")  # the sample ends inside "Я"
    assert text_encoding(path) == TextEncoding("utf-8")


@pytest.mark.parametrize(("codec", "named"), [("utf-16", "utf-16"), ("utf-32", "utf-32"), ("utf-8-sig", "utf-8-sig")])
def test_byte_order_marks_name_the_encoding(tmp_path: Path, codec: str, named: str) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("id,text\n1,Яма\n".encode(codec))
    assert text_encoding(path) == TextEncoding(named)


def test_other_encodings_are_guessed_and_copied_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    text = "id,text\n" + "".join(f"{i},Не горит фонарь во дворе\r\n" for i in range(20))
    path.write_bytes(text.encode("cp1251"))
    encoding = text_encoding(path)
    assert encoding.guessed and codecs.lookup(encoding.codec).name == "cp1251"
    with utf8_copy(path, encoding) as readable:
        assert readable != path and readable.read_bytes() == text.encode("utf-8")
    assert not readable.exists()


def test_a_guess_never_changes_what_ascii_bytes_mean(tmp_path: Path) -> None:
    """Found by tests/fuzz: a cp1251 feed with a few odd bytes was guessed Shift JIS 2004, which
    reads `\\` as a yen sign and so broke the JSON escapes of every line."""
    path = tmp_path / "feed.jsonl"
    path.write_bytes(b'{"service_request_id": "\\"\\ud800\\udc00", "description": "\\ud800"}\n#\x1b\xa4\\\n'
                     + b'{"x": ' + b"[" * 300 + b"]" * 300 + b"}\n")
    codec = text_encoding(path).codec
    assert bytes(range(128)).decode(codec) == "".join(map(chr, range(128)))


def test_a_named_encoding_is_not_a_guess(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xff\xfe")
    assert text_encoding(path, "latin-1") == TextEncoding("latin-1", guessed=False)
