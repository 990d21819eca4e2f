"""Regular expressions for the personal data UrbanPulse residents type into requests: phones,
e-mails and flat numbers (contacts), and the tokens people's names are made of.

They run in polars' Rust regex engine over whole columns (`models.personal_data.matches`), which
has no look-around: each *candidate* pattern finds the shape, and a *context* pattern, matched
against the text just before (`..._BEFORE`, anchored with `$`) or after (`..._AFTER`, anchored
with `^`) a candidate, rejects it. Together they keep the old rules: nothing starts inside a word
or a number, so request ids (`UP000123456`, `SR#4902585`), house numbers (`д. 15к2`), dates and
amounts stay untouched; a bare run of digits is no phone after "заявка", "request #", "ИНН" and
the like (`NUMBERED_BEFORE`), nor a coordinate's decimals or an amount of money.
"""

from __future__ import annotations

from models.personal_data.names import TITLES

# What people put between digit groups: spaces (also no-break and thin ones) and dashes
# (also the typographic ones a word processor makes of "-").
_SPACE = " \u00a0\u2009\u202f"
_DASH = "\u2010-\u2014-"
_SEP = rf"[{_SPACE}{_DASH}]*"  # nothing, spaces, dashes
_SEP_US = rf"[{_SPACE}.{_DASH}]*"
_GAP = rf"[{_SPACE}{_DASH}]+"  # at least one separator
# Digits never start a phone right after an ASCII letter or digit (the engine has no look-behind;
# `PHONE_BEFORE` rejects the rest).
_B = r"(?-u:\b)"

# +7 (495) 123-45-67, 8 916 123 45 67, +79161234567, 8-916-123-45-67, 8(925)550-65-83, and
# 7 916 123 45 67 / 79161234567 (a mobile number whose "+" was left out)
_RU_FULL = (
    rf"(?:(?:\+7|{_B}8){_SEP}(?:\(\d{{3}}\)|\d{{3}})|{_B}7{_SEP}(?:\(9\d{{2}}\)|9\d{{2}}))"
    rf"{_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}"
)
# 916 123 45 67, (916) 123 45 67, 9161234567: a mobile number without its country prefix
_RU_MOBILE = rf"(?:\(9\d{{2}}\)|{_B}9\d{{2}}){_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}"
# (916) 123-45-67, 916 123-45-67, 123-45-67 (the Moscow number without its code)
_RU_LOCAL = rf"(?:(?:\(\d{{3}}\)[{_SPACE}]*|{_B}\d{{3}}{_GAP}|{_B})\d{{3}}-\d{{2}}-\d{{2}})"
# (212) 555-0142, (415)-252-3800, 212-555-0142, 212.555.0142, 212 5550142, +1 415 555 0199,
# +14155550199, 555-0142, and the bare 2125550199 / 12125550199 (the area code and the exchange
# never start with 0 or 1)
_AREA_US = rf"\(\d{{3}}\)[{_SPACE}{_DASH}]*"  # "(415) ", "(415)-"
_US_FULL = (
    rf"(?:(?:\+1{_SEP_US}|{_B}1[{_SPACE}.{_DASH}]+)(?:\(\d{{3}}\)|\d{{3}})"
    rf"{_SEP_US}\d{{3}}{_SEP_US}\d{{4}}"
    rf"|(?:{_AREA_US}|{_B}\d{{3}}[{_SPACE}.{_DASH}]+)\d{{3}}[{_SPACE}.{_DASH}]+\d{{4}}"
    rf"|(?:{_AREA_US}|{_B}\d{{3}}[{_SPACE}]+)\d{{7}}"
    rf"|{_B}1?[2-9]\d{{2}}[2-9]\d{{6}}"
    rf"|{_B}\d{{3}}-\d{{4}})"
)
PHONE = rf"{_RU_FULL}|{_RU_MOBILE}|{_US_FULL}|{_RU_LOCAL}"
# Never inside a word or a number ("+" and "#" open ids, "55.7558123456" is a coordinate), never
# followed by a word, a unit or an amount ("9500000000 руб.").
PHONE_BEFORE = r"(?:[\w+#№/$₽-]|\d[.,])$"
PHONE_AFTER = (
    r"^(?:[\w/-]|[.,]\d|[ \u00a0]*(?i:руб|р\.|₽|\$|usd|eur|€|rub|dollars?|тыс|млн|млрд|коп))"
)
# What makes a bare run of digits the number of something other than a phone: "заявка
# 2125550199", "ИНН 7701234567", "BBL 3012340001" (looked at only when a phone has no separators).
NUMBERED_BEFORE = (
    r"(?i)(?:^|[^\w-])(?:заявк\w*|обращени\w*|request|ticket|case|sr|order|ref|id|инн|огрн"
    r"|снилс|кпп|бик|сч[её]т\w*|договор\w*|account|acct|invoice|bbl|bin|полис\w*|паспорт\w*)"
    r"[ \u00a0:.#№-]*(?:(?:№|#|no\.?|nr\.?|number|номер)[ \u00a0:.-]*)?$"
)
NUMBERED_LOOK_BACK = 40

# a.b+tag@sub.domain.org (Cyrillic mailboxes and domains too: почта@город.рф)
EMAIL = r"[\w+-]+(?:\.[\w+-]+)*@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}"
EMAIL_BEFORE = r"[\w.+-]$"
EMAIL_AFTER = r"^[\w@]"

# кв. 12, кв.344, квартира 5, квартиры 12а, кв-ра 7, кв № 3; apt 4B, Apt. 12, apartment #3,
# unit 3, flat 7; and "#5C" (a bare number after # is a house or a ticket, so a letter
# is needed).
_FLAT_RU = (
    r"(?:кв(?:артир[аеуыо]й?)?\.?|кв-р[аеуы])[ \u00a0]*(?:№[ \u00a0]*)?\d{1,4}(?:[а-яёa-z])?"
)
_FLAT_EN = (
    r"(?:apt|apartment|flat|unit)\.?[ \u00a0]*(?:no\.?[ \u00a0]*|#[ \u00a0]*)?[a-z]?\d{1,4}"
    r"(?:-?[a-z])?"
)
_STREET_TYPES_EN = (
    "street|st|avenue|ave|road|rd|lane|ln|boulevard|blvd|highway|hwy|embankment|emb|square|sq"
    "|drive|dr|place|pl|court|ct|parkway|pkwy|terrace"
)
FLAT = rf"(?i){_FLAT_RU}|{_FLAT_EN}|#\d{{1,4}}[a-z]"
FLAT_BEFORE = r"[\w#]$"
FLAT_AFTER = r"^(?:[\w/-]|[.,]\d)"
FLAT_HASH_AFTER = r"^\w"
# "in my apartment 18 Yuzhnaya Street": the number is the house, not the flat.
FLAT_HOUSE_AFTER = (
    rf"(?i)^[ \u00a0]+(?:bldg?\b|(?:[\w.]+[ \u00a0]+){{1,2}}(?:{_STREET_TYPES_EN})\b)"
)
# In the address field, a "#" after the street is the flat or unit whether or not a letter
# follows ("123 Main St #4", "Main St, # 12"); a "#536" that opens the address is the house. And
# a flat may be a capital letter alone ("848 PACIFIC AVE, Apt E", as San Francisco writes them),
# which in free text would as often be a sentence going on ("the unit. T can file").
ADDRESS_FLAT = (
    rf"(?i){_FLAT_RU}|{_FLAT_EN}|#[ \u00a0]*\d{{1,4}}(?:-?[a-z])?"
    r"|(?:apt|apartment|unit)\.?[ \u00a0]*#?[ \u00a0]*(?-i:[A-Z])"
)
ADDRESS_HASH_BEFORE = r"\w[ \u00a0,.]$|\w[.,][ \u00a0]$"
ADDRESS_LETTER_AFTER = r"^[\w'-]"
CONTEXT = 12  # characters after a contact that its context rules look at

# Any word that may belong to a written name: an initial ("И.", "J."), a courtesy title, a
# capitalised word, or a word in capitals ("ИВАНОВ", "SMITH"; a name only with dictionary
# evidence). Longer titles first: the engine takes the first alternative that matches.
_TITLES_UPPER = "|".join(sorted((t for t in TITLES if t[0].isupper()), key=len, reverse=True))
NAME_TOKEN = (
    r"(?:([A-ZА-ЯЁ]\.)|((?:" + _TITLES_UPPER + r")\.?)[ \u00a0]|"
    r"[A-ZА-ЯЁ](?:'[A-Z])?[a-zа-яё]+(?:-[A-ZА-ЯЁа-яё][a-zа-яё]+)?"
    r"|[A-ZА-ЯЁ]{2,}(?:-[A-ZА-ЯЁ]{2,})?)"
)
# A name token right after one of these is part of a word or of an abbreviation with a slash
# ("AT&T", "M/S. Spoke to homeowner", "L/L"); "center/P. Morles" is a name after a slash.
TOKEN_GLUED_BEFORE = r"(?:[\w&-]|(?:^|[^\w])\w/)$"
