"""One Latin key for a Russian street name and every way it is spelt in Latin letters.

"Садовая", "Sadovaya", "Sadovaia" and "Sadovaja" are one street; so are "Петергоф" and
"Peterhof", "Невский" and "Nevsky"/"Nevskiy"/"Nevskij". The key is the Cyrillic text transliterated
by one table, then both scripts folded the same way: the letters the romanisation schemes
(GOST 7.79, ICAO, BGN/PCGN, the scientific one, and residents' own) disagree on are collapsed
(y/j/i, ya/ia/ja, kh/h/g, ts/tz/c, shch/sch/sh/s, doubled letters), soft and hard signs dropped.
Two names share a key only when they sound alike, so a key join is a cheap cross-script match.

Hand-written, not `transliterate` or `cyrtranslit`: those turn one string into one scheme's
spelling, in per-string Python; residents mix schemes, so what is needed is a folding that sends
all of them to one key, and it runs as polars `replace_many` over whole columns.
"""

from __future__ import annotations

import polars as pl

# fmt: off
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}
# Latin spellings that differ between schemes, longest first (replace_many is leftmost-longest).
_FOLD = {
    "shch": "s", "sch": "s", "sh": "s", "zh": "z", "ch": "c", "tch": "c", "kh": "g", "h": "g",
    "ts": "c", "tz": "c", "cz": "c", "x": "ks", "w": "v", "q": "k",
    "ya": "a", "ia": "a", "ja": "a", "yu": "u", "iu": "u", "ju": "u", "yo": "o", "jo": "o",
    "ye": "e", "je": "e", "ie": "e", "iy": "i", "yi": "i", "ii": "i", "ij": "i", "y": "i", "j": "i",
    "'": "", "`": "",
}
_DOUBLED = [c * 2 for c in "abcdefghijklmnopqrstuvwxyz"]
# fmt: on


def latin_key(names: pl.Expr) -> pl.Expr:
    """Lower-case names (either script) -> their folded Latin key; null stays null."""
    latin = names.str.to_lowercase().str.replace_many(list(_CYRILLIC), list(_CYRILLIC.values()))
    folded = latin.str.replace_many(list(_FOLD), list(_FOLD.values()), leftmost=True)
    for _ in range(2):  # "nn" -> "n"; twice for the "ii" a fold may leave behind
        folded = folded.str.replace_many(_DOUBLED, [d[0] for d in _DOUBLED], leftmost=True)
    return folded.str.replace_all(r"\s+", " ").str.strip_chars()
