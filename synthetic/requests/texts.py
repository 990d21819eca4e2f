"""Citizen texts for synthetic requests, built column-wise so a million rows take seconds.

Every text is a concatenation of segments (greeting, template head, address, flat, template
tail, contact details, sign-off), each gathered by index from a small pre-built pool. Typos are
baked into extra variants of each template when the pool is built, so no per-row Python runs.
Because the segments are known, the character spans of the personal data inside the text come
for free: they are the running sums of the segment lengths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from schemas import citypack as cp
from schemas.personal_data import PII_SPANS
from schemas.requests import DESCRIPTION
from synthetic import pools
from synthetic.requests import personal_data as pii
from synthetic.requests import templates as tpl

LANGUAGES = ("ru", "en")  # index 0 / 1 everywhere below
TYPO_VARIANTS = 4
TYPO_SHARE = 0.3

# Contact details per text: nothing, phone, e-mail, name, name and phone.
_CONTACT_P = (0.45, 0.25, 0.10, 0.10, 0.10)
_ADJECTIVE = r"(ая|яя|ый|ий|ой|ое|ее)$"


@dataclass(frozen=True)
class AddressPool:
    """Every house of the gazetteer written the ways residents write it, per language.

    Variant `v` of house `h` sits at `v * houses + h`; variant 0 is the canonical form that goes
    into the Open311 `address` field.
    """

    ru: pl.Series
    en: pl.Series
    houses: int

    def variants(self, language: int) -> int:
        return len(self.en if language else self.ru) // max(self.houses, 1)


def address_pool(gazetteer: pl.DataFrame) -> AddressPool:
    street, kind, house = pl.col(cp.STREET), pl.col(cp.STREET_TYPE), pl.col(cp.HOUSE)
    street_en, kind_en = pl.col(cp.STREET_EN), pl.col(cp.STREET_TYPE_EN)
    full_ru = pl.when(street.str.contains(_ADJECTIVE)).then(
        pl.concat_str(street, kind, separator=" ")
    )
    full_ru = full_ru.otherwise(pl.concat_str(kind, street, separator=" "))
    korpus = house.str.replace(r"^(\d+)к(\d+)$", "$1 корп. $2")
    words = house.str.replace("к", " корпус ", literal=True).str.replace(
        " стр. ", " строение ", literal=True
    )
    word_ru = kind.replace_strict(tpl.STREET_TYPE_WORDS_RU, default=kind)
    house_en = house.str.replace("к", "k", literal=True).str.replace(
        " стр. ", " bld ", literal=True
    )
    house_en = house_en.str.replace("А", "A", literal=True).str.replace("Б", "B", literal=True)
    house_en = house_en.str.replace("В", "V", literal=True)
    word_en = kind_en.replace_strict(tpl.STREET_TYPE_WORDS_EN, default=kind_en)
    ru = [
        pl.concat_str(full_ru, pl.lit(", д. "), house),
        pl.concat_str(full_ru, pl.lit(", "), house),
        pl.concat_str(full_ru, pl.lit(" д."), korpus),
        pl.concat_str(word_ru, pl.lit(" "), street, pl.lit(", дом "), words),
        pl.concat_str(street, kind, house, separator=" "),
        pl.concat_str(
            street.str.to_lowercase(), kind.str.replace(".", "", literal=True), house, separator=" "
        ),
    ]
    en = [
        pl.concat_str(house_en, street_en, kind_en, separator=" "),
        pl.concat_str(street_en, kind_en, house_en, separator=" "),
        pl.concat_str(street_en, pl.lit(" "), kind_en, pl.lit(", bldg "), house_en),
        pl.concat_str(house_en, street_en, word_en, separator=" "),
        pl.concat_str(house_en, street_en, kind_en, separator=" ").str.to_lowercase(),
    ]
    frame = gazetteer.select(
        [e.alias(f"ru{i}") for i, e in enumerate(ru)]
        + [e.alias(f"en{i}") for i, e in enumerate(en)]
    )
    return AddressPool(
        ru=pl.concat([frame.get_column(f"ru{i}") for i in range(len(ru))]),
        en=pl.concat([frame.get_column(f"en{i}") for i in range(len(en))]),
        houses=gazetteer.height,
    )


def written_addresses(
    rng: np.random.Generator,
    pool: AddressPool | None,
    house: np.ndarray,
    language: np.ndarray,
    in_text_share: float,
) -> tuple[pl.Series, pl.Series]:
    """(Open311 `address` field, address as the resident writes it in the text) per request.

    Both are null where the request has no house (`house` < 0); the text form is also null for
    the requests whose resident leaves the address out of the text.
    """
    n = len(house)
    if pool is None:
        empty = pl.Series([None] * n, dtype=pl.String)
        return empty, empty
    known, safe = house >= 0, np.where(house >= 0, house, 0)
    english = pl.lit(pl.Series(language == 1))
    canonical = pl.when(english).then(pl.lit(pool.en.gather(safe)))
    canonical = canonical.otherwise(pl.lit(pool.ru.gather(safe)))
    en_at = rng.integers(0, pool.variants(1), n) * pool.houses + safe
    ru_at = rng.integers(0, pool.variants(0), n) * pool.houses + safe
    written = pl.when(english).then(pl.lit(pool.en.gather(en_at)))
    written = written.otherwise(pl.lit(pool.ru.gather(ru_at)))
    in_text = pl.lit(pl.Series(known & (rng.random(n) < in_text_share)))
    field = pl.select(pl.when(pl.lit(pl.Series(known))).then(canonical)).to_series()
    return field, pl.select(pl.when(in_text).then(written)).to_series()


def compose_texts(
    rng: np.random.Generator,
    categories: Sequence[str],
    category: np.ndarray,
    language: np.ndarray,
    address: pl.Series,
    garbage: np.ndarray,
) -> pl.DataFrame:
    """Descriptions and their PII spans; `address` is null where the text names no address."""
    n = len(category)
    heads, tails, offsets, counts = _template_pool(rng, categories)
    key = category * 2 + language
    template = offsets[key] + (rng.random(n) * counts[key]).astype(np.int64) * (TYPO_VARIANTS + 1)
    template += np.where(rng.random(n) < TYPO_SHARE, rng.integers(1, TYPO_VARIANTS + 1, n), 0)
    head = heads.gather(template)
    has_addr = address.is_not_null().to_numpy()
    opens_text = (head.str.len_chars() == 0).to_numpy()  # template starts with the address
    flat_wanted = np.isin(
        category, [i for i, c in enumerate(categories) if c in tpl.FLAT_CATEGORIES]
    )
    with_flat = has_addr & (rng.random(n) < np.where(flat_wanted, 0.6, 0.05))
    flat_number = pl.Series(rng.integers(1, 400, n)).cast(pl.String)
    contact = rng.choice(len(_CONTACT_P), size=n, p=_CONTACT_P)
    segments = {
        "greeting": pools.pick(rng, tpl.GREETINGS, language),
        "head": head,
        "lead": pools.choose(
            has_addr & ~opens_text, {1: pools.pick(rng, tpl.ADDRESS_LEADS, language)}
        ),
        "address": address.fill_null(_places(rng, language, opens_text)),
        "flat_sep": pools.choose(with_flat, {1: pools.repeat(", ", n)}),
        "flat": pools.choose(
            with_flat, {1: pools.pick(rng, tpl.FLAT_LEADS, language) + flat_number}
        ),
        "tail": tails.gather(template),
        "end": pools.pick(rng, (tpl.SENTENCE_ENDS, tpl.SENTENCE_ENDS), language),
        **_contact_segments(rng, language, contact),
        "closing": pools.pick(rng, tpl.CLOSINGS, language),
    }
    frame = pl.DataFrame(segments)
    names = list(segments)
    lengths = frame.select(pl.all().str.len_chars().cast(pl.Int32)).to_numpy(order="c")
    starts = np.zeros_like(lengths)
    for column in range(1, len(names)):
        starts[:, column] = starts[:, column - 1] + lengths[:, column - 1]
    columns = [names.index(name) for name in ("flat", "first", "second")]
    present = np.column_stack([with_flat, contact > 0, contact == 4]) & ~garbage[:, None]
    kinds = np.column_stack([np.zeros(n, np.int64), np.minimum(contact, 3), np.ones(n, np.int64)])
    text = frame.select(pl.concat_str(names)).to_series()
    junk = pools.pick(rng, (tpl.GARBAGE, tpl.GARBAGE), language)
    text = pl.select(pl.when(pl.lit(pl.Series(garbage))).then(pl.lit(junk)).otherwise(pl.lit(text)))
    return pl.DataFrame(
        {
            DESCRIPTION: text.to_series(),
            PII_SPANS: pii.span_lists(starts[:, columns], lengths[:, columns], kinds, present),
        }
    )


def _places(rng: np.random.Generator, language: np.ndarray, opens_text: np.ndarray) -> pl.Series:
    """A place phrase ("во дворе") for texts without an address; capitalised at the start."""
    place = pools.pick(rng, tpl.PLACES, language)
    capital = place.str.slice(0, 1).str.to_uppercase() + place.str.slice(1)
    return pools.choose(opens_text, {0: place, 1: capital})


def _contact_segments(
    rng: np.random.Generator, language: np.ndarray, contact: np.ndarray
) -> dict[str, pl.Series]:
    """Contact lines by `contact` code: 0 none, 1 phone, 2 e-mail, 3 name, 4 name and phone."""
    wants_phone, wants_person = (contact == 1) | (contact == 4), contact >= 3
    phone = pools.spread(pii.phones(rng, language[wants_phone]), wants_phone)
    email = pools.spread(pii.emails(rng, language[contact == 2]), contact == 2)
    person = pools.spread(pii.people(rng, language[wants_person]), wants_person)
    name_lead = pools.pick(rng, tpl.NAME_LEADS, language)
    last = pools.choose(contact, {1: phone, 2: email, 3: person, 4: phone})
    ends_with_dot = last.str.ends_with(".").to_numpy()
    return {
        "first_lead": pools.choose(
            contact,
            {
                1: pools.pick(rng, tpl.PHONE_LEADS, language),
                2: pools.pick(rng, tpl.EMAIL_LEADS, language),
                3: name_lead,
                4: name_lead,
            },
        ),
        "first": pools.choose(contact, {1: phone, 2: email, 3: person, 4: person}),
        "second_lead": pools.choose(
            contact == 4, {1: pools.pick(rng, tpl.NAME_PHONE_JOINS, language)}
        ),
        "second": pools.choose(contact == 4, {1: phone}),
        "contact_end": pools.choose(
            (contact > 0) & ~ends_with_dot, {1: pools.repeat(".", len(contact))}
        ),
    }


def _template_pool(
    rng: np.random.Generator, categories: Sequence[str]
) -> tuple[pl.Series, pl.Series, np.ndarray, np.ndarray]:
    """Heads/tails of every template plus its typo variants; offsets/counts per (category, lang)."""
    heads: list[str] = []
    tails: list[str] = []
    offsets = np.zeros(len(categories) * 2, dtype=np.int64)
    counts = np.zeros(len(categories) * 2, dtype=np.int64)
    for position, category in enumerate(categories):
        for language, texts in enumerate(tpl.TEMPLATES[category]):
            offsets[position * 2 + language] = len(heads)
            counts[position * 2 + language] = len(texts)
            for text in texts:
                head, tail = text.split(tpl.ADDR)
                heads.append(head)
                tails.append(tail)
                for _ in range(TYPO_VARIANTS):
                    if rng.random() < 0.5 and len(head) > 8:
                        heads.append(_typo(head, rng))
                        tails.append(tail)
                    else:
                        heads.append(head)
                        tails.append(_typo(tail, rng))
    return pl.Series(heads), pl.Series(tails), offsets, counts


def _typo(text: str, rng: np.random.Generator) -> str:
    """One or two keyboard slips: swapped, dropped or doubled letters."""
    for _ in range(int(rng.integers(1, 3))):
        letters = [i for i, ch in enumerate(text[:-1]) if ch.isalpha() and text[i + 1].isalpha()]
        if not letters:
            return text
        i = letters[int(rng.integers(len(letters)))]
        slip = int(rng.integers(3))
        if slip == 0:
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        elif slip == 1:
            text = text[:i] + text[i + 1 :]
        else:
            text = text[:i] + text[i] + text[i:]
    return text
