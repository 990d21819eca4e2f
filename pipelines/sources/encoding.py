"""Which text encoding a text export is written in: UTF-8 unless its first bytes say otherwise.

Nearly every file is UTF-8, recognised from its first `SNIFF_BYTES` alone, and stays on the
readers' fast paths. A byte-order mark names UTF-16/32. A sample that is not UTF-8 (cp1251,
latin-1 ...) is handed to charset-normalizer, and every row of that file carries the guess
(`schemas.requests.GUESSED_ENCODING`, quality flag `decoded_by_guess`). A sample that is mostly
UTF-8 with a few stray bytes stays UTF-8 (the strays become U+FFFD), because guessing a
single-byte encoding there would garble every accented letter. A caller who knows the encoding
names it (`--encoding`, a mapping's `encoding`): then nothing is guessed.
"""

from __future__ import annotations

import codecs
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import charset_normalizer

SNIFF_BYTES = 1 << 16
UTF8 = "utf-8"
_COPY_BYTES = 1 << 20
# longest first: the UTF-32 LE mark starts with the UTF-16 LE one
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_UTF8_NAMES = frozenset({"utf-8", "utf-8-sig", "ascii"})
_STATEFUL = ("iso2022", "utf-7", "hz")
_ASCII = "".join(map(chr, range(128)))


@dataclass(frozen=True)
class TextEncoding:
    """A Python codec name, and whether it was guessed rather than known."""

    codec: str = UTF8
    guessed: bool = False

    @property
    def is_utf8(self) -> bool:
        """UTF-8, with or without a byte-order mark: the readers' fast paths take it as it is."""
        return codecs.lookup(self.codec).name in _UTF8_NAMES

    @property
    def guess(self) -> str | None:
        """The codec name when it was guessed (what rows carry), else None."""
        return self.codec if self.guessed else None


def text_encoding(path: Path, declared: str | None = None) -> TextEncoding:
    """The encoding to read `path` with: `declared` if given, else sniffed from its start."""
    if declared:
        return TextEncoding(declared)
    with path.open("rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    for mark, codec in _BYTE_ORDER_MARKS:
        if sample.startswith(mark):
            return TextEncoding(codec)
    if _mostly_utf8(sample, complete=len(sample) < SNIFF_BYTES):
        return TextEncoding(UTF8)
    for match in charset_normalizer.from_bytes(sample):  # best first
        if codecs.lookup(match.encoding).name in _UTF8_NAMES:
            break
        if _keeps_ascii(match.encoding):
            return TextEncoding(match.encoding, guessed=True)
    return TextEncoding(UTF8)


def open_text(path: Path, encoding: TextEncoding) -> TextIO:
    """`path` as text: universal newlines (LF, CRLF and a lone CR all end a line), a UTF-8 BOM
    dropped, undecodable bytes as U+FFFD."""
    codec = "utf-8-sig" if encoding.is_utf8 else encoding.codec
    return path.open(encoding=codec, errors="replace", newline=None)


@contextmanager
def utf8_copy(path: Path, encoding: TextEncoding) -> Iterator[Path]:
    """`path` itself when it is UTF-8, else a temporary UTF-8 copy (removed afterwards), written
    piece by piece so that memory stays flat. Line endings are copied as they are."""
    if encoding.is_utf8:
        yield path
        return
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors="replace")
    handle, name = tempfile.mkstemp(prefix="urbanpulse-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as target, path.open("rb") as source:
            for piece in iter(lambda: source.read(_COPY_BYTES), b""):
                target.write(decoder.decode(piece).encode(UTF8, errors="replace"))
            target.write(decoder.decode(b"", final=True).encode(UTF8, errors="replace"))
        yield Path(name)
    finally:
        os.unlink(name)


def _keeps_ascii(codec: str) -> bool:
    """Whether `codec` reads every ASCII byte as itself and has no shift states: quotes,
    separators, brackets and line breaks must stay what they are (Shift JIS 2004 reads `\\` as
    a yen sign, ISO-2022 and UTF-7 switch states on ESC and `+`), else a wrong guess breaks the
    structure of the file, not only the text of its fields."""
    if codecs.lookup(codec).name.startswith(_STATEFUL):
        return False
    try:
        return bytes(range(128)).decode(codec) == _ASCII
    except UnicodeDecodeError:
        return False


def _mostly_utf8(sample: bytes, complete: bool) -> bool:
    """Valid UTF-8 (a sequence cut by the sample's end is fine), or more valid multi-byte
    characters than invalid bytes: a UTF-8 file with a few strays, not another encoding."""
    try:
        sample.decode(UTF8)
        return True
    except UnicodeDecodeError as error:
        if not complete and error.reason == "unexpected end of data" and error.start >= len(sample) - 3:
            return True
    text = sample.decode(UTF8, errors="replace")
    invalid = text.count("\ufffd")
    non_ascii = sum(1 for char in text if char > "\x7f")
    return non_ascii - invalid > invalid
