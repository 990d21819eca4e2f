"""Personal data in citizen request texts: find it (`detect_pii`) and replace it (`scrub_pii`).

UrbanPulse publishes request descriptions as open data; the phones, e-mails, names and flat
numbers residents type into them must not reach a public output. Spans come back in the same
list-of-struct shape the synthetic generator uses for its answer key (`{start, end, type}`, in
characters), so the detector is graded span by span against generated text.

Speed: whole-column Rust-regex pre-filters in polars pick the rows that may hold a contact or a
name; only those go through the compiled Python expressions (`models.personal_data.patterns`) and the name
rules (`models.personal_data.people`). A spaCy `Matcher` over `spacy.blank` tokens was the other option; the
tokenizer alone costs more than this whole pass (see `bench/out/pii_report.md`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import pyarrow as pa

from models.personal_data.patterns import (
    ADDRESS_FLAT,
    ADDRESS_FLAT_HINT,
    CONTACTS,
    NAME_HINT,
    NUMBERED_BEFORE,
)
from models.personal_data.people import person_spans
from schemas.personal_data import PII_END, PII_SPAN, PII_START, PII_TYPE, PiiType

PII_TYPES = (PiiType.PHONE, PiiType.EMAIL, PiiType.PERSON, PiiType.FLAT)
# When two findings overlap, the more specific one wins ("ivanov.i@mail.ru" is an e-mail, not
# a name; a phone inside an e-mail's local part is part of the e-mail).
_PRIORITY = {PiiType.EMAIL: 0, PiiType.PHONE: 1, PiiType.FLAT: 2, PiiType.PERSON: 3}
PLACEHOLDERS = {kind: f"[{kind.upper()}]" for kind in PII_TYPES}

Span = tuple[int, int, str]
_ID_LOOK_BACK = 32  # characters before a bare number searched for what it numbers
_ADDRESS_SEPARATORS = " \u00a0,;"


def spans_in_text(text: str, kinds: tuple[str, ...] = PII_TYPES) -> list[Span]:
    """Non-overlapping (start, end, type) findings of one text, in reading order; `kinds` limits
    the search to the types the column pre-filters left possible."""
    found: list[Span] = []
    for kind in kinds:
        if kind == PiiType.PERSON:
            found += [(start, end, kind) for start, end in person_spans(text)]
        elif kind == PiiType.PHONE:
            found += [(m.start(), m.end(), kind) for m in CONTACTS[kind][1].finditer(text)
                      if not _numbers_something(text, m.start(), m.end())]
        else:
            found += [(m.start(), m.end(), kind) for m in CONTACTS[kind][1].finditer(text)]
    if len(found) < 2:
        return found
    kept: list[Span] = []
    for span in sorted(found, key=lambda s: (_PRIORITY[s[2]], s[0] - s[1])):
        if all(span[1] <= k[0] or span[0] >= k[1] for k in kept):
            kept.append(span)
    return sorted(kept)


def _numbers_something(text: str, start: int, end: int) -> bool:
    """A phone-shaped run of bare digits that follows "заявка", "ИНН", "request #" ... is the
    number of that, not a phone; a number written with separators is a phone wherever it is."""
    return text[start:end].isdigit() and bool(
        NUMBERED_BEFORE.search(text, max(0, start - _ID_LOOK_BACK), start)
    )


def detect_pii(texts: pl.Series, kinds: tuple[str, ...] = PII_TYPES) -> pl.Series:
    """Per text, a list of {start, end, type} spans (empty for null or clean texts); `kinds`
    limits the search to some types."""
    hints = {kind: hint for kind, (hint, _) in CONTACTS.items()} | {PiiType.PERSON: NAME_HINT}
    hints = {kind: hints[kind] for kind in kinds}
    possible = pl.DataFrame(
        {kind: texts.str.contains(hint).fill_null(False) for kind, hint in hints.items()}
    )
    candidates = np.flatnonzero(possible.select(pl.any_horizontal(pl.all())).to_series().to_numpy())
    masks = possible.to_numpy()[candidates]
    names = tuple(possible.columns)
    values = texts.gather(candidates).to_list() if len(candidates) else []
    counts = np.zeros(len(texts), dtype=np.int32)
    starts: list[int] = []
    ends: list[int] = []
    found_kinds: list[str] = []
    for row, text, mask in zip(candidates.tolist(), values, masks.tolist(), strict=True):
        found = spans_in_text(text, tuple(k for k, on in zip(names, mask, strict=True) if on))
        counts[row] = len(found)
        for start, end, kind in found:
            starts.append(start)
            ends.append(end)
            found_kinds.append(kind)
    return spans_series(starts, ends, found_kinds, counts, texts.name)


def detect_address_flats(addresses: pl.Series) -> pl.Series:
    """Per address, its flat spans ("кв. 15", "apt 4B", the "#12" after "123 Main St"), in the
    same list-of-struct shape as `detect_pii`. Only flats: the street and house are what an
    address is published for, and the names in it are streets'."""
    possible = addresses.str.contains(ADDRESS_FLAT_HINT).fill_null(False)
    candidates = np.flatnonzero(possible.to_numpy())
    values = addresses.gather(candidates).to_list() if len(candidates) else []
    counts = np.zeros(len(addresses), dtype=np.int32)
    starts: list[int] = []
    ends: list[int] = []
    for row, text in zip(candidates.tolist(), values, strict=True):
        found = [(m.start(), m.end()) for m in ADDRESS_FLAT.finditer(text)]
        counts[row] = len(found)
        starts += [start for start, _ in found]
        ends += [end for _, end in found]
    return spans_series(starts, ends, [PiiType.FLAT] * len(starts), counts, addresses.name)


def scrub_addresses(addresses: pl.Series, spans: pl.Series | None = None) -> pl.Series:
    """Addresses without their flat part and the separator before it: "ул. Ленина, д. 5, кв. 15"
    -> "ул. Ленина, д. 5", "123 Main St #4B" -> "123 Main St". Dropped rather than replaced, so
    that the published address still parses (and geocodes) to the same street and house."""
    spans = detect_address_flats(addresses) if spans is None else spans
    return _rewrite(addresses, spans, _drop_flats)


def _drop_flats(text: str, spans: list[dict]) -> str:
    kept = text
    for span in sorted(spans, key=lambda s: s[PII_START], reverse=True):
        kept = kept[: span[PII_START]].rstrip(_ADDRESS_SEPARATORS) + kept[span[PII_END] :]
    return kept.strip(_ADDRESS_SEPARATORS)


def spans_series(
    starts: list[int], ends: list[int], kinds: list[str], counts: np.ndarray, name: str = ""
) -> pl.Series:
    """One Arrow list array from flattened spans and the number of spans per row."""
    values = pa.StructArray.from_arrays(
        [pa.array(starts, pa.int32()), pa.array(ends, pa.int32()), pa.array(kinds, pa.string())],
        names=[PII_START, PII_END, PII_TYPE],
    )
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    spans = pl.Series(name, pa.ListArray.from_arrays(pa.array(offsets), values))
    return spans.cast(pl.List(PII_SPAN))


def scrub_pii(texts: pl.Series, spans: pl.Series | None = None) -> pl.Series:
    """Texts with every span replaced by its placeholder (`[PHONE]`, `[EMAIL]`, `[PERSON]`,
    `[FLAT]`); `spans` defaults to `detect_pii(texts)`. Nulls stay null."""
    spans = detect_pii(texts) if spans is None else spans
    return _rewrite(texts, spans, _replace)


def _rewrite(
    texts: pl.Series, spans: pl.Series, rewrite: Callable[[str, list[dict]], str]
) -> pl.Series:
    """`texts` with `rewrite(text, spans)` applied to the rows that have spans."""
    has_spans = spans.list.len().fill_null(0).to_numpy() > 0
    rows = np.flatnonzero(has_spans & texts.is_not_null().to_numpy())
    if len(rows) == 0:
        return texts.clone()
    picked = pl.Series(rows)
    rewritten = [
        rewrite(text, row_spans)
        for text, row_spans in zip(
            texts.gather(picked).to_list(), spans.gather(picked).to_list(), strict=True
        )
    ]
    return texts.clone().scatter(rows, pl.Series(rewritten, dtype=pl.String))


def _replace(text: str, spans: list[dict]) -> str:
    pieces: list[str] = []
    cursor = 0
    for span in sorted(spans, key=lambda s: s[PII_START]):
        start = max(span[PII_START], cursor)
        if span[PII_END] <= start:
            continue
        pieces += [text[cursor:start], PLACEHOLDERS.get(span[PII_TYPE], "[PII]")]
        cursor = span[PII_END]
    pieces.append(text[cursor:])
    return "".join(pieces)
