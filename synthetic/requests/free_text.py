"""Resident-written appeals as a city portal receives them: short, misspelt, bureaucratic, two levels.

The demo city's texts (`synthetic.requests.texts`) are built for the pipeline (addresses, personal
data spans); their wording is a few templates per category, which any classifier learns by heart.
This generator makes the harder text a portal's history really holds, for benchmarking the
classifier (`bench/classifier.py`), never for training a shipped model:

- 15 categories and 79 reasons (70 distinct second-level labels), several shared by name across categories
  ("прочее" / "other" under each), and reasons that share words across categories
  ("протечка" of a roof, of a heating pipe; "запах" of sewage, of burning rubbish);
- each reason is a small phrase grammar (`{a|b|c}` alternatives), so stems appear in many
  inflections ("не горит фонарь", "фонари не горят", "не работает уличное освещение");
- texts from a bare phrase ("яма") to a formal appeal with an opener, a place, a duration and a
  demand; 80% Russian, 20% English; one in five mentions a second, lesser problem ("также
  не горят фонари"), as residents do, while the label stays with the first;
- misspellings (swapped, dropped, doubled letters, neighbouring keys), lost spaces and
  punctuation, all lower or upper case, е for ё; 1% of labels point at another category, as
  misrouted appeals do;
- a filing time over one year, with seasonal reasons (snow in winter, grass in summer), so a
  temporal split sees the drift a real history has.

Python per text is fine here: it is a benchmark input of tens of thousands of rows.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

import polars as pl

from synthetic.requests.free_text_reasons import REASONS, SUMMER, WINTER

TEXT, CATEGORY, REASON, FILED = "text", "category", "reason", "filed_at"
LABEL_NOISE = 0.01
ENGLISH_SHARE = 0.2
SECOND_PROBLEM_SHARE = 0.2
ALSO_RU = ["также", "и еще", "кроме того", "а еще", "и"]
ALSO_EN = ["also", "and", "plus"]


OPENERS_RU = ["", "", "", "Прошу принять меры: ", "Просим разобраться. ", "Обращаюсь по поводу того, что ",
              "Уважаемая администрация! ", "Жалоба. ", "В очередной раз сообщаю: ", "Сколько можно! ",
              "Добрый день. ", "Здравствуйте, ", "Прошу рассмотреть обращение. ", "Повторно: ",
              "Довожу до вашего сведения, что "]
OPENERS_EN = ["", "", "Please help: ", "Hello, ", "Complaint: ", "Again: ", "To whom it may concern, "]
PLACES_RU = ["", "", "во дворе дома {n}", "у дома {n}", "по адресу ул. {street}, д. {n}", "на ул. {street}",
             "возле подъезда {p}", "около школы", "у остановки", "на пересечении {street} и {street}",
             "пр-т {street} {n}", "в нашем микрорайоне"]
PLACES_EN = ["", "", "near {n} {street} St", "at {n} {street} Ave", "by the school", "in our yard"]
STREETS = ["Ленина", "Гагарина", "Мира", "Советская", "Кирова", "Пушкина", "Садовая", "Лесная", "Победы",
           "Молодёжная", "Заводская", "Набережная"]
STREETS_EN = ["Oak", "Main", "Elm", "Park", "Lake", "Hill", "River", "Maple"]
TAILS_RU = ["", "", "", "уже {d} дней", "с {month}", "давно", "неоднократно обращались", "никакой реакции",
            "примите меры", "просьба устранить", "требую устранить в кратчайшие сроки",
            "прошу дать письменный ответ", "это опасно для детей", "фото прилагаю", "жители недовольны"]
TAILS_EN = ["", "", "for {d} days", "please fix", "it is dangerous", "nobody responds"]
MONTHS = ["понедельника", "прошлой недели", "начала месяца", "января", "осени"]
KEYBOARD_RU = "йцукенгшщзхъфывапролджэячсмитьбю"
KEYBOARD_EN = "qwertyuiopasdfghjklzxcvbnm"
_CHOICE = re.compile(r"\{([^{}]*)\}")


def _expand(grammar: str, rng: random.Random) -> str:
    return re.sub(r"\s+", " ", _CHOICE.sub(lambda m: rng.choice(m.group(1).split("|")), grammar)).strip()


def _neighbour(ch: str, rng: random.Random) -> str:
    for row in (KEYBOARD_RU, KEYBOARD_EN):
        if ch in row:
            i = row.index(ch)
            return row[max(0, min(len(row) - 1, i + rng.choice((-1, 1))))]
    return ch


def _misspell(text: str, rng: random.Random, rate: float) -> str:
    words = text.split(" ")
    for i, word in enumerate(words):
        if len(word) < 4 or rng.random() > rate:
            continue
        j = rng.randrange(1, len(word) - 1)
        slip = rng.randrange(4)
        if slip == 0:
            word = word[:j] + word[j + 1] + word[j] + word[j + 2:]
        elif slip == 1:
            word = word[:j] + word[j + 1:]
        elif slip == 2:
            word = word[:j] + word[j] + word[j:]
        else:
            word = word[:j] + _neighbour(word[j], rng) + word[j + 1:]
        words[i] = word
    if len(words) > 3 and rng.random() < 0.05:  # two words run together
        k = rng.randrange(len(words) - 1)
        words[k:k + 2] = [words[k] + words[k + 1]]
    return " ".join(words)


def _fill(pattern: str, rng: random.Random, english: bool) -> str:
    streets = STREETS_EN if english else STREETS
    return (pattern.replace("{n}", str(rng.randint(1, 120))).replace("{p}", str(rng.randint(1, 8)))
            .replace("{d}", str(rng.randint(2, 30))).replace("{month}", rng.choice(MONTHS))
            .replace("{street}", rng.choice(streets), 1).replace("{street}", rng.choice(streets)))


def _compose(phrase: str, rng: random.Random, english: bool) -> str:
    """A bare phrase, a phrase with a place, or a formal appeal; then the resident's typing."""
    openers, places, tails = (OPENERS_EN, PLACES_EN, TAILS_EN) if english else (OPENERS_RU, PLACES_RU, TAILS_RU)
    form = rng.random()
    if form < 0.25:
        text = phrase
    elif form < 0.7:
        text = f"{phrase} {_fill(rng.choice(places), rng, english)}"
    else:
        parts = [_fill(rng.choice(places), rng, english), _fill(rng.choice(tails), rng, english)]
        text = rng.choice(openers) + " ".join([phrase, parts[0]]).strip() + ". " + parts[1].capitalize()
    text = _misspell(text.strip(" ."), rng, rate=rng.choice((0.0, 0.05, 0.12, 0.25)))
    style = rng.random()
    if style < 0.45:
        text = text.lower()
    elif style < 0.5:
        text = text.upper()
    elif style < 0.75:
        text = text[:1].upper() + text[1:]
    if rng.random() < 0.4:
        text = re.sub(r"[.,:!]", "", text)
    if rng.random() < 0.7:
        text = text.replace("ё", "е")
    return text


def _season_weight(season: str | None, when: datetime) -> float:
    winter = when.month in (11, 12, 1, 2, 3)
    if season == WINTER:
        return 3.0 if winter else 0.05
    if season == SUMMER:
        return 0.05 if winter else 3.0
    return 1.0


def generate_appeals(rows: int, seed: int = 0, start: datetime = datetime(2025, 1, 1)) -> pl.DataFrame:
    """`rows` appeals: text, category, reason, filed_at (sorted by time)."""
    rng = random.Random(seed)
    reasons = [(c, r, spec) for c, by_reason in REASONS.items() for r, spec in by_reason.items()]
    popularity = [rng.paretovariate(1.2) for _ in reasons]  # a few reasons dominate, as in life
    texts, categories, labels, times = [], [], [], []
    for index in range(rows):
        when = start + timedelta(seconds=365 * 86400 * index / rows + rng.random() * 600)
        weights = [p * _season_weight(spec[2] if len(spec) > 2 else None, when)
                   for p, (_, _, spec) in zip(popularity, reasons, strict=True)]
        category, reason, spec = rng.choices(reasons, weights)[0]
        english = rng.random() < ENGLISH_SHARE
        phrase = _expand(rng.choice(spec[1] if english else spec[0]), rng)
        if rng.random() < SECOND_PROBLEM_SHARE:
            other = rng.choice(reasons)[2]
            also = rng.choice(ALSO_EN if english else ALSO_RU)
            phrase = f"{phrase}, {also} {_expand(rng.choice(other[1] if english else other[0]), rng)}"
        texts.append(_compose(phrase, rng, english))
        if rng.random() < LABEL_NOISE:  # misrouted at the portal
            category, reason, _ = rng.choice(reasons)
        categories.append(category)
        labels.append(reason)
        times.append(when)
    return pl.DataFrame({TEXT: texts, CATEGORY: categories, REASON: labels, FILED: times})
