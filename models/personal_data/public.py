"""A city's own public contacts, kept in published texts: the 311 line, a department's desk
number, City Hall's address ("1 Dr. Carlton B. Goodlett Pl"). Residents and staff quote them in
requests ("CONTACT 311 (415)701-2311"); scrubbing them hides nothing and loses the reference.

A city pack lists them in `public_contacts.csv` (columns `kind,value`; kind `phone`, or `text`
for an address, an office name or an e-mail kept verbatim, matched in any case). A phone is kept
when its digits end like a listed number (the last ten, or seven for a local "701-2311"); any
finding inside a listed text is kept.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from models.personal_data.matches import END, ROW, START, find_matches
from schemas.personal_data import (
    PACK_PUBLIC_CONTACTS_FILE,
    PII_TYPE,
    PUBLIC_KIND,
    PUBLIC_KIND_PHONE,
    PUBLIC_KIND_TEXT,
    PUBLIC_VALUE,
    PiiType,
)

_LOCAL_DIGITS = 7
_FULL_DIGITS = 10


class PublicContactsError(ValueError):
    """A public-contacts file that cannot be read; the message says where and what to fix."""


@dataclass(frozen=True)
class PublicContacts:
    phones: tuple[str, ...] = ()  # digits only
    texts: tuple[str, ...] = ()

    @classmethod
    def read(cls, path: Path | str) -> PublicContacts:
        path = Path(path)
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {PUBLIC_KIND, PUBLIC_VALUE} - set(reader.fieldnames or ())
            if missing:
                raise PublicContactsError(
                    f"{path}: columns {sorted(missing)} are missing; expected "
                    f"{PUBLIC_KIND},{PUBLIC_VALUE} with kind {PUBLIC_KIND_PHONE} or {PUBLIC_KIND_TEXT}"
                )
            phones, texts = [], []
            for line, record in enumerate(reader, start=2):
                kind = (record[PUBLIC_KIND] or "").strip()
                value = (record[PUBLIC_VALUE] or "").strip()
                digits = re.sub(r"\D", "", value)
                if kind == PUBLIC_KIND_PHONE and len(digits) >= _LOCAL_DIGITS:
                    phones.append(digits)
                elif kind == PUBLIC_KIND_TEXT and value:
                    texts.append(value)
                else:
                    raise PublicContactsError(
                        f"{path}, line {line}: kind {kind!r} value {value!r} is neither a "
                        f"{PUBLIC_KIND_PHONE} of at least {_LOCAL_DIGITS} digits nor a "
                        f"non-empty {PUBLIC_KIND_TEXT}; fix or remove the line"
                    )
        return cls(tuple(phones), tuple(texts))

    @classmethod
    def of_pack(cls, root: Path | str) -> PublicContacts | None:
        """The pack's list, or None when the pack has none (every finding is scrubbed)."""
        path = Path(root) / PACK_PUBLIC_CONTACTS_FILE
        return cls.read(path) if path.exists() else None

    def _phone_keys(self) -> list[str]:
        full = {p[-_FULL_DIGITS:] for p in self.phones}
        return sorted(full | {p[-_LOCAL_DIGITS:] for p in self.phones})

    def drop_public(self, texts: pl.Series, spans: pl.DataFrame) -> pl.DataFrame:
        """`spans` (row, start, end, type) without the findings that are the city's own."""
        if spans.height == 0 or not (self.phones or self.texts):
            return spans
        value = texts.gather(spans.get_column(ROW)).str.slice(
            spans.get_column(START), spans.get_column(END) - spans.get_column(START)
        )
        digits = value.str.replace_all(r"\D", "")
        key = pl.Series(
            pl.select(
                pl.when(pl.lit(digits).str.len_chars() >= _FULL_DIGITS)
                .then(pl.lit(digits).str.slice(-_FULL_DIGITS))
                .otherwise(pl.lit(digits))
            ).to_series()
        )
        public_phone = (spans.get_column(PII_TYPE) == PiiType.PHONE) & key.is_in(self._phone_keys())
        spans = spans.with_row_index("_span").filter(~public_phone)
        if self.texts and spans.height:
            listed = sorted(self.texts, key=len, reverse=True)
            pattern = "(?i)" + "|".join(pl.escape_regex(t) for t in listed)
            rows = spans.get_column(ROW).unique().sort().to_numpy()
            places = find_matches(texts, pattern, rows).select(
                ROW, pl.col(START).alias("_from"), pl.col(END).alias("_to")
            )
            inside = spans.join(places, on=ROW).filter(
                (pl.col(START) >= pl.col("_from")) & (pl.col(END) <= pl.col("_to"))
            )
            spans = spans.join(inside.select("_span"), on="_span", how="anti")
        return spans.drop("_span")
