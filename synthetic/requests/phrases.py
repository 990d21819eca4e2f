"""What synthetic residents add around a complaint: the small phrase pools (greetings, sign-offs,
address and contact lines, places), the names and contacts they sign with, and street-type words.

Pure data, like `synthetic.requests.templates` (the complaint templates per category), so that
wording can be tuned without touching the generator.
"""

from __future__ import annotations

# The tables below read better packed than one item per line.
# fmt: off

# Phrase pools, index 0 = Russian, 1 = English. Empty strings make a part optional.
GREETINGS = (
    (
        "", "", "", "Здравствуйте! ", "Добрый день. ", "Добрый день! ", "Прошу принять меры! ",
        "Уважаемые коммунальные службы! ", "Добрый вечер. ",
    ),
    (
        "", "", "", "Hello! ", "Hi! ", "Dear city services. ", "Please help! ", "Good morning. ",
    ),
)
CLOSINGS = (
    (
        "", "", "", " Спасибо.", " Примите меры!", " Сколько можно?!", " Заранее спасибо.",
        " Жду ответа.",
    ),
    (
        "", "", "", " Thanks.", " Please fix ASAP.", " Thank you!", " Waiting for an answer.",
    ),
)
ADDRESS_LEADS = (
    (
        "по адресу ", "по адресу: ", "адрес: ", "", "около дома ",
    ),
    (
        "at ", "near ", "in front of ", "", "on ",
    ),
)
PLACES = (
    (
        "во дворе", "у подъезда", "возле остановки", "на перекрёстке", "рядом со школой",
        "около магазина", "в нашем дворе", "напротив парка", "у метро", "возле поликлиники",
    ),
    (
        "in our yard", "near the bus stop", "at the intersection", "next to the school",
        "by the grocery store", "across from the park", "outside the metro", "near the clinic",
    ),
)
FLAT_LEADS = (
    (
        "кв. ", "кв.", "квартира ", "кв ",
    ),
    (
        "apt ", "apt. ", "flat ", "Apt ",
    ),
)
PHONE_LEADS = (
    (
        " Мой телефон: ", " Тел. ", " Звоните: ", " Контактный номер ", " тел ",
    ),
    (
        " My phone: ", " Call me at ", " Tel. ", " Phone ",
    ),
)
EMAIL_LEADS = (
    (
        " Ответ прошу на почту ", " E-mail: ", " Пишите: ",
    ),
    (
        " Email me at ", " E-mail: ", " Reply to ",
    ),
)
NAME_LEADS = (
    (
        " С уважением, ", " Заявитель: ", " ",
    ),
    (
        " Regards, ", " - ", " Thanks, ",
    ),
)
NAME_PHONE_JOINS = (
    (
        ", тел. ", ", т. ", " ",
    ),
    (
        ", phone ", ", tel. ", " ",
    ),
)
SENTENCE_ENDS = (".", ".", ".", "!", "", "!!!", "...")
GARBAGE = (
    "", " ", "   ", "!!!", "asdf", "???", "...", "тест", "123", "ааааа", "-", "йцукен", "\t",
)

# Names: (Russian male surname, Russian female surname, Latin), Russian first names, English.
SURNAMES_RU = (
    ("Иванов", "Иванова", "ivanov"), ("Петров", "Петрова", "petrov"),
    ("Смирнов", "Смирнова", "smirnov"), ("Кузнецов", "Кузнецова", "kuznetsov"),
    ("Соколов", "Соколова", "sokolov"), ("Попов", "Попова", "popov"),
    ("Лебедев", "Лебедева", "lebedev"), ("Козлов", "Козлова", "kozlov"),
    ("Новиков", "Новикова", "novikov"), ("Морозов", "Морозова", "morozov"),
    ("Волков", "Волкова", "volkov"), ("Соловьёв", "Соловьёва", "solovyov"),
    ("Васильев", "Васильева", "vasilyev"), ("Зайцев", "Зайцева", "zaytsev"),
    ("Павлов", "Павлова", "pavlov"), ("Семёнов", "Семёнова", "semyonov"),
    ("Голубев", "Голубева", "golubev"), ("Виноградов", "Виноградова", "vinogradov"),
    ("Богданов", "Богданова", "bogdanov"), ("Воробьёв", "Воробьёва", "vorobyov"),
)
FIRST_NAMES_RU = (
    ("Александр", "Анна"), ("Сергей", "Мария"), ("Дмитрий", "Елена"), ("Андрей", "Ольга"),
    ("Алексей", "Наталья"), ("Михаил", "Татьяна"), ("Игорь", "Ирина"), ("Николай", "Светлана"),
)
INITIALS_RU = "АБВГДЕИКЛМНОПСТЮ"
NAMES_EN = (
    "John", "Mary", "James", "Linda", "Robert", "Emily", "Michael", "Sarah", "David", "Anna",
    "Peter", "Laura",
)
SURNAMES_EN = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Taylor",
    "Clark", "Walker", "Hall",
)
EMAIL_DOMAINS = (
    "mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "outlook.com", "rambler.ru",
    "example.com",
)
MOBILE_CODES_RU = (
    "915", "916", "903", "926", "985", "977", "968", "925", "495", "499",
)
AREA_CODES_US = (
    "212", "718", "646", "917", "347", "202", "312", "415",
)

# Street-type abbreviations and the full words residents also type.
STREET_TYPE_WORDS_RU = {
    "ул.": "улица", "пр-т": "проспект", "пер.": "переулок", "наб.": "набережная", "бул.": "бульвар",
    "ш.": "шоссе", "пл.": "площадь",
}
STREET_TYPE_WORDS_EN = {
    "St": "Street", "Ave": "Avenue", "Ln": "Lane", "Emb": "Embankment", "Blvd": "Boulevard",
    "Hwy": "Highway", "Sq": "Square",
}
# fmt: on
