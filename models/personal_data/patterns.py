"""Regular expressions for the personal data UrbanPulse residents type into requests: phones,
e-mails and flat numbers (contacts), and the runs of capitalised words people's names hide in.

Contacts are shaped enough for one compiled expression each; names need the word rules of
`models.personal_data.people`. Every pattern refuses to start inside a word or a number, so request ids
(`UP000123456`, `SR#4902585`), house numbers (`д. 15к2`), dates and amounts stay untouched.
"""

from __future__ import annotations

import re

from models.personal_data.names import SIGN_OFF_CUES, TITLES
from schemas.personal_data import PiiType

_SEP = r"[ \u00a0-]*"  # what people put between digit groups (nothing, spaces, dashes)
_SEP_US = r"[ \u00a0.-]*"
_GAP = r"[ \u00a0-]+"  # at least one separator

# +7 (495) 123-45-67, 8 916 123 45 67, +79161234567, 8-916-123-45-67, 8(925)550-65-83
_RU_FULL = rf"(?:\+7|8){_SEP}(?:\(\d{{3}}\)|\d{{3}}){_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}"
# (916) 123-45-67, 916 123-45-67, 123-45-67 (the Moscow number without its code)
_RU_LOCAL = rf"(?:(?:\(\d{{3}}\)[ \u00a0]*|\d{{3}}{_GAP})?\d{{3}}-\d{{2}}-\d{{2}})"
# (212) 555-0142, 212-555-0142, 212.555.0142, +1 415 555 0199, +14155550199, 555-0142
_US_FULL = (
    rf"(?:(?:\+1|1(?=[ .-])){_SEP_US}(?:\(\d{{3}}\)|\d{{3}}){_SEP_US}\d{{3}}{_SEP_US}\d{{4}}"
    rf"|(?:\(\d{{3}}\)[ \u00a0]*|\d{{3}}[ \u00a0.-]+)\d{{3}}[ \u00a0.-]+\d{{4}}"
    r"|\d{3}-\d{4})"
)
PHONE = rf"(?<![\w+#/-])(?:{_RU_FULL}|{_US_FULL}|{_RU_LOCAL})(?![\w/-]|[.,]\d)"

# a.b+tag@sub.domain.org (Cyrillic mailboxes and domains too: почта@город.рф)
EMAIL = r"(?<![\w.+-])[\w+-]+(?:\.[\w+-]+)*@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w@])"

# кв. 12, кв.344, квартира 5, квартиры 12а, кв-ра 7, кв № 3; apt 4B, Apt. 12, apartment #3,
# unit 3, flat 7; and "#5C" (a bare number after # is a house or a ticket, so a letter is needed).
_FLAT_RU = (
    r"(?:кв(?:артир[аеуыо]й?)?\.?|кв-р[аеуы])[ \u00a0]*(?:№[ \u00a0]*)?\d{1,4}(?:[а-яёa-z](?!\w))?"
)
_STREET_TYPES_EN = (
    "street|st|avenue|ave|road|rd|lane|ln|boulevard|blvd|highway|hwy|embankment|emb|square|sq"
    "|drive|dr|place|pl|court|ct|parkway|pkwy|terrace"
)
# "in my apartment 18 Yuzhnaya Street": the number is the house, not the flat.
_HOUSE_FOLLOWS = rf"(?![ \u00a0]+(?:bldg?\b|(?:[\w.]+[ \u00a0]+){{1,2}}(?:{_STREET_TYPES_EN})\b))"
_FLAT_EN = (
    r"(?:apt|apartment|flat|unit)\.?[ \u00a0]*(?:no\.?[ \u00a0]*|#[ \u00a0]*)?[a-z]?\d{1,4}[a-z]?"
    + _HOUSE_FOLLOWS
)
_FLAT_HASH = r"#\d{1,4}[a-z](?!\w)"
FLAT = rf"(?<![\w#])(?:{_FLAT_RU}|{_FLAT_EN})(?![\w/-]|[.,]\d)|(?<![\w#]){_FLAT_HASH}"

# Per contact type: a whole-column pre-filter (Rust regex in polars, run once over the column)
# and the exact expression run only on the rows the pre-filter lets through.
CONTACTS: dict[str, tuple[str, re.Pattern[str]]] = {
    PiiType.EMAIL: ("@", re.compile(EMAIL)),
    PiiType.PHONE: (r"\d(?:[ \u00a0().-]*\d){6}", re.compile(PHONE)),
    PiiType.FLAT: (r"(?i)кв|apt|apartment|flat|unit|#\d", re.compile(FLAT, re.IGNORECASE)),
}

# A run of capitalised words, initials and titles: where any written name must sit.
_INITIAL = r"[A-ZА-ЯЁ]\."
_TITLE = "|".join(t for t in TITLES if t[0].isupper())
_WORD = r"[A-ZА-ЯЁ](?:'[A-Z])?[a-zа-яё]+(?:-[A-ZА-ЯЁа-яё][a-zа-яё]+)?"
# Any word that may belong to a written name: an initial, a courtesy title or a capitalised word.
NAME_TOKEN = re.compile(
    rf"(?<![\w&-])(?:(?P<initial>{_INITIAL})|(?P<title>(?:{_TITLE})\.?(?=[ \u00a0]))|(?P<word>{_WORD}))"
)

# Rows without any of these cannot hold a written name.
NAME_HINT = (
    rf"[A-ZА-ЯЁ]\.|[A-ZА-ЯЁ][a-zа-яё]+[ \u00a0]+[A-ZА-ЯЁ]|(?:{_TITLE})\.?[ \u00a0]|г-н|г-жа|(?i:"
    + "|".join(re.escape(cue) for cue in SIGN_OFF_CUES)
    + ")"
)
