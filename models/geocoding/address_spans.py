"""Finding the address a resident wrote inside a request's text, with spaCy (no model download).

"Сломан лифт по адресу: Нижняя ул. д.91, кв. 293 уже неделю" -> "Нижняя ул. д.91". A blank
multi-language pipeline (`spacy.blank("xx")`) tokenises Russian and English alike; a `Matcher`
anchored on street-type words and house numbers marks the candidate spans, in three shapes:
type then name then house ("ул. Героев Панфиловцев, д. 120"), name then type then house
("Прудовый пер., 9", "Lugovaya St 57B") and, in English, house first ("40 Dostoevskogo St").
A span is then stretched over the house's parts (корп. 2, стр. 1, литера А). Parsing the span
is `models.geocoding.address_parser`'s job; only the texts that need it pass through here.
"""

from __future__ import annotations

import polars as pl
import spacy
from spacy.matcher import Matcher
from spacy.tokens import Doc
from spacy.util import filter_spans

from models.geocoding.address_parser import STREET_TYPE_KEYS

ADDRESS_LABEL = "ADDRESS"
STREET_LABEL = "STREET"
BATCH_SIZE = 1000
# Words that lead into an address but are never part of a street name.
# fmt: off
LEAD_WORDS = {
    "по", "адресу", "адрес", "около", "дома", "дом", "возле", "у", "на", "в", "во", "напротив",
    "рядом", "с", "со", "за", "под", "над", "перед", "улице", "улица", "и", "а", "не", "двор",
    "at", "near", "on", "in", "front", "of", "the", "by", "next", "to", "across", "from", "and",
    "address", "is", "my", "our", "outside", "opposite", "behind",
}
_HOUSE_PART_WORDS = {
    "к", "корп", "корпус", "с", "стр", "строение", "лит", "литера", "bld", "bldg", "building",
    "k", "litera", ".", "-", "/",
}
# fmt: on
_HOUSE_LETTERS = set("абвгдежзabcdefghv")
_SPLIT_TYPES = [("пр", "т"), ("пр", "кт"), ("б", "р"), ("пр", "д")]  # "пр-т" -> пр - т
_HOUSE = {"LOWER": {"REGEX": r"^(?:д\.?|дом)?\d+[0-9а-яa-z/]*\.?$"}}  # "10А." keeps its dot
_HOUSE_LEAD = {"LOWER": {"IN": ["д", "дом", "bldg", "building", "house", "no"]}, "OP": "?"}
_DOT = {"ORTH": ".", "OP": "?"}
_COMMA = {"ORTH": ",", "OP": "?"}


def _name_word(count: str, latin: bool = False) -> dict:
    """A word of a street name: letters (or an ordinal such as 2-я, 1st), never a lead word."""
    ordinal = r"\d+-?(?:[а-я]{1,3}|st|nd|rd|th)"
    letters = r"[a-z][\w-]*" if latin else r"[^\W\d_][\w-]*"
    return {  # a hyphen is a word of its own to the tokenizer: Римского - Корсакова
        "LOWER": {"NOT_IN": sorted(LEAD_WORDS | set(STREET_TYPE_KEYS))},
        "TEXT": {"REGEX": rf"(?i)^(?:{letters}|{ordinal}|-)$"},
        "OP": count,
    }


def _type_patterns(words: list[str]) -> list[list[dict]]:
    patterns = [[{"LOWER": {"IN": sorted(w for w in words if "-" not in w)}}, _DOT]]
    split = [(a, b) for a, b in _SPLIT_TYPES if f"{a}-{b}" in words]
    return patterns + [[{"LOWER": a}, {"ORTH": "-"}, {"LOWER": b}, _DOT] for a, b in split]


def _patterns() -> dict[str, list[list[dict]]]:
    """Russian types may lead ("ул. Садовая"); English ones only follow ("Sadovaya St"), so
    "street lamp 209" is no address. Without a house, only abbreviations count: "Broken street"
    is prose."""
    russian = [w for w in STREET_TYPE_KEYS if not w.isascii()]
    english = [w for w in STREET_TYPE_KEYS if w.isascii()]
    name, latin_name = _name_word("{1,5}"), _name_word("{1,5}", latin=True)
    lead = [_COMMA, _HOUSE_LEAD, _DOT, _HOUSE]
    building = [{"LOWER": {"IN": ["bld", "bldg", "k"]}, "OP": "?"}, {"IS_DIGIT": True, "OP": "?"}]
    address, street = [], []
    for kind in _type_patterns(russian):
        address += [[*kind, name, *lead], [name, *kind, *lead]]  # ул. Садовая, д. 5 / Садовая ул., 5
    for kind in _type_patterns([w for w in russian if w != "дорога"]):  # "Разбита дорога"
        street += [[*kind, name], [name, *kind]]
    for kind in _type_patterns(english):
        address += [[latin_name, *kind, *lead], [_HOUSE, *building, latin_name, *kind]]  # 5 Sadovaya St
    abbreviations = [w for w in english if len(w) <= 4 and w not in ("way", "road")]
    street += [[latin_name, *kind] for kind in _type_patterns(abbreviations)]
    return {ADDRESS_LABEL: address, STREET_LABEL: street}


class AddressSpanFinder:
    """`find(texts)`: the address each text names (its first one), or null."""

    def __init__(self) -> None:
        self.nlp = spacy.blank("xx")
        self.matcher = Matcher(self.nlp.vocab)
        for label, patterns in _patterns().items():
            self.matcher.add(label, patterns)

    def find(self, texts: pl.Series) -> pl.Series:
        found: list[str | None] = []
        values = texts.cast(pl.String).fill_null("").to_list()
        for doc in self.nlp.pipe(values, batch_size=BATCH_SIZE):
            found.append(self._best_span(doc))
        return pl.Series(texts.name, found, dtype=pl.String)

    def _best_span(self, doc: Doc) -> str | None:
        matches = self.matcher(doc, as_spans=True)
        if not matches:
            return None
        with_house = [s for s in matches if s.label_ == ADDRESS_LABEL]
        best = min(filter_spans(with_house or matches), key=lambda s: s.start)
        end = best.end
        if with_house and any(ch.isdigit() for ch in doc[end - 1].text):
            end = _stretch_over_house_parts(doc, end)
        return doc[best.start:end].text


def _stretch_over_house_parts(doc: Doc, end: int) -> int:
    """Extend past "корп. 2", "стр. 1", "-17", "литера А" that follow a house number."""
    while end < len(doc):
        token = doc[end]
        lower = token.lower_
        follows_word = end + 1 < len(doc) and doc[end + 1].is_alpha
        if lower in _HOUSE_PART_WORDS or token.is_digit or (lower in _HOUSE_LETTERS and not follows_word):
            end += 1
        else:
            break
    while end > 0 and doc[end - 1].lower_ in _HOUSE_PART_WORDS:  # never end on a bare marker
        end -= 1
    return end
