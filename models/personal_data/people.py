"""Where UrbanPulse residents wrote a person's name: "Иванов Иван Иванович", "Ивановой А.С.",
"И. И. Иванов", "Анна Петрова", "John Smith", "J. Smith", "Mrs. Jones", "С уважением, Ольга",
"ask for Ivan Petrov", "спросить Петрову", "гр. Кот", "ИВАНОВ ИВАН", "JOHN SMITH".

A run of capitalised words (split at sentence words such as "Здравствуйте" or "Street") is a
name only with evidence: a known first name next to another name word, initials, a patronymic,
a courtesy title or a person marker ("гр.", "жилец", "Mr") before it, a sign-off right before it,
or a phrase that asks for a person ("contact", "обращаться к") before a first name, a surname or
two name words that are no organisation. A lone surname-like word is not enough, because streets
carry people's names ("ул. Павлова", "Madison Avenue"): runs right after or before a street word
are never people. Words in capitals count only through the name lists (a first name, a Russian
surname or patronymic ending), since 311 systems write whole addresses in capitals.

The rules run as polars expressions over a frame of all name tokens of the column (one row per
token, then one per run segment), not per text: the Rust regex engine finds the tokens, hash
joins classify them, and cumulative sums group them into runs and segments.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from models.personal_data import names as nm
from models.personal_data.matches import BEFORE, END, MATCH, ROW, START, find_matches
from models.personal_data.patterns import NAME_TOKEN, TOKEN_GLUED_BEFORE
from schemas.personal_data import PII_TYPE, PiiType

FIRST_NAMES = nm.first_names()
_LOOK_BACK = 24
# Token kinds: initial, title, first name, patronymic, surname, other word, word in capitals
# without dictionary evidence, and a stop word (or a token glued to the word before it).
INITIAL, TITLE, FIRST, PATRONYMIC, SURNAME, OTHER, CAPITALS, STOP = "ITFPSCUX"
_STREET_TITLES = (
    "Street", "St", "Avenue", "Ave", "Road", "Rd", "Lane", "Ln", "Boulevard", "Blvd", "Place",
    "Square", "Sq", "Pl", "Highway", "Hwy", "Drive", "Court", "Ct", "Parkway", "Pkwy", "Terrace",
    "Embankment", "Emb", "Park", "Bridge", "Улица", "Проспект", "Переулок", "Бульвар", "Площадь",
    "Набережная", "Шоссе", "Проезд", "Way", "Aly", "Alley", "Dr", "Corner", "Circle", "Cir",
    "Plaza", "Plz", "Loop", "Walk", "Row",
)  # fmt: skip
_LOWER_TITLES = tuple(t for t in nm.TITLES if t[0].islower())


def _alternation(words) -> str:
    """Longest first: the Rust engine takes the first alternative that matches."""
    return "|".join(pl.escape_regex(w) for w in sorted(words, key=len, reverse=True))


# Rows without any of these cannot hold a written name: an initial, a first name (as written or
# in capitals), a patronymic, a title, or a marker or cue phrase before a capital letter.
_FIRST_FORMS = sorted(FIRST_NAMES | {name.upper() for name in FIRST_NAMES})
NAME_HINT = (
    rf"[A-ZА-ЯЁ]\.|(?:{_alternation(_FIRST_FORMS)})(?:[^a-zа-яё]|$)"
    rf"|[а-яё](?:ович|евич|ьич|ичн|овн|евн|ОВИЧ|ЕВИЧ|ЬИЧ|ИЧН|ОВН|ЕВН)"
    rf"|(?:{_alternation([t for t in nm.TITLES if t[0].isupper()] + [t.upper() for t in nm.CAPITAL_TITLES])})\.?[ \u00a0]"
    rf"|(?i:{_alternation(nm.PERSON_MARKERS + nm.SIGN_OFF_CUES + nm.NAME_CUES)})[ \u00a0]*[,:—.-]?[ \u00a0]*[A-ZА-ЯЁ]"
)
_CUE_BEFORE = rf"(?i)(?:{_alternation(nm.SIGN_OFF_CUES)})[ \u00a0]*[,:—-]?[ \u00a0]*$"
_ASKED_BEFORE = rf"(?i)(?:^|[^\w-])(?:{_alternation(nm.NAME_CUES)})[ \u00a0]*[,:—-]?[ \u00a0]*$"
# markers as written, capitalised or (but for the English "MS", a main sewer) in capitals
_MARKERS = {form for m in nm.PERSON_MARKERS for form in (m, m.capitalize(), m.upper()) if form != "MS"}
_MARKER_BEFORE = rf"(?:^|[^\w-])(?:{_alternation(_MARKERS)})\.?[ \u00a0]*$"
# a street type within the next words: "ADAM CLAYTON POWELL JR BOULEVARD", "John Muir Dr"
_STREET_AHEAD = (
    r"^(?:[ \u00a0]+[A-ZА-ЯЁ][\w'.-]*){0,2}[ \u00a0]+(?i:street|st|avenue|ave|road|rd|lane|ln"
    r"|boulevard|blvd|place|pl|square|sq|highway|hwy|drive|dr|court|ct|parkway|pkwy|terrace|ter"
    r"|way|aly|alley|circle|cir|plaza|plz|loop|walk|row)(?:[^\w]|$)"
)
_ANY_CUE_BEFORE = (
    rf"(?i)(?:{_alternation(nm.SIGN_OFF_CUES + nm.NAME_CUES + nm.PERSON_MARKERS)})\.?[ \u00a0]*[,:—-]?[ \u00a0]*$"
)
_WORD_BEFORE = r"([\w-]+)(\.?)[ \u00a0]*$"
_PATRONYMIC = rf"^[А-ЯЁ][а-яё]+(?:{nm.RU_PATRONYMIC_ENDINGS})$"
_SURNAME = rf"^[А-ЯЁ][а-яё]+(?:{nm.RU_SURNAME_ENDINGS})$"
_ORGANISATION_STEMS = rf"^(?:{'|'.join(nm.ORGANISATION_STEMS)})"
_EMPTY = pl.DataFrame(schema={ROW: pl.UInt32, START: pl.Int32, END: pl.Int32, PII_TYPE: pl.String})


_NOT_NAME = sorted(nm.NOT_NAME_WORDS)
_FIRST = sorted(FIRST_NAMES)
_CAPITAL_STOP = sorted(nm.CAPITAL_STOP_WORDS)


def _token_kinds(tokens: pl.DataFrame) -> pl.DataFrame:
    """Each token's kind and its dictionary key (capitals looked up title-cased)."""
    match = tokens.get_column(MATCH)
    titles = match.str.ends_with(" ") | match.str.ends_with("\u00a0")
    word = match.str.strip_chars_end(" \u00a0")
    capitals = match.str.contains(r"^.[A-ZА-ЯЁ]")
    upper = np.flatnonzero(capitals.to_numpy())
    key = word.scatter(upper, word.gather(upper).str.to_titlecase()) if len(upper) else word
    previous_end = pl.col(MATCH).shift(1).str.slice(-1, 1)
    glued = pl.col(BEFORE).str.contains(TOKEN_GLUED_BEFORE) | (
        (pl.col(BEFORE) == "") & (pl.col(ROW) == pl.col(ROW).shift(1))
        & previous_end.str.contains(TOKEN_GLUED_BEFORE).fill_null(False)
    )
    frame = tokens.with_columns(
        key.alias("key"), word.alias("_word"), capitals.alias("capitals"), titles.alias("_title"),
        glued.alias("glued"),
    )
    k, w, caps = pl.col("key"), pl.col("_word"), pl.col("capitals")
    kind = (
        pl.when(pl.col("glued")).then(pl.lit(STOP))
        .when(pl.col("_title")).then(pl.lit(TITLE))
        .when((w.str.len_bytes() <= 3) & w.str.ends_with(".")).then(pl.lit(INITIAL))
        .when(caps & k.is_in(nm.CAPITAL_TITLES)).then(pl.lit(TITLE))
        .when(k.is_in(_NOT_NAME) | w.is_in(_NOT_NAME)).then(pl.lit(STOP))
        .when(caps & k.is_in(_CAPITAL_STOP)).then(pl.lit(STOP))
        .when(k.is_in(_FIRST)).then(pl.lit(FIRST))
        .when(k.str.contains(_PATRONYMIC)).then(pl.lit(PATRONYMIC))
        .when(k.str.contains(_SURNAME)).then(pl.lit(SURNAME))
        .when(caps & (w.str.len_chars() <= 3)).then(pl.lit(STOP))
        .when(caps).then(pl.lit(CAPITALS))
        .otherwise(pl.lit(OTHER))
    )  # fmt: skip
    end = pl.when(pl.col("_title")).then(pl.col(START) + w.str.len_chars()).otherwise(pl.col(END))
    return frame.with_columns(kind.alias("kind"), end.cast(pl.Int32).alias(END)).drop("_word", "_title")


def _segments(tokens: pl.DataFrame) -> pl.DataFrame:
    """Tokens grouped into runs (separated by nothing but spaces) and runs split at stop words and
    titles into segments: kinds, token starts and ends, after a title, and the word ending it."""
    new_row = pl.col(ROW) != pl.col(ROW).shift(1)
    run_break = new_row.fill_null(True) | (pl.col(BEFORE).str.strip_chars(" \u00a0") != "")
    sep = pl.col("kind").is_in([STOP, TITLE])
    frame = tokens.with_columns(run_break.alias("run_break"), sep.alias("sep"))
    previous_sep = pl.col("sep").shift(1).fill_null(True)
    next_in_run = ~pl.col("run_break").shift(-1).fill_null(True)
    frame = frame.with_columns(
        (~pl.col("sep") & (pl.col("run_break") | previous_sep)).alias("seg_start"),
        (~pl.col("run_break") & (pl.col("kind").shift(1) == TITLE)).fill_null(False).alias("titled"),
        ((pl.col(ROW) == pl.col(ROW).shift(1)) & (pl.col("kind").shift(1) == TITLE))
        .fill_null(False).alias("after_title"),
        pl.when(next_in_run).then(pl.col("key").shift(-1).str.strip_chars_end(".")).alias("ended_by"),
    )
    frame = frame.with_columns(pl.col("seg_start").cum_sum().alias("segment")).filter(~pl.col("sep"))
    # A one-word segment ("Overflowing", "Peschanaya") is a name only after a title, a marker or
    # a cue: drop the others before grouping (most capitalised words are these).
    single = pl.col("seg_start") & pl.col("seg_start").shift(-1).fill_null(True)
    cued = (
        pl.col("titled") | pl.col("after_title") | ~pl.col("run_break")
        | pl.col(BEFORE).str.contains(_ANY_CUE_BEFORE)
    )  # fmt: skip
    frame = frame.filter(~single | (cued & (pl.col("kind") != INITIAL)))
    return frame.group_by("segment", maintain_order=True).agg(
        pl.col(ROW).first(),
        pl.col("kind").str.join("").alias("kinds"),
        pl.col(START),
        pl.col(END),
        pl.col("key"),
        pl.col("titled").first(),
        pl.col("ended_by").last(),
        pl.col(BEFORE).first().alias("gap"),
        pl.col("run_break").first().alias("run_start"),
        pl.col("capitals").all().alias("all_capitals"),
        pl.col("after_title").first(),
    )


def _has(kind: str) -> pl.Expr:
    return pl.col("kinds").str.contains(kind, literal=True)


def _is_name(titled: pl.Expr, signed: pl.Expr) -> pl.Expr:
    n = pl.col("kinds").str.len_chars()
    initials = pl.col("kinds").str.count_matches(INITIAL, literal=True)
    words = n - initials
    written = _has(OTHER) | _has(FIRST) | _has(SURNAME) | _has(PATRONYMIC)  # not only capitals
    # in capitals a first name opens the name ("JOHN SMITH", not "REV JAMES", "SAINT ANN")
    # unless Russian endings vouch for it ("ИВАНОВ ИВАН")
    first_name = _has(FIRST) & (words >= 2) & (
        ~pl.col("all_capitals") | pl.col("kinds").str.starts_with(FIRST) | _has(SURNAME) | _has(PATRONYMIC)
    )
    evidence = (
        (_has(PATRONYMIC) & (n >= 2)) | (_has(INITIAL) & written) | first_name
        | titled | (signed & ((words >= 2) & written | _has(FIRST) | _has(SURNAME)))
    )  # fmt: skip
    return (n <= 4) & (words > 0) & evidence


def _organisation(words: pl.Expr) -> pl.Expr:
    return words.is_in(nm.ORGANISATION_WORDS) | words.str.to_lowercase().str.contains(_ORGANISATION_STEMS)


def find_people(texts: pl.Series) -> pl.DataFrame:
    """(row, start, end, type) of every written name in `texts`."""
    rows = np.flatnonzero(texts.str.contains(NAME_HINT).fill_null(False).to_numpy())
    tokens = find_matches(texts, NAME_TOKEN, rows)
    if tokens.height == 0:
        return _EMPTY
    segments = _segments(_token_kinds(tokens))
    strong = _is_name(pl.col("titled"), pl.lit(False))
    # Only segments with a word right before them (in the gap or as the stop word that opens
    # their run) can have weak evidence; the rest need no look at the text before.
    maybe = ~pl.col("run_start") | pl.col("after_title") | pl.col("gap").str.contains(_ANY_CUE_BEFORE)
    segments = segments.filter(strong | maybe).with_columns(strong.alias("strong"))
    text = texts.gather(segments.get_column(ROW))
    first_start = pl.col(START).list.first()
    window_start = (first_start - _LOOK_BACK).clip(lower_bound=0)
    segments = segments.with_columns(text.alias("_text")).with_columns(
        pl.col("_text").str.slice(window_start, first_start - window_start).alias("window"),
        pl.col("_text").str.slice(pl.col(END).list.last(), 30).alias("following"),
        (window_start == 0).alias("window_at_start"),
    ).drop("_text")
    before = pl.col("window").str.extract_groups(_WORD_BEFORE)
    segments = segments.with_columns(
        before.struct.field("1").str.to_lowercase().alias("word_before"),
        (before.struct.field("2") == ".").alias("dot_before"),
        pl.col("following").str.extract(r"^[ \u00a0]*([\w-]+)", 1).alias("word_after"),
    )
    yield_name = pl.col("strong") | _weak_evidence()
    named = segments.filter(yield_name & ~_beside_street())
    return _trimmed(named)


def _weak_evidence() -> pl.Expr:
    """"г-н Петров", "С уважением, Ольга", "ask for Ivan Petrov" (a cue phrase, then no
    organisation or place word), and a lone word after a person marker ("гр. Кот", "MR NG")."""
    titled = pl.col("titled") | pl.col("word_before").is_in(_LOWER_TITLES).fill_null(False)
    signed = pl.col("window").str.contains(_CUE_BEFORE)
    kinds = pl.col("kinds")
    no_organisation = ~pl.concat_list(pl.col("key"), pl.col("ended_by").fill_null("")).list.eval(
        _organisation(pl.element())
    ).list.any()
    asked = (
        (kinds.str.len_chars() <= 3) & (_has(FIRST) | _has(SURNAME) | (kinds == OTHER * 2))
        & pl.col("window").str.contains(_ASKED_BEFORE)
    )  # fmt: skip
    marked = kinds.is_in([OTHER, SURNAME, FIRST, CAPITALS, PATRONYMIC]) & pl.col("window").str.contains(
        _MARKER_BEFORE
    )
    return _is_name(titled, signed) | ((asked | marked) & no_organisation)


def _beside_street() -> pl.Expr:
    ended = pl.col("ended_by").is_in(_STREET_TITLES).fill_null(False)
    before = pl.col("word_before").is_in(nm.STREET_WORDS) & (
        ~pl.col("dot_before") | pl.col("word_before").is_in(nm.STREET_ABBREVIATIONS)
    )
    after = pl.col("word_after").is_in(nm.STREET_WORDS) | pl.col("following").str.contains(_STREET_AHEAD)
    return ended | before.fill_null(False) | after.fill_null(False)


_EVIDENCE = {SURNAME: 2, FIRST: 2, PATRONYMIC: 2, OTHER: 1, CAPITALS: 1}


def _evidence(kind: pl.Expr) -> pl.Expr:
    return kind.replace_strict(_EVIDENCE, default=0, return_dtype=pl.Int8)


def _trimmed(segments: pl.DataFrame) -> pl.DataFrame:
    """The name inside a segment: "J. Scannel Manhole" -> "J. Scannel", "Per Joyce Chan" ->
    "Joyce Chan", "Carlton B. Goodlett" whole (a middle initial); runs of three or more
    initials are abbreviations (C.F.C.), not people."""
    kinds = pl.col("kinds")
    n = kinds.str.len_chars().cast(pl.Int32)
    first = kinds.str.find(INITIAL, literal=True).cast(pl.Int32)
    last = (n - 1 - kinds.str.reverse().str.find(INITIAL, literal=True).cast(pl.Int32))
    before = pl.when(first > 0).then(_evidence(kinds.str.slice(first - 1, 1))).otherwise(-1)
    after = pl.when(last < n - 1).then(_evidence(kinds.str.slice(last + 1, 1))).otherwise(-1)
    latin = pl.col("key").list.first().str.contains(r"^[A-Za-z]")
    middle = latin & (first == last) & (before > 0) & (after > 0)
    anchor = pl.when(latin & _has(FIRST)).then(kinds.str.find(FIRST, literal=True).cast(pl.Int32)).otherwise(0)
    lo = (
        pl.when(first.is_null()).then(anchor)
        .when(middle).then(first - 1)
        .when((before < 0) & (after < 0)).then(0)
        .when(before > after).then(first - 1)
        .otherwise(first)
    )  # fmt: skip
    # "CALLER JOHN SMITH REPORTS NOISE": in capitals an English name is a first name and one more
    capitals_end = pl.when(latin & pl.col("all_capitals")).then(pl.min_horizontal(anchor + 1, n - 1))
    hi = (
        pl.when(first.is_null()).then(capitals_end.otherwise(n - 1))
        .when(middle).then(last + 1)
        .when((before < 0) & (after < 0)).then(n - 1)
        .when(before > after).then(last)
        .otherwise(last + 1)
    )  # fmt: skip
    three_initials = kinds.str.count_matches(INITIAL, literal=True) >= 3
    return segments.filter(~three_initials).select(
        ROW,
        pl.col(START).list.get(lo).alias(START),
        pl.col(END).list.get(hi).alias(END),
        pl.lit(PiiType.PERSON).alias(PII_TYPE),
    )
