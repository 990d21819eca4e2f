"""Personal data that synthetic residents leave in their texts, and where it sits.

Phones, e-mails and names are drawn column-wise; their character spans in the final text are
handed back as one Arrow list-of-struct column so scrubbers can be graded span by span.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from schemas.personal_data import PII_END, PII_SPAN, PII_START, PII_TYPE, PiiType
from synthetic.pools import choose, digits, pick
from synthetic.requests import templates as tpl

# Span type per kind code (flat, then contact codes 1..3 = phone, e-mail, person).
_SPAN_TYPES = (PiiType.FLAT, PiiType.PHONE, PiiType.EMAIL, PiiType.PERSON)


def span_lists(
    starts: np.ndarray, lengths: np.ndarray, kinds: np.ndarray, present: np.ndarray
) -> pl.Series:
    """Per-row lists of {start, end, type}, assembled as one Arrow list array (row-major order).

    Building the lists in polars (`concat_list` of structs) costs ~10 s per million rows; Arrow
    offsets over the flattened spans cost milliseconds.
    """
    keep = present.ravel()
    start = starts.ravel()[keep]
    types = pl.Series(_SPAN_TYPES).gather(kinds.ravel()[keep]).to_arrow()
    values = pa.StructArray.from_arrays(
        [pa.array(start), pa.array(start + lengths.ravel()[keep]), types],
        names=[PII_START, PII_END, PII_TYPE],
    )
    offsets = np.concatenate([[0], np.cumsum(present.sum(axis=1))]).astype(np.int32)
    spans = pl.Series(pa.ListArray.from_arrays(pa.array(offsets), values))
    return spans.cast(pl.List(PII_SPAN))


def phones(rng: np.random.Generator, language: np.ndarray) -> pl.Series:
    """Moscow numbers in the five ways people write them; English writers also use US numbers."""
    n = len(language)
    code = pl.Series(tpl.MOBILE_CODES_RU).gather(rng.integers(0, len(tpl.MOBILE_CODES_RU), n))
    a, b, c = digits(rng, n, 100, 1000, 3), digits(rng, n, 0, 100, 2), digits(rng, n, 0, 100, 2)
    area = pl.Series(tpl.AREA_CODES_US).gather(rng.integers(0, len(tpl.AREA_CODES_US), n))
    line = digits(rng, n, 100, 10000, 4)
    forms = {
        0: pl.concat_str(pl.lit("+7 "), code, pl.lit(" "), a, pl.lit("-"), b, pl.lit("-"), c),
        1: pl.concat_str(pl.lit("8("), code, pl.lit(")"), a, pl.lit("-"), b, pl.lit("-"), c),
        2: pl.concat_str(pl.lit("+7"), code, a, b, c),
        3: pl.concat_str(pl.lit("8"), code, a, b, c, separator=" "),
        4: pl.concat_str(pl.lit("8-"), code, pl.lit("-"), a, pl.lit("-"), b, pl.lit("-"), c),
        5: pl.concat_str(pl.lit("("), area, pl.lit(") 555-"), line),
        6: pl.concat_str(area, pl.lit("-555-"), line),
        7: pl.concat_str(pl.lit("+1 "), area, pl.lit(" 555 "), line),
    }
    form = np.where(
        (language == 1) & (rng.random(n) < 0.5), rng.integers(5, 8, n), rng.integers(0, 5, n)
    )
    return choose(form, {k: pl.select(v).to_series() for k, v in forms.items()})


def emails(rng: np.random.Generator, language: np.ndarray) -> pl.Series:
    n = len(language)
    latin = [s[2] for s in tpl.SURNAMES_RU]
    surname = pick(rng, (latin, [s.lower() for s in tpl.SURNAMES_EN]), language)
    initial = pl.Series(list("abdegiklmnopstv")).gather(rng.integers(0, 15, n))
    number = pl.Series(rng.integers(1, 100, n)).cast(pl.String)
    year = pl.Series(rng.integers(1955, 2006, n)).cast(pl.String)
    domain = pl.Series(tpl.EMAIL_DOMAINS).gather(rng.integers(0, len(tpl.EMAIL_DOMAINS), n))
    forms = {
        0: pl.concat_str(surname, number),
        1: pl.concat_str(surname, pl.lit("."), initial),
        2: pl.concat_str(initial, pl.lit("."), surname),
        3: pl.concat_str(surname, pl.lit("_"), year),
    }
    local = choose(rng.integers(0, 4, n), {k: pl.select(v).to_series() for k, v in forms.items()})
    return local + "@" + domain


def people(rng: np.random.Generator, language: np.ndarray) -> pl.Series:
    """Names as residents sign: "Иванов И.И.", "Анна Петрова", "John Smith", "J. Smith"."""
    ru: list[str] = []
    for i, (male, female, _) in enumerate(tpl.SURNAMES_RU):
        for j, first_names in enumerate(tpl.FIRST_NAMES_RU):
            for sex, (surname, first) in enumerate(zip((male, female), first_names, strict=True)):
                middle = tpl.INITIALS_RU[(i * 7 + j * 3 + sex) % len(tpl.INITIALS_RU)]
                ru += [
                    f"{surname} {first[0]}.{middle}.",
                    f"{first} {surname}",
                    f"{surname} {first}",
                ]
    en = [f"{first} {last}" for first in tpl.NAMES_EN for last in tpl.SURNAMES_EN]
    en += [f"{first[0]}. {last}" for first in tpl.NAMES_EN for last in tpl.SURNAMES_EN]
    return pick(rng, (ru, en), language)
