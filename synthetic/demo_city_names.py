"""Russian place-name material for the synthetic demo city, and the transliteration its English
street names use.

Kept apart from `synthetic.demo_city` so the geometry code stays readable; the names are invented
but follow Moscow's patterns (okrugs named by compass bearing, adjective street names that agree
with the street type's gender, genitive names of people and ideas).
"""

from __future__ import annotations

# Okrugs in the order of their seed bearings (degrees clockwise from north); the first one sits
# at the centre. Names get the "административный округ" suffix when the pack is built.
CENTRAL_OKRUG = "Центральный"
RING_OKRUGS: tuple[tuple[str, float], ...] = (
    ("Северный", 0.0),
    ("Северо-Восточный", 40.0),
    ("Восточный", 80.0),
    ("Юго-Восточный", 120.0),
    ("Южный", 160.0),
    ("Юго-Западный", 200.0),
    ("Новомосковский", 240.0),
    ("Западный", 280.0),
    ("Северо-Западный", 320.0),
)
OKRUG_SUFFIX = "административный округ"

# The name tables read better packed than one item per line.
# fmt: off
CENTRAL_DISTRICTS: tuple[str, ...] = (
    "Арбатский", "Замоскворечье", "Сретенка", "Остоженка", "Полянка", "Басманный",
    "Мещанская Слобода", "Пресня", "Тверской Ям", "Таганские Холмы", "Хамовнические Луга",
    "Ямская Слобода", "Кузнецкая Слобода",
)
OUTER_DISTRICTS: tuple[str, ...] = (
    "Липовая Роща", "Заречье", "Каменка", "Сосновка", "Озёрный", "Речной Посад", "Ключевое",
    "Луговое", "Кленовый Дол", "Новосёлки", "Старые Мельницы", "Гончарово", "Берёзовая Роща",
    "Верхние Котлы", "Нижние Пруды", "Зелёный Бор", "Тополиный", "Высокие Горки", "Красная Горка",
    "Вишнёвый Сад", "Садовники", "Дубравный", "Ольховка", "Ясеневое Поле", "Рябиновка",
    "Светлый Берег", "Покровское-Заозерье", "Никольское", "Троицкое Поле", "Успенский",
    "Петровские Ворота", "Михайловский Парк", "Лосиный Остров", "Журавлёвка", "Лебяжье",
    "Соловьиная Роща", "Щукинская Пойма", "Крутицы", "Лефортовская Слобода", "Рогожская Застава",
    "Марьина Гать", "Братеевская Пойма", "Печатники Новые", "Кожуховская Слобода",
    "Коломенские Сады", "Царицынские Пруды", "Бирюлёвский Лес", "Черёмушки Верхние",
    "Тёплый Стан", "Коньково Поле", "Беляевские Высоты", "Воронцовский Парк", "Тропарёвская Роща",
    "Очаковские Сады", "Внуковское Поле", "Кунцевская Гора", "Фили Новые", "Хорошёвская Пойма",
    "Строгинская Коса", "Митинские Луга", "Тушинское Поле", "Лианозовские Пруды",
    "Бибиревская Роща", "Отрадное Новое", "Свиблово Поле", "Бабушкинский", "Измайловский Зверинец",
    "Гольяновские Пруды", "Перовское Поле", "Новогиреевский", "Вешняковский Бор", "Кусковский Парк",
)

# Street types: Russian abbreviation, grammatical gender, English abbreviation, and how often
# the type occurs among the city's streets.
STREET_TYPES: tuple[tuple[str, str, str, float], ...] = (
    ("ул.", "f", "St", 0.50),
    ("пер.", "m", "Ln", 0.15),
    ("пр-т", "m", "Ave", 0.10),
    ("бул.", "m", "Blvd", 0.07),
    ("пл.", "f", "Sq", 0.07),
    ("наб.", "f", "Emb", 0.05),
    ("ш.", "n", "Hwy", 0.06),
)

# Adjective names as (stem, masculine ending); the feminine and neuter forms are derived so that
# "Садовая ул.", "Садовый пер." and "Садовое ш." all come out right.
_ADJECTIVE_WORDS = (
    "Садовый", "Лесной", "Московский", "Верхний", "Нижний", "Центральный", "Школьный", "Парковый",
    "Зелёный", "Берёзовый", "Липовый", "Сосновый", "Кленовый", "Рябиновый", "Вишнёвый", "Полевой",
    "Речной", "Озёрный", "Луговой", "Солнечный", "Светлый", "Тихий", "Широкий", "Новый", "Старый",
    "Большой", "Малый", "Дальний", "Заводской", "Фабричный", "Вокзальный", "Рабочий",
    "Строительный", "Спортивный", "Молодёжный", "Студенческий", "Театральный", "Университетский",
    "Северный", "Южный", "Восточный", "Западный", "Ленинградский", "Ярославский", "Владимирский",
    "Рязанский", "Калужский", "Тульский", "Смоленский", "Тверской", "Дмитровский", "Можайский",
    "Каширский", "Варшавский", "Волгоградский", "Рижский", "Кутузовский", "Мичуринский",
    "Профсоюзный", "Кооперативный", "Почтовый", "Кузнечный", "Гончарный", "Кирпичный", "Торговый",
    "Каменный", "Песчаный", "Прудовый", "Родниковый", "Ключевой", "Цветочный", "Сиреневый",
    "Тополиный", "Черёмуховый",
)
ADJECTIVES: tuple[tuple[str, str], ...] = tuple((w[:-2], w[-2:]) for w in _ADJECTIVE_WORDS)

# Names in the genitive case ("ул. Гагарина", "пр-т Мира"): they do not agree with the type.
GENITIVES: tuple[str, ...] = (
    "Гагарина", "Пушкина", "Лермонтова", "Чехова", "Толстого", "Тургенева", "Некрасова",
    "Островского", "Горького", "Маяковского", "Есенина", "Шолохова", "Циолковского", "Королёва",
    "Курчатова", "Вавилова", "Ломоносова", "Менделеева", "Павлова", "Сеченова", "Мира", "Победы",
    "Строителей", "Энтузиастов", "Космонавтов", "Дружбы", "Юности", "Маршала Жукова",
    "Академика Королёва", "Героев Панфиловцев", "Лётчика Бабушкина", "Академика Павлова",
    "Генерала Белова", "Маршала Конева", "Серафимовича", "Чайковского", "Глинки",
    "Римского-Корсакова", "Шаболовка", "Вернадского", "Обручева", "Бутлерова", "Амундсена",
    "Нансена", "Беринга", "Фрунзе", "Достоевского", "Грибоедова", "Крылова", "Жуковского",
)

# fmt: on
_FEMININE = {"ый": "ая", "ой": "ая", "ий": "ая"}
_NEUTER = {"ый": "ое", "ой": "ое", "ий": "ое"}
_HUSHING = set("жшчщ")
_VELAR = set("кгх")


def adjective_form(stem: str, ending: str, gender: str) -> str:
    """Agree an adjective street name with the type's gender (soft stems: Верхний/-яя/-ее)."""
    if gender == "m":
        return stem + ending
    soft = ending == "ий" and stem[-1] not in _VELAR | _HUSHING
    if gender == "f":
        return stem + ("яя" if soft else _FEMININE[ending])
    if soft or (ending == "ий" and stem[-1] in _HUSHING):
        return stem + "ее"
    return stem + _NEUTER[ending]


# fmt: off
_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}
# fmt: on
_WORD_ENDINGS = (("ый", "y"), ("ий", "y"), ("ое", "oye"), ("ее", "eye"), ("ая", "aya"))


def transliterate(text: str) -> str:
    """Moscow street-sign style romanisation: "Садовый" -> "Sadovy", "Тверское" -> "Tverskoye"."""
    words = []
    for word in text.split(" "):
        tail = ""
        for ending, latin in _WORD_ENDINGS:
            if len(word) > 3 and word.lower().endswith(ending):
                word, tail = word[:-2], latin
                break
        latin_word = "".join(_latin_char(ch) for ch in word) + tail
        words.append(latin_word)
    return " ".join(words)


def _latin_char(ch: str) -> str:
    latin = _TRANSLIT.get(ch.lower())
    if latin is None:
        return ch
    return latin.capitalize() if ch.isupper() else latin


def ordinal_en(number: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number, "th")
    return f"{number}{suffix}"
