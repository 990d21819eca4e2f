"""Where UrbanPulse residents wrote a person's name: "Иванов Иван Иванович", "Ивановой А.С.",
"И. И. Иванов", "Анна Петрова", "John Smith", "J. Smith", "Mrs. Jones", "С уважением, Ольга",
"ask for Ivan Petrov", "спросить Петрову".

A run of capitalised words (split at sentence words such as "Здравствуйте" or "Street") is a
name only with evidence: a known first name next to another name word, initials, a patronymic,
a courtesy title, a sign-off right before it, or a phrase that asks for a person ("contact",
"обращаться к") before a first name, a surname or two name words that are no organisation. A
lone surname-like word is not enough, because streets carry people's names ("ул. Павлова",
"Madison Avenue"): runs right after or before a street word are never people.
"""

from __future__ import annotations

import re

from models.personal_data.names import (
    NAME_CUES,
    NOT_NAME_WORDS,
    ORGANISATION_STEMS,
    ORGANISATION_WORDS,
    RU_PATRONYMIC_ENDINGS,
    RU_SURNAME_ENDINGS,
    SIGN_OFF_CUES,
    STREET_ABBREVIATIONS,
    STREET_WORDS,
    TITLES,
    first_names,
)
from models.personal_data.patterns import NAME_TOKEN

FIRST_NAMES = first_names()
_PATRONYMIC = re.compile(rf"[А-ЯЁ][а-яё]+(?:{RU_PATRONYMIC_ENDINGS})")
_SURNAME = re.compile(rf"[А-ЯЁ][а-яё]+(?:{RU_SURNAME_ENDINGS})")
_WORD_BEFORE = re.compile(r"([\w-]+)(\.?)[ \u00a0]*$")
_WORD_AFTER = re.compile(r"[ \u00a0]*([\w-]+)")
_CUE_BEFORE = re.compile(
    "(?:" + "|".join(re.escape(cue) for cue in SIGN_OFF_CUES) + r")[ \u00a0]*[,:—-]?[ \u00a0]*$",
    re.IGNORECASE,
)
_ASKED_BEFORE = re.compile(
    r"(?<![\w-])(?:" + "|".join(re.escape(cue) for cue in NAME_CUES)
    + r")[ \u00a0]*[,:—-]?[ \u00a0]*$",
    re.IGNORECASE,
)
_LOWER_TITLES = frozenset(t for t in TITLES if t[0].islower())
_STREET_TITLES = frozenset({
    "Street", "St", "Avenue", "Ave", "Road", "Rd", "Lane", "Ln", "Boulevard", "Blvd", "Place",
    "Square", "Sq", "Pl", "Highway", "Hwy", "Drive", "Court", "Ct", "Parkway", "Pkwy", "Terrace",
    "Embankment", "Emb", "Park", "Bridge", "Улица", "Проспект", "Переулок", "Бульвар", "Площадь",
    "Набережная", "Шоссе", "Проезд",
})  # fmt: skip
_MAX_NAME_WORDS = 4
_MAX_ASKED_WORDS = 3
_LOOK_BACK = 24

# Token kinds.
INITIAL, TITLE, FIRST, PATRONYMIC, SURNAME, OTHER, STOP = "I", "T", "F", "P", "S", "C", "X"
# How strongly a word next to initials reads as the name they belong to.
_EVIDENCE = {SURNAME: 2, FIRST: 2, PATRONYMIC: 2, OTHER: 1}


def _kind(match: re.Match[str]) -> str:
    if match.lastgroup == "initial":
        return INITIAL
    if match.lastgroup == "title":
        return TITLE
    word = match.group()
    if word in NOT_NAME_WORDS:
        return STOP
    if word in FIRST_NAMES:
        return FIRST
    if _PATRONYMIC.fullmatch(word):
        return PATRONYMIC
    if _SURNAME.fullmatch(word):
        return SURNAME
    return OTHER


def _runs(text: str) -> list[list[tuple[str, int, int]]]:
    """Capitalised tokens grouped into runs separated by nothing but spaces."""
    runs: list[list[tuple[str, int, int]]] = []
    last_end = -1
    for match in NAME_TOKEN.finditer(text):
        token = (_kind(match), match.start(), match.end())
        if runs and not text[last_end : match.start()].strip(" \u00a0"):
            runs[-1].append(token)
        else:
            runs.append([token])
        last_end = match.end()
    return runs


Token = tuple[str, int, int]  # kind, start, end


def _segments(run: list[Token]) -> list[tuple[list[Token], bool, Token | None]]:
    """Split a run at stop words and titles: (name-word tokens, after a title, word that ends it)."""
    segments = []
    current: list[tuple[str, int, int]] = []
    titled = False
    for token in run:
        if token[0] in (STOP, TITLE):
            if current:
                segments.append((current, titled, token))
            current, titled = [], token[0] == TITLE
        else:
            current.append(token)
    if current:
        segments.append((current, titled, None))
    return segments


def _is_name(kinds: str, titled: bool, signed: bool) -> bool:
    if len(kinds) > _MAX_NAME_WORDS:
        return False
    words = sum(k != INITIAL for k in kinds)
    if words == 0:
        return False
    if PATRONYMIC in kinds and len(kinds) >= 2:
        return True
    if INITIAL in kinds:
        return True
    if FIRST in kinds and words >= 2:
        return True
    if titled:
        return True
    return signed and (words >= 2 or FIRST in kinds or SURNAME in kinds)


def _beside_street(text: str, start: int, end: int, ended_by: tuple[str, int, int] | None) -> bool:
    if ended_by is not None and text[ended_by[1] : ended_by[2]] in _STREET_TITLES:
        return True
    before = _WORD_BEFORE.search(text, max(0, start - _LOOK_BACK), start)
    if before:
        word = before.group(1).lower()
        if word in STREET_WORDS and (not before.group(2) or word in STREET_ABBREVIATIONS):
            return True
    after = _WORD_AFTER.match(text, end)
    return bool(after and after.group(1) in STREET_WORDS)


def person_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every written name in one text."""
    spans = []
    for run in _runs(text):
        for tokens, titled, ended_by in _segments(run):
            kinds = "".join(token[0] for token in tokens)
            named = _is_name(kinds, titled, signed=False)
            if not (named or _weak_evidence(text, tokens, kinds, titled, ended_by)):
                continue
            if not _beside_street(text, tokens[0][1], tokens[-1][2], ended_by):
                tokens = _trimmed(text, tokens, kinds)
                if tokens:
                    spans.append((tokens[0][1], tokens[-1][2]))
    return spans


def _weak_evidence(
    text: str, tokens: list[Token], kinds: str, titled: bool, ended_by: Token | None
) -> bool:
    """Evidence before the segment, looked up only when needed: "г-н Петров", "С уважением,
    Ольга", "ask for Ivan Petrov" (a cue phrase, then no organisation or place word)."""
    start = tokens[0][1]
    window = max(0, start - _LOOK_BACK)
    before = _WORD_BEFORE.search(text, window, start)
    titled = titled or bool(before and before.group(1).lower() in _LOWER_TITLES)
    if _is_name(kinds, titled, signed=_CUE_BEFORE.search(text, window, start) is not None):
        return True
    if len(kinds) > _MAX_ASKED_WORDS or not (
        FIRST in kinds or SURNAME in kinds or kinds == OTHER * 2
    ):
        return False
    if _ASKED_BEFORE.search(text, window, start) is None:
        return False
    words = [*tokens, ended_by] if ended_by else tokens
    return not any(_organisation(text[s:e]) for _, s, e in words)


def _organisation(word: str) -> bool:
    return word in ORGANISATION_WORDS or word.lower().startswith(ORGANISATION_STEMS)


def _trimmed(text: str, tokens: list[Token], kinds: str) -> list[Token]:
    """The name inside a segment: "J. Scannel Manhole" -> "J. Scannel", "Per Joyce Chan" ->
    "Joyce Chan"; runs of three or more initials are abbreviations (C.F.C.), not people."""
    if kinds.count(INITIAL) >= 3:
        return []
    if INITIAL in kinds:
        first, last = kinds.index(INITIAL), kinds.rindex(INITIAL)
        before = _EVIDENCE.get(kinds[first - 1], 0) if first > 0 else -1
        after = _EVIDENCE.get(kinds[last + 1], 0) if last + 1 < len(kinds) else -1
        if after < 0 and before < 0:
            return tokens
        # "Иванов И.И." takes the word before; "J. Smith", "Подписал И. И. Иванов" the one after
        return tokens[first - 1 : last + 1] if before > after else tokens[first : last + 2]
    latin = text[tokens[0][1]].isascii()
    anchor = kinds.find(FIRST) if FIRST in kinds else 0
    return tokens[anchor:] if latin else tokens
