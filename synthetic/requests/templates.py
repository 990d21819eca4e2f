"""What synthetic residents write: complaint templates per category and language, and the small
phrase pools (greetings, sign-offs, contact lines) that make texts vary like real ones.

`{addr}` marks where the address (or, without one, a place phrase such as "во дворе") goes.
Pure data, so that wording can be tuned without touching the generator.
"""

from __future__ import annotations

# The tables below read better packed than one item per line.
# fmt: off
ADDR = "{addr}"

# category -> (Russian templates, English templates)
TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "road_damage": (
        ("Огромная яма на проезжей части {addr}. Машины бьют колёса, просим срочно заделать",
         "{addr} — провалился асфальт, глубокая выбоина прямо у въезда во двор",
         "Разбита дорога {addr}, после дождя ямы по колено, проехать невозможно",
         "Прошу отремонтировать дорожное покрытие {addr}, сплошные ямы и трещины",
         "Открыт люк и рядом яма на дороге {addr}, уже пострадал автомобиль"),
        ("Huge pothole on the road {addr}, cars are hitting it all day",
         "{addr} - the asphalt has collapsed, deep hole near the driveway",
         "Road surface is broken {addr}, please repair the potholes",
         "Open manhole and damaged pavement {addr}, very dangerous for drivers"),
    ),
    "street_lighting": (
        ("Не горит уличный фонарь {addr}, вечером темно и опасно ходить",
         "{addr}: третью неделю не работает освещение во дворе",
         "Фонари {addr} мигают и гаснут, просим заменить лампы",
         "Нет освещения на пешеходном переходе {addr}, дети идут в школу в темноте",
         "Сломан фонарный столб {addr}, свет не горит с прошлой недели"),
        ("Street light is out {addr}, it is completely dark at night",
         "{addr}: the lamp post has been flickering for two weeks",
         "No lighting at the crosswalk {addr}, kids walk to school in the dark",
         "Broken street lamp {addr}, please replace the bulb"),
    ),
    "waste_collection": (
        ("Не вывозят мусор {addr}, контейнеры переполнены уже несколько дней",
         "{addr} — контейнерная площадка завалена, вокруг пакеты и запах",
         "Третий день не приезжает мусоровоз {addr}, баки переполнены",
         "Просим убрать крупногабаритный мусор {addr}, старая мебель лежит неделю",
         "Переполнены урны {addr}, мусор разносит ветром по двору"),
        ("Garbage not collected {addr}, the bins are overflowing",
         "{addr} - trash has not been picked up for 3 days, bad smell",
         "Please remove bulky waste {addr}, old furniture left by the bins",
         "Overflowing trash cans {addr}, litter everywhere in the yard"),
    ),
    "snow_ice": (
        ("Не убран снег {addr}, тротуар превратился в каток",
         "{addr}: сосульки на крыше над входом, опасно для прохожих",
         "Гололёд {addr}, дорожки не посыпают, люди падают",
         "Снег не чистят {addr}, машины не могут выехать со двора",
         "Наледь на ступеньках у подъезда {addr}, просим посыпать реагентом"),
        ("Snow not cleared {addr}, the sidewalk is a sheet of ice",
         "{addr}: icicles hanging over the entrance, dangerous for people",
         "Icy sidewalk {addr}, nobody spreads sand and people fall",
         "The yard {addr} is not plowed, cars are stuck in the snow"),
    ),
    "illegal_parking": (
        ("Машины паркуются на газоне {addr}, просим принять меры",
         "{addr} — автомобиль перегородил выезд со двора уже сутки",
         "Незаконная парковка на тротуаре {addr}, пешеходам не пройти",
         "Постоянно ставят машины на пожарном проезде {addr}",
         "Брошенный автомобиль стоит {addr} больше месяца, мешает уборке"),
        ("Cars parked on the lawn {addr}, please take action",
         "{addr} - a car has been blocking the driveway since yesterday",
         "Illegal parking on the sidewalk {addr}, pedestrians cannot pass",
         "Abandoned vehicle {addr} for over a month, no plates"),
    ),
    "noise": (
        ("Шумят соседи {addr}, громкая музыка после 23:00",
         "{addr}: ночью идёт стройка, шум не даёт спать",
         "Ремонт с перфоратором в выходные с 8 утра {addr}",
         "Громкая музыка из кафе {addr} каждую ночь до трёх",
         "Сигнализация машины орёт всю ночь {addr}, невозможно уснуть"),
        ("Loud music from the neighbors {addr} after 11 pm",
         "{addr}: construction noise all night, we cannot sleep",
         "Noisy bar {addr} every night until 3 am",
         "Car alarm going off all night {addr}"),
    ),
    "graffiti": (
        ("Граффити на фасаде дома {addr}, просим закрасить",
         "{addr} — стены подъезда исписаны краской",
         "Нарисовали надписи на остановке {addr}",
         "Незаконная реклама и граффити на заборе {addr}",
         "Вандалы разрисовали детскую площадку {addr} баллончиком"),
        ("Graffiti on the building facade {addr}, please paint over it",
         "{addr} - walls of the entrance are covered with tags",
         "Someone sprayed graffiti on the bus shelter {addr}",
         "Vandals painted the fence {addr} again"),
    ),
    "water_leak": (
        ("Протечка трубы в подвале {addr}, вода стоит уже неделю",
         "{addr}: нет горячей воды третий день",
         "Течёт с потолка, заливает квартиру {addr}",
         "Прорвало трубу на улице {addr}, вода течёт по дороге",
         "Нет холодной воды {addr} с утра, никто не предупреждал"),
        ("Water leaking from a pipe in the basement {addr}",
         "{addr}: no hot water for three days",
         "Water main break {addr}, water running down the street",
         "Ceiling is leaking in my apartment {addr}"),
    ),
    "heating": (
        ("Нет отопления {addr}, батареи холодные, в квартире +16",
         "{addr} — не включили отопление, дети мёрзнут",
         "Батареи еле тёплые {addr}, просим проверить систему",
         "Отопление отключили без предупреждения {addr}",
         "Холодные радиаторы во всём подъезде {addr}"),
        ("No heating {addr}, radiators are cold, 16 degrees inside",
         "{addr} - heating has not been turned on, the kids are freezing",
         "Radiators barely warm {addr}, please check the system",
         "Heating switched off without notice {addr}"),
    ),
    "elevator": (
        ("Не работает лифт {addr}, пожилые жители не могут выйти",
         "{addr}: лифт застревает между этажами",
         "Сломан лифт {addr} уже неделю",
         "Лифт {addr} стоит с открытыми дверями и не едет",
         "Грузовой лифт не работает {addr}, просим отремонтировать"),
        ("Elevator out of order {addr}, elderly residents are stuck",
         "{addr}: the lift keeps getting stuck between floors",
         "Broken elevator {addr} for a week already",
         "Lift doors do not close {addr}"),
    ),
    "trees_greenery": (
        ("Аварийное дерево {addr} может упасть на машины",
         "{addr} — сухие ветки нависают над детской площадкой",
         "Просим покосить траву {addr}, газон зарос",
         "Упало дерево {addr} и перегородило дорожку",
         "Вырубают деревья {addr} без разрешения, остались одни пни"),
        ("Dangerous tree {addr} may fall on parked cars",
         "{addr} - dry branches hanging over the playground",
         "Please mow the grass {addr}, the lawn is overgrown",
         "Fallen tree {addr} is blocking the path"),
    ),
    "playground": (
        ("Сломаны качели на детской площадке {addr}",
         "{addr}: на площадке торчат гвозди, дети могут пораниться",
         "Разбита горка на детской площадке {addr}",
         "Песочница {addr} в ужасном состоянии, песка нет",
         "Оторвано сиденье карусели {addr}, опасно для детей"),
        ("Broken swings on the playground {addr}",
         "{addr}: nails sticking out of the playground equipment",
         "The slide on the playground {addr} is smashed",
         "Sandbox {addr} is in terrible condition"),
    ),
    "public_transport": (
        ("Автобус не ходит по расписанию, остановка {addr}",
         "{addr} — сломан павильон остановки, стекло разбито",
         "Нет расписания на остановке {addr}",
         "Интервал автобуса больше 40 минут, остановка {addr}",
         "Водитель проезжает остановку {addr} не останавливаясь"),
        ("Bus does not follow the schedule, stop {addr}",
         "{addr} - bus shelter glass is broken",
         "No timetable at the bus stop {addr}",
         "The bus driver skips the stop {addr}"),
    ),
    "stray_animals": (
        ("Стая бездомных собак {addr}, бросаются на детей",
         "{addr}: агрессивные собаки у школы",
         "Бездомные кошки в подвале {addr}, запах",
         "Сбитая собака лежит на дороге {addr}",
         "Собаки без хозяина бегают {addr}, просим отловить"),
        ("Pack of stray dogs {addr}, they attack children",
         "{addr}: aggressive dogs near the school",
         "Stray cats in the basement {addr}, terrible smell",
         "Dead dog on the road {addr}, please remove it"),
    ),
}

# Relative frequency of each category among requests (categories not listed weigh 0.05).
CATEGORY_WEIGHTS: dict[str, float] = {
    "road_damage": 0.12, "street_lighting": 0.08, "waste_collection": 0.12, "snow_ice": 0.04,
    "illegal_parking": 0.12, "noise": 0.08, "graffiti": 0.05, "water_leak": 0.08, "heating": 0.07,
    "elevator": 0.06, "trees_greenery": 0.06, "playground": 0.04, "public_transport": 0.05,
    "stray_animals": 0.03,
}
# Categories about a flat, where residents give their flat number.
FLAT_CATEGORIES = frozenset({"elevator", "heating", "noise", "water_leak"})

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
