"""Regular expressions for the personal data UrbanPulse residents type into requests: phones,
e-mails and flat numbers (contacts), and the runs of capitalised words people's names hide in.

Contacts are shaped enough for one compiled expression each; names need the word rules of
`models.personal_data.people`. Every pattern refuses to start inside a word or a number, so request ids
(`UP000123456`, `SR#4902585`), house numbers (`д. 15к2`), dates and amounts stay untouched. Phones
may come without separators (`2125550199`, `89161234567`); such a bare number is not one after
"заявка", "request #", "ИНН" and the like (`NUMBERED_BEFORE`), nor a coordinate's decimals or an
amount of money. The address field has flat forms of its own (`ADDRESS_FLAT`).
"""

from __future__ import annotations

import re

from models.personal_data.names import NAME_CUES, SIGN_OFF_CUES, TITLES
from schemas.personal_data import PiiType

# What people put between digit groups: spaces (also no-break and thin ones) and dashes
# (also the typographic ones a word processor makes of "-").
_SPACE = r" \u00a0\u2009\u202f"
_DASH = r"\u2010-\u2014-"
_SEP = rf"[{_SPACE}{_DASH}]*"  # nothing, spaces, dashes
_SEP_US = rf"[{_SPACE}.{_DASH}]*"
_GAP = rf"[{_SPACE}{_DASH}]+"  # at least one separator

# +7 (495) 123-45-67, 8 916 123 45 67, +79161234567, 8-916-123-45-67, 8(925)550-65-83, and
# 7 916 123 45 67 / 79161234567 (a mobile number whose "+" was left out)
_RU_PREFIX = rf"(?:\+7|8|7(?=[{_SPACE}({_DASH}]*9))"
_RU_FULL = rf"{_RU_PREFIX}{_SEP}(?:\(\d{{3}}\)|\d{{3}}){_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}"
# 916 123 45 67, (916) 123 45 67, 9161234567: a mobile number without its country prefix
_RU_MOBILE = rf"(?:\(9\d{{2}}\)|9\d{{2}}){_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}"
# (916) 123-45-67, 916 123-45-67, 123-45-67 (the Moscow number without its code)
_RU_LOCAL = rf"(?:(?:\(\d{{3}}\)[{_SPACE}]*|\d{{3}}{_GAP})?\d{{3}}-\d{{2}}-\d{{2}})"
# (212) 555-0142, (415)-252-3800, 212-555-0142, 212.555.0142, 212 5550142, +1 415 555 0199,
# +14155550199, 555-0142, and the bare 2125550199 / 12125550199 (the area code and the exchange
# never start with 0 or 1)
_AREA_US = rf"\(\d{{3}}\)[{_SPACE}{_DASH}]*"  # "(415) ", "(415)-"
_US_FULL = (
    rf"(?:(?:\+1|1(?=[{_SPACE}.{_DASH}])){_SEP_US}(?:\(\d{{3}}\)|\d{{3}})"
    rf"{_SEP_US}\d{{3}}{_SEP_US}\d{{4}}"
    rf"|(?:{_AREA_US}|\d{{3}}[{_SPACE}.{_DASH}]+)\d{{3}}[{_SPACE}.{_DASH}]+\d{{4}}"
    rf"|(?:{_AREA_US}|\d{{3}}[{_SPACE}]+)\d{{7}}"
    r"|1?[2-9]\d{2}[2-9]\d{6}"
    r"|\d{3}-\d{4})"
)
# Never inside a word, a number, a coordinate ("55.7558123456") or an amount ("9500000000 руб.").
_NOT_AMOUNT = r"(?![ \u00a0]*(?i:руб|р\.|₽|\$|usd|eur|€|rub|dollars?|тыс|млн|млрд|коп))"
PHONE = (  # the first lookahead only lets the engine skip quickly past letters
    rf"(?=[+(\d])(?<![\w+#№/$₽-])(?<!\d[.,])(?:{_RU_FULL}|{_RU_MOBILE}|{_US_FULL}|{_RU_LOCAL})"
    rf"(?![\w/-]|[.,]\d){_NOT_AMOUNT}"
)
# What makes a bare run of digits the number of something other than a phone: "заявка
# 2125550199", "ИНН 7701234567", "BBL 3012340001" (looked at only when a phone has no separators).
NUMBERED_BEFORE = re.compile(
    r"(?<![\w-])(?:заявк\w*|обращени\w*|request|ticket|case|sr|order|ref|id|инн|огрн|снилс|кпп"
    r"|бик|сч[её]т\w*|договор\w*|account|acct|invoice|bbl|bin|полис\w*|паспорт\w*)"
    r"[ \u00a0:.#№-]*(?:(?:№|#|no\.?|nr\.?|number|номер)[ \u00a0:.-]*)?$",
    re.IGNORECASE,
)

# a.b+tag@sub.domain.org (Cyrillic mailboxes and domains too: почта@город.рф)
EMAIL = r"(?<![\w.+-])[\w+-]+(?:\.[\w+-]+)*@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w@])"

# кв. 12, кв.344, квартира 5, квартиры 12а, кв-ра 7, кв № 3; apt 4B, Apt. 12, apartment #3,
# unit 3, flat 7; and "#5C" (a bare number after # is a house or a ticket, so a letter
# is needed).
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
    r"(?:apt|apartment|flat|unit)\.?[ \u00a0]*(?:no\.?[ \u00a0]*|#[ \u00a0]*)?[a-z]?\d{1,4}"
    r"(?:-?[a-z](?![a-z]))?" + _HOUSE_FOLLOWS
)
_FLAT_HASH = r"#\d{1,4}[a-z](?!\w)"
FLAT = rf"(?<![\w#])(?:{_FLAT_RU}|{_FLAT_EN})(?![\w/-]|[.,]\d)|(?<![\w#]){_FLAT_HASH}"
# In the address field, a "#" after the street is the flat or unit whether or not a letter
# follows ("123 Main St #4", "Main St, # 12"); a "#536" that opens the address is the house. And
# a flat may be a capital letter alone ("848 PACIFIC AVE, Apt E", as San Francisco writes them),
# which in free text would as often be a sentence going on ("the unit. T can file").
_FLAT_HASH_ADDRESS = (
    r"(?:(?<=\w[ \u00a0,.])|(?<=\w[.,][ \u00a0]))#[ \u00a0]*\d{1,4}(?:-?[a-z](?![a-z]))?(?![\w/-])"
)
_FLAT_LETTER_ADDRESS = (
    r"(?<![\w#])(?:apt|apartment|unit)\.?[ \u00a0]*#?[ \u00a0]*(?-i:[A-Z])(?![\w'-])"
)
ADDRESS_FLAT_HINT = r"(?i)кв|apt|apartment|flat|unit|#"
ADDRESS_FLAT = re.compile(
    rf"{FLAT}|{_FLAT_HASH_ADDRESS}|{_FLAT_LETTER_ADDRESS}", re.IGNORECASE
)

# Per contact type: a whole-column pre-filter (Rust regex in polars, run once over the column)
# and the exact expression run only on the rows the pre-filter lets through.
CONTACTS: dict[str, tuple[str, re.Pattern[str]]] = {
    PiiType.EMAIL: ("@", re.compile(EMAIL)),
    PiiType.PHONE: (rf"\d(?:[{_SPACE}().{_DASH}]*\d){{6}}", re.compile(PHONE)),
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
    + ")|(?i:"
    + "|".join(re.escape(cue) for cue in NAME_CUES)
    + r")[ \u00a0]*[,:—-]?[ \u00a0]*[A-ZА-ЯЁ]"
)
