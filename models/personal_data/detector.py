"""Personal data in citizen request texts: find it (`detect_pii`) and replace it (`scrub_pii`).

UrbanPulse publishes request descriptions as open data; the phones, e-mails, names and flat
numbers residents type into them must not reach a public output. Spans come back in the same
list-of-struct shape the synthetic generator uses for its answer key (`{start, end, type}`, in
characters), so the detector is graded span by span against generated text.

Speed: everything runs over whole columns. polars' Rust regex engine finds the candidates and
their offsets (`models.personal_data.matches`), context rules and name rules are polars
expressions over the candidate frames (`contacts`, `people`), and the scrubbed texts are put
together from slices. No Python code runs per text (see `bench/out/pii_report.md`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import polars as pl
import pyarrow as pa

from models.personal_data.contacts import (
    find_address_flats,
    find_emails,
    find_flats,
    find_phones,
)
from models.personal_data.matches import END, ROW, START
from models.personal_data.people import find_people
from models.personal_data.public import PublicContacts
from schemas.personal_data import PII_END, PII_SPAN, PII_START, PII_TYPE, PiiType

PII_TYPES = (PiiType.PHONE, PiiType.EMAIL, PiiType.PERSON, PiiType.FLAT)
# When two findings overlap, the more specific one wins ("ivanov.i@mail.ru" is an e-mail, not
# a name; a phone inside an e-mail's local part is part of the e-mail).
_PRIORITY = (PiiType.EMAIL, PiiType.PHONE, PiiType.FLAT, PiiType.PERSON)
_FINDERS = {PiiType.EMAIL: find_emails, PiiType.PHONE: find_phones, PiiType.FLAT: find_flats,
            PiiType.PERSON: find_people}  # fmt: skip
PLACEHOLDERS = {kind: f"[{kind.upper()}]" for kind in PII_TYPES}
_ADDRESS_SEPARATORS = " \u00a0,;"
_MIN_PART = 20_000  # texts per slice searched in its own thread


def find_pii(
    texts: pl.Series, kinds: tuple[str, ...] = PII_TYPES, public: PublicContacts | None = None
) -> pl.DataFrame:
    """One row per finding (row, start, end, type), non-overlapping, in reading order.

    A long column is cut into one slice per polars thread, searched side by side (polars lets go
    of the GIL while its Rust code runs, and most single-column string kernels use one core)."""
    parts = min(pl.thread_pool_size(), len(texts) // _MIN_PART)
    if parts < 2:
        return _find_pii(texts, kinds, public)
    bounds = np.linspace(0, len(texts), parts + 1).astype(int)
    with ThreadPoolExecutor(max_workers=parts) as pool:
        found = pool.map(
            lambda lo, hi: _find_pii(texts.slice(lo, hi - lo), kinds, public).with_columns(
                pl.col(ROW) + lo
            ),
            bounds[:-1], bounds[1:],
        )
        return pl.concat(list(found))


def _find_pii(
    texts: pl.Series, kinds: tuple[str, ...], public: PublicContacts | None
) -> pl.DataFrame:
    kept: pl.DataFrame | None = None
    for kind in (k for k in _PRIORITY if k in kinds):
        found = _FINDERS[kind](texts).select(
            pl.col(ROW).cast(pl.UInt32), pl.col(START).cast(pl.Int32), pl.col(END).cast(pl.Int32), PII_TYPE
        )
        if kept is None:
            kept = found
            continue
        if found.height and kept.height:
            numbered = found.with_row_index("_id")
            clash = numbered.join(kept.select(ROW, pl.col(START).alias("_s"), pl.col(END).alias("_e")), on=ROW)
            clash = clash.filter((pl.col(START) < pl.col("_e")) & (pl.col("_s") < pl.col(END)))
            found = numbered.join(clash.select("_id"), on="_id", how="anti").drop("_id")
        kept = pl.concat([kept, found])
    if kept is None:
        kept = pl.DataFrame(schema={ROW: pl.UInt32, START: pl.Int32, END: pl.Int32, PII_TYPE: pl.String})
    if public is not None:
        kept = public.drop_public(texts, kept)
    return kept.sort(ROW, START)


def detect_pii(
    texts: pl.Series, kinds: tuple[str, ...] = PII_TYPES, public: PublicContacts | None = None
) -> pl.Series:
    """Per text, a list of {start, end, type} spans (empty for null or clean texts); `kinds`
    limits the search to some types; `public` keeps the city's own contacts."""
    return _as_lists(find_pii(texts, kinds, public), len(texts), texts.name)


def detect_address_flats(addresses: pl.Series) -> pl.Series:
    """Per address, its flat spans ("кв. 15", "apt 4B", the "#12" after "123 Main St"), in the
    same list-of-struct shape as `detect_pii`. Only flats: the street and house are what an
    address is published for, and the names in it are streets'."""
    return _as_lists(find_address_flats(addresses).sort(ROW, START), len(addresses), addresses.name)


def _as_lists(found: pl.DataFrame, n: int, name: str) -> pl.Series:
    rows = found.get_column(ROW).to_numpy()
    counts = np.bincount(rows, minlength=n).astype(np.int32) if len(rows) else np.zeros(n, np.int32)
    return spans_series(
        found.get_column(START).to_numpy(), found.get_column(END).to_numpy(),
        found.get_column(PII_TYPE).to_arrow(), counts, name,
    )


def spans_series(starts, ends, kinds, counts: np.ndarray, name: str = "") -> pl.Series:
    """One Arrow list array from flattened spans (lists, numpy or Arrow arrays) and the spans
    per row."""
    kinds = kinds.cast(pa.string()) if isinstance(kinds, pa.Array) else pa.array(kinds, pa.string())
    values = pa.StructArray.from_arrays(
        [pa.array(starts, pa.int32()), pa.array(ends, pa.int32()), kinds],
        names=[PII_START, PII_END, PII_TYPE],
    )
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    spans = pl.Series(name, pa.ListArray.from_arrays(pa.array(offsets), values))
    return spans.cast(pl.List(PII_SPAN))


def scrub_pii(
    texts: pl.Series, spans: pl.Series | None = None, public: PublicContacts | None = None
) -> pl.Series:
    """Texts with every span replaced by its placeholder (`[PHONE]`, `[EMAIL]`, `[PERSON]`,
    `[FLAT]`); `spans` defaults to `detect_pii(texts, public=public)`. Nulls stay null."""
    spans = detect_pii(texts, public=public) if spans is None else spans
    placeholder = pl.col(PII_TYPE).replace_strict(PLACEHOLDERS, default="[PII]", return_dtype=pl.String)
    return _rewrite(texts, spans, lambda head: head + placeholder, None)


def scrub_addresses(addresses: pl.Series, spans: pl.Series | None = None) -> pl.Series:
    """Addresses without their flat part and the separator before it: "ул. Ленина, д. 5, кв. 15"
    -> "ул. Ленина, д. 5", "123 Main St #4B" -> "123 Main St". Dropped rather than replaced, so
    that the published address still parses (and geocodes) to the same street and house."""
    spans = detect_address_flats(addresses) if spans is None else spans
    return _rewrite(
        addresses, spans, lambda head: head.str.strip_chars_end(_ADDRESS_SEPARATORS),
        lambda whole: whole.str.strip_chars(_ADDRESS_SEPARATORS),
    )


def _rewrite(texts: pl.Series, spans: pl.Series, head, finish) -> pl.Series:
    """`texts` with each span cut out and the text before it replaced by `head(text before)`,
    then `finish(whole)` on the rows that changed. Spans go from the last to the first of each
    row, one column pass per rank, so that earlier offsets stay valid; a span overlapping the one
    before it is cut from where that one ends."""
    flat = (
        pl.DataFrame({"_spans": spans}).with_row_index(ROW).explode("_spans")
        .drop_nulls("_spans").unnest("_spans")
    )  # fmt: skip
    if flat.height == 0:
        return texts.clone()
    flat = flat.sort(ROW, PII_START)
    same_row = pl.col(ROW) == pl.col(ROW).shift(1)
    reach = pl.when(same_row).then(pl.col(PII_END).shift(1)).otherwise(0)
    flat = flat.with_columns(pl.max_horizontal(PII_START, reach).alias(PII_START))
    flat = flat.filter(pl.col(PII_END) > pl.col(PII_START))
    rows = flat.get_column(ROW).to_numpy()
    firsts = np.flatnonzero(np.concatenate([[True], rows[1:] != rows[:-1]]))
    rank = np.arange(len(rows)) - np.repeat(firsts, np.diff(np.concatenate([firsts, [len(rows)]])))
    flat = flat.with_columns(pl.Series("_rank", rank))
    out = texts.clone()
    for rank in range(int(flat.get_column("_rank").max() or 0), -1, -1):
        part = flat.filter(pl.col("_rank") == rank)
        rows = part.get_column(ROW)
        current = out.gather(rows)
        new = part.with_columns(current.alias("_text")).select(
            head(pl.col("_text").str.slice(0, pl.col(PII_START)))
            + pl.col("_text").str.slice(pl.col(PII_END))
        ).to_series()
        out = out.scatter(rows.to_numpy(), new)
    if finish is not None:
        changed = flat.get_column(ROW).unique().to_numpy()
        out = out.scatter(changed, pl.select(finish(pl.lit(out.gather(changed)))).to_series())
    return out.alias(texts.name)
