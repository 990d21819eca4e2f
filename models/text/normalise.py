"""Request texts normalised the way every UrbanPulse classifier sees them, over whole columns.

Residents write "ЯМА у дома 15!!!", "Streetlight OUT", paste links, phone numbers and e-mails,
and exports mask personal data as XXXX or XX/XX/XXXX (NYC 311). One normalisation serves the
hashed linear model and the spaCy candidate, so both learn from the same words: lowercase
(Cyrillic too), ё -> е, URL / e-mail / phone -> a token word, digits -> "0", punctuation ->
space, masked spans removed, whitespace collapsed. It runs on the column's UTF-8 bytes with numpy
(see `models.classification.features` for why): `tokenize` gives byte spans of words without building
Python strings, `normalise` joins them back into text for models that want strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from models.text.language import fold_bytes, fold_cyrillic, utf8_column

URL_TOKEN = "urltoken"
EMAIL_TOKEN = "emailtoken"
PHONE_TOKEN = "phonetoken"
_URL = r"(?i)(?:https?://|www\.)\S+"
_EMAIL = r"[\w.+-]+@[\w-]+\.[\w.-]+"
# A run of digit groups with at least this many digits in total is a phone number.
PHONE_MIN_DIGITS = 10
_LEAD = 8
BYTE_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2**64 - 1], dtype=np.uint64)


@dataclass(frozen=True)
class Tokens:
    """Words of a column of texts: byte spans into `data`, grouped per text by `word_offsets`."""

    data: np.ndarray  # normalised UTF-8 bytes (plus token spellings and 16 zero bytes of padding)
    starts: np.ndarray  # int64 byte offset of each word
    lengths: np.ndarray  # int64 byte length of each word
    word_offsets: np.ndarray  # n + 1: the words of text i are [word_offsets[i], word_offsets[i+1])
    valid: np.ndarray  # bool per text: False where the input was null

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.word_offsets)


def _marked_bytes(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8 of the texts with URLs / e-mails as token words, each text ending in a space."""
    marked = texts.cast(pl.String).str.replace_all(_URL, f" {URL_TOKEN} ")
    marked = marked.str.replace_all(_EMAIL, f" {EMAIL_TOKEN} ") + " "
    return utf8_column(marked)


def u64_view(data: np.ndarray) -> np.ndarray:
    """Every byte offset of `data` read as a little-endian uint64 (needs 8 bytes of padding)."""
    return np.ndarray((data.size - 7,), dtype="<u8", buffer=data, strides=(1,))


def _equals_repeated(
    view: np.ndarray, starts: np.ndarray, lengths: np.ndarray, unit: bytes
) -> np.ndarray:
    """True where the word is `unit` repeated (lengths up to 16 bytes; longer is never equal)."""
    pattern = np.frombuffer((unit * 16)[:16], dtype="<u8")
    result = (lengths % len(unit) == 0) & (lengths <= 16)
    first = np.minimum(lengths, 8)
    result &= (view[starts] & BYTE_MASKS[first]) == (pattern[0] & BYTE_MASKS[first])
    rest = np.clip(lengths - 8, 0, 8)
    result &= (view[starts + 8] & BYTE_MASKS[rest]) == (pattern[1] & BYTE_MASKS[rest])
    return result


def tokenize(texts: pl.Series) -> Tokens:
    """Normalise and split every text: lowercase, ё -> е, URL / e-mail / phone -> a token word,
    digits -> "0", punctuation -> space, masked spans (XXXX, хххх) removed."""
    raw, offsets = _marked_bytes(texts)
    size = raw.size
    # Layout: LEAD spaces, the texts (each ends in a space), the phone token, zero padding.
    # The leading spaces let a suffix read 8 bytes back from any word end.
    tail = f"{PHONE_TOKEN} ".encode()
    end = _LEAD + size
    data = np.zeros(end + len(tail) + 16, dtype=np.uint8)
    data[:_LEAD] = 32
    data[_LEAD:end] = np.frombuffer(fold_bytes(raw), dtype=np.uint8)
    data[end : end + len(tail)] = np.frombuffer(tail, dtype=np.uint8)
    fold_cyrillic(data[_LEAD - 1 : end])

    space = data[_LEAD - 1 : end] == 32
    edges = np.flatnonzero(space[1:] != space[:-1]) + _LEAD  # word start, word end, start, ...
    sorted_starts = edges[0::2]
    starts, lengths = sorted_starts.copy(), edges[1::2] - sorted_starts
    text_starts = offsets + _LEAD

    # Continuation bytes of a symbol whose lead byte became a space open the next word.
    stray = np.flatnonzero((data[starts] & 0xC0) == 0x80)
    while stray.size:
        starts[stray] += 1
        lengths[stray] -= 1
        stray = stray[(lengths[stray] > 0) & ((data[starts[stray]] & 0xC0) == 0x80)]
    keep = lengths > 0

    view = u64_view(data)
    lead, second = data[starts], data[starts + 1]
    for unit in (b"x", "х".encode()):
        masked = np.flatnonzero((lead == unit[0]) & (second == unit[-1]))
        masked = masked[_equals_repeated(view, starts[masked], lengths[masked], unit)]
        keep[masked[lengths[masked] >= 2 * len(unit)]] = False

    numbers = np.flatnonzero(lead == ord("0"))
    numbers = numbers[_equals_repeated(view, starts[numbers], lengths[numbers], b"0")]
    numbers = numbers[keep[numbers]]
    if numbers.size:
        rows = np.searchsorted(text_starts, starts[numbers], side="right")
        opens = np.ones(numbers.size, dtype=bool)
        opens[1:] = (numbers[1:] != numbers[:-1] + 1) | (rows[1:] != rows[:-1])
        run_starts = np.flatnonzero(opens)
        digits = np.add.reduceat(lengths[numbers], run_starts)
        runs = np.diff(np.append(run_starts, numbers.size))
        in_phone = np.repeat(digits >= PHONE_MIN_DIGITS, runs)
        keep[numbers[in_phone & ~opens]] = False
        phone_heads = numbers[in_phone & opens]
        starts[phone_heads], lengths[phone_heads] = end, len(PHONE_TOKEN)

    if not keep.all():
        starts, lengths, sorted_starts = starts[keep], lengths[keep], sorted_starts[keep]
    # Where each word began before phone heads were pointed at the token: still in text order.
    word_offsets = np.searchsorted(sorted_starts, text_starts)
    return Tokens(data, starts, lengths, word_offsets, texts.is_not_null().to_numpy())


def normalise(texts: pl.Series) -> pl.Series:
    """The normalised text exactly as the hasher sees it: words joined by single spaces.

    For inspection and tests; the classifier hashes `tokenize`'s spans without building strings.
    """
    tokens = tokenize(texts)
    lengths = tokens.lengths
    spaced = lengths + 1
    spaced[tokens.word_offsets[1:][tokens.counts > 0] - 1] -= 1  # no space after a text's last word
    out_starts = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(spaced, out=out_starts[1:])
    positions = np.arange(out_starts[-1]) - np.repeat(out_starts[:-1] - tokens.starts, spaced)
    out = tokens.data[positions]
    out[(out_starts[:-1] + lengths)[spaced > lengths]] = 32
    text_offsets = out_starts[tokens.word_offsets]
    array = pa.LargeStringArray.from_buffers(
        len(text_offsets) - 1,
        pa.py_buffer(text_offsets.astype(np.int64)),
        pa.py_buffer(out.tobytes()),
        pa.array(tokens.valid).buffers()[1] if not tokens.valid.all() else None,
    )
    return pl.Series(texts.name, array, dtype=pl.String)
