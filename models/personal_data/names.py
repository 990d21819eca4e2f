"""Name lists the UrbanPulse PII detector ships: first names (Russian in all six cases, English),
courtesy titles, and the words that may stand capitalised beside a name without being one.

Small on purpose: a first name, a patronymic, initials or a title is what turns a capitalised word
into a person; a surname alone (often a street: "ул. Павлова") never is. The lists are plain
Python so that a city adds its own names in one place.
"""

from __future__ import annotations

# The tables below read better packed than one item per line.
# fmt: off
RU_MALE = (
    "Александр", "Алексей", "Анатолий", "Андрей", "Антон", "Аркадий", "Арсений", "Артём", "Артем",
    "Артур", "Богдан", "Борис", "Вадим", "Валентин", "Валерий", "Василий", "Виктор", "Виталий",
    "Владимир", "Владислав", "Всеволод", "Вячеслав", "Геннадий", "Георгий", "Герман", "Глеб",
    "Григорий", "Даниил", "Данила", "Денис", "Дмитрий", "Евгений", "Егор", "Захар", "Иван",
    "Игорь", "Илья", "Кирилл", "Константин", "Лев", "Леонид", "Максим", "Марат", "Матвей",
    "Михаил", "Никита", "Николай", "Олег", "Павел", "Пётр", "Петр", "Родион", "Ростислав",
    "Руслан", "Савелий", "Святослав", "Семён", "Семен", "Сергей", "Станислав", "Степан",
    "Тимофей", "Тимур", "Фёдор", "Федор", "Филипп", "Эдуард", "Юрий", "Яков", "Ярослав",
)
RU_FEMALE = (
    "Алевтина", "Алёна", "Алена", "Александра", "Алина", "Алиса", "Алла", "Анастасия", "Ангелина",
    "Анна", "Антонина", "Арина", "Валентина", "Валерия", "Варвара", "Вера", "Вероника",
    "Виктория", "Галина", "Дарья", "Диана", "Ева", "Евгения", "Екатерина", "Елена", "Елизавета",
    "Жанна", "Зинаида", "Зоя", "Инна", "Ирина", "Карина", "Кира", "Клавдия", "Кристина", "Ксения",
    "Лариса", "Лидия", "Любовь", "Людмила", "Маргарита", "Марина", "Мария", "Милана", "Надежда",
    "Наталья", "Наталия", "Нина", "Оксана", "Ольга", "Полина", "Раиса", "Регина", "Светлана",
    "София", "Софья", "Таисия", "Тамара", "Татьяна", "Ульяна", "Эльвира", "Юлия", "Яна",
)
# Common English given names, leaving out those that are also everyday words (Will, May, Rose,
# Grace, Hope, June, Bill, Mark, Art), which would turn sentences into "people".
EN_FIRST = (
    "Aaron", "Abigail", "Adam", "Alan", "Albert", "Alex", "Alexander", "Alexis", "Alice", "Amanda",
    "Amber", "Amy", "Andrea", "Andrew", "Angela", "Ann", "Anna", "Anne", "Anthony", "Arthur",
    "Ashley", "Austin", "Barbara", "Ben", "Benjamin", "Betty", "Beverly", "Bob", "Bobby", "Brandon",
    "Brenda", "Brian", "Brittany", "Bruce", "Bryan", "Carl", "Carlos", "Carol", "Carolyn",
    "Catherine", "Charles", "Charlotte", "Cheryl", "Chris", "Christina", "Christine",
    "Christopher", "Cynthia", "Dan", "Daniel", "Danielle", "Dave", "David", "Deborah", "Debra",
    "Denise", "Dennis", "Diana", "Diane", "Donald", "Donna", "Doris", "Dorothy", "Douglas",
    "Dylan", "Edward", "Elizabeth", "Emily", "Emma", "Eric", "Ethan", "Eugene", "Evelyn",
    "Frances", "Frank", "Gary", "George", "Gerald", "Gloria", "Gregory", "Hannah", "Harold",
    "Heather", "Helen", "Henry", "Isabella", "Jack", "Jacob", "Jacqueline", "James", "Jane",
    "Janet", "Janice", "Jason", "Jean", "Jeffrey", "Jennifer", "Jeremy", "Jerry", "Jesse",
    "Jessica", "Jim", "Joan", "Joe", "John", "Johnny", "Jonathan", "Jose", "Joseph", "Joshua",
    "Joyce", "Juan", "Judith", "Judy", "Julia", "Julie", "Justin", "Karen", "Kate", "Katherine",
    "Kathleen", "Kathryn", "Kayla", "Keith", "Kelly", "Kenneth", "Kevin", "Kimberly", "Kyle",
    "Larry", "Laura", "Lauren", "Lawrence", "Linda", "Lisa", "Logan", "Lori", "Louis", "Luis",
    "Madison", "Margaret", "Maria", "Marie", "Marilyn", "Martha", "Mary", "Matt", "Matthew",
    "Megan", "Melissa", "Michael", "Michelle", "Mike", "Nancy", "Natalie", "Nathan", "Nicholas",
    "Nick", "Nicole", "Noah", "Olivia", "Pamela", "Patricia", "Patrick", "Paul", "Peter",
    "Philip", "Rachel", "Ralph", "Randy", "Raymond", "Rebecca", "Richard", "Robert", "Roger",
    "Ronald", "Roy", "Russell", "Ruth", "Ryan", "Sam", "Samantha", "Samuel", "Sandra", "Sara",
    "Sarah", "Scott", "Sean", "Sharon", "Shirley", "Sophia", "Stephanie", "Stephen", "Steve",
    "Steven", "Susan", "Teresa", "Terry", "Theresa", "Thomas", "Timothy", "Tom", "Tony", "Tyler",
    "Victoria", "Vincent", "Virginia", "Walter", "Wayne", "William", "Zachary",
)
# Russian first names as they are written in Latin letters ("ask for Ivan Petrov"), leaving out
# those that are also English words or places (Roman, Maxim, Vera, Lev, Marina).
RU_LATIN_FIRST = (
    "Aleksandr", "Aleksei", "Alexei", "Alexey", "Anatoly", "Andrei", "Andrey", "Arkady", "Artem",
    "Artyom", "Dmitri", "Dmitrii", "Dmitry", "Evgeny", "Fyodor", "Gennady", "Georgy", "Grigory",
    "Igor", "Ilya", "Ivan", "Kirill", "Konstantin", "Mikhail", "Nikita", "Nikolai", "Nikolay",
    "Oleg", "Pavel", "Pyotr", "Sergei", "Sergey", "Stanislav", "Stepan", "Timofei", "Vadim",
    "Valery", "Vasily", "Viktor", "Vitaly", "Vladimir", "Vladislav", "Vyacheslav", "Yaroslav",
    "Yevgeny", "Yuri", "Yury",
    "Alyona", "Anastasia", "Anastasiya", "Darya", "Ekaterina", "Galina", "Irina", "Ksenia",
    "Kseniya", "Larisa", "Lyudmila", "Ludmila", "Nadezhda", "Natalia", "Natalya",
    "Oksana", "Olga", "Polina", "Svetlana", "Tatiana", "Tatyana", "Valentina", "Yekaterina",
    "Yelena", "Elena", "Yulia", "Yuliya", "Zinaida",
)
# Titles that announce a surname ("Mrs. Jones", "г-н Петров"); the title itself stays readable.
TITLES = (
    "Mr", "Mrs", "Ms", "Miss", "Dr", "Prof", "Sir", "Madam", "Officer", "г-н", "г-жа", "гр",
)
# Words right before a single name word that make it a person whatever the word is ("гр. Кот",
# "жилец Ли", "MR NG"): the courtesy titles and the nouns Russian bureaucratic text puts before a
# surname. Matched in any case; a lone surname after one of them is scrubbed, unless it is an
# organisation or a place word.
PERSON_MARKERS = (
    "mr", "mrs", "ms", "miss", "г-н", "г-жа", "гр", "гражданин", "гражданина", "гражданину",
    "гражданином", "гражданка", "гражданки", "гражданке", "гражданку", "гражданкой", "жилец",
    "жильца", "жильцу", "жильцом", "жилица", "жилицы", "жилице", "жилицу", "жилицей",
)
# Titles written in capitals that still announce a surname ("MR SMITH"); "DR" is as often a
# drive ("SUNSET DR SAN FRANCISCO") and "MS" a main sewer, so they are left out (and "dr" is no
# marker: "1 DR CARLTON B GOODLETT PL").
CAPITAL_TITLES = ("Mr", "Mrs", "Miss", "Гр")
# Words in capitals that are never part of a name ("GARY HUEY TO CONTACT"); words in capitals of
# three letters or fewer are abbreviations (RPP, DPW, SFO) unless a name list knows them.
CAPITAL_STOP_WORDS = frozenset((
    "To", "For", "And", "Of", "At", "In", "On", "By", "From", "With", "Or", "As", "Is", "Be", "Not",
    "No", "Per", "Re", "Via", "Into", "Onto", "Over", "Under", "Near", "Will", "Was", "Were", "Has",
    "Have", "Had", "Are", "Been", "Called", "Contacted", "Spoke", "Sent", "Left", "Closed",
    "Customer", "Caller", "Request", "Case", "Info", "Information", "Regarding", "Message",
    "Из", "По", "На", "От", "Для", "Или", "При", "Под", "Над", "Без", "Про", "Через",
))
# Capitalised words that open sentences or sign-offs next to a name but are not part of it, and
# street words that make "Madison Avenue" or "улица Александра Невского" a place, not a person.
NOT_NAME_WORDS = frozenset((
    "Здравствуйте", "Добрый", "Уважаемые", "Уважаемый", "Прошу", "Спасибо", "Заявитель",
    "Пишите", "Звоните", "Тел", "Телефон", "Мой", "Контактный", "Жду", "Сколько", "Примите",
    "Заранее", "Ответ", "Почта", "Адрес", "Дом", "Улица", "Проспект", "Переулок", "Бульвар",
    "Площадь", "Набережная", "Шоссе", "Проезд", "Квартира", "Москва", "Россия",
    "Спросить", "Спросите", "Позовите", "Позвать", "Обращаться", "Обратиться", "Обращайтесь",
    "Обратитесь", "Связаться", "Свяжитесь", "Позвоните", "Позвонить", "Звонить", "Меня", "Зовут",
    "Контактное", "Контакт", "Сосед", "Соседка", "Собственник", "Жилец",
    "Hello", "Hi", "Dear", "Please", "Thanks", "Thank", "Regards", "Best", "Sincerely", "Good",
    "Email", "Phone", "Tel", "Call", "Reply", "My", "The", "This", "That", "We", "I", "It",
    "Contact", "Ask", "Per", "Attn", "Attention", "Speak", "Talk", "Tenant", "Landlord", "Neighbor",
    "Neighbour",
    "Street", "St", "Avenue", "Ave", "Road", "Rd", "Lane", "Ln", "Boulevard", "Blvd", "Place", "Pl",
    "Square", "Sq", "Highway", "Hwy", "Drive", "Dr", "Court", "Ct", "Parkway", "Pkwy", "Terrace",
    "Embankment", "Emb", "Park", "Heights", "Bridge", "Station", "School", "Hospital", "Center",
    "Way", "Aly", "Alley", "Corner", "Circle", "Cir", "Plaza", "Plz", "Loop", "Walk", "Row",
    "Apt", "Unit", "Flat", "New", "York", "City", "NYC", "Manhattan", "Brooklyn", "Queens",
    "Bronx", "Staten", "Island", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
    "Saturday", "Sunday", "January", "February", "March", "August", "September", "October",
    "November", "December",
))
# Lower-case words right before a capitalised run that make it a street or place name.
STREET_WORDS = frozenset((
    "ул", "улица", "улице", "улицу", "улицы", "пр-т", "пр", "просп", "проспект", "проспекте",
    "пер", "переулок", "переулке", "бул", "бульвар", "бульваре", "пл", "площадь", "площади",
    "наб", "набережная", "набережной", "ш", "шоссе", "проезд", "проезде", "им", "имени",
    "тупик", "аллея", "район", "района", "районе", "районом", "округ", "округа", "округе",
    "округом", "поселение", "поселения", "мкр", "микрорайон", "микрорайоне",
))
# Of those, the abbreviations that keep their dot ("ул. Павлова"); after a full word a dot ends
# the sentence and the next word may well be a signature.
STREET_ABBREVIATIONS = frozenset(("ул", "пр", "просп", "пер", "бул", "пл", "наб", "ш", "им"))
# Words right before a run that say a person signs or is named there ("С уважением, Ольга").
SIGN_OFF_CUES = (
    "с уважением", "заявитель", "заявительница", "подпись", "жалобу подал", "обращается",
    "regards", "thanks", "thank you", "sincerely", "signed", "cheers", "best",
)
# Phrases right before a name that say a person is asked for, introduced or to be contacted
# ("ask for Ivan Petrov", "обращаться к Петровой А.С."); the run after one still needs a first
# name, a surname or exactly two name words, and none of `ORGANISATION_WORDS` in it or right
# after it ("contact Marine Mammal Rescue Center").
NAME_CUES = (
    "ask for", "asking for", "asked for", "contact", "contact person", "contact name", "speak to",
    "speak with", "talk to", "talk with", "my name is", "name is", "attn", "attention", "c/o",
    "care of", "tenant", "landlord", "neighbor", "neighbour",
    "спросить", "спросите", "спросить у", "спросите у", "позвать", "позовите", "попросить",
    "попросите", "обращаться к", "обратиться к", "обращайтесь к", "обратитесь к", "связаться с",
    "свяжитесь с", "звонить", "позвонить", "позвоните", "меня зовут", "зовут", "контактное лицо",
    "контакт", "сосед", "соседка", "соседа", "соседке", "соседу", "собственник", "жилец",
)
# Capitalised words that make a run after a cue an organisation or a place ("contact Department
# of Sanitation", "ask for Customer Service", "связаться с Управой района"), matched in English
# as words and in Russian by their stem (any case).
ORGANISATION_WORDS = frozenset((
    "Department", "Dept", "Sanitation", "Office", "Service", "Services", "Customer", "Support",
    "Management", "Authority", "Housing", "Police", "Precinct", "Council", "Board", "Agency",
    "Bureau", "Division", "Company", "Inc", "Llc", "Corp", "Con", "Edison", "Verizon", "Spectrum",
    "National", "Grid", "Animal", "Control", "Parks", "Transit", "Water", "Gas", "Electric",
    "Energy", "North", "South", "East", "West", "Upper", "Lower", "Side", "Village", "Hill",
    "Hall", "District", "Borough", "Community", "Association", "Building", "Desk", "Team",
    "Society", "Rescue", "Center", "Centre", "Foundation", "Institute", "University", "College",
    "School", "Hospital", "Station", "Museum", "Library", "Church", "Club", "Group", "Commission",
    "Committee", "County", "State", "Federal", "Public", "Works", "Health", "Recreation", "Rec",
    "Program", "Project", "Section", "Court", "Clerk", "Assessor", "Treasurer", "Tax", "Id",
    "Collector", "Scavenger", "Recycling", "Waste", "Towing", "Repair", "Maintenance",
    "Historical", "Planning", "Permit", "Permits", "Inspection", "Engineering", "Utilities",
    "Bank", "Market", "Store", "Restaurant", "Hotel", "Garage", "Hotline", "Line", "Unit",
    "Academy", "Training", "Town", "Bay", "View", "Point", "Beach", "Harbor", "Valley", "Square",
    "Plaza", "Tower", "Towers", "Houses", "Apartments", "Gardens", "Estates", "Commons", "Mall",
    "Airport", "Terminal", "Pier", "Wharf", "Port",
))
ORGANISATION_STEMS = (
    "управ", "департамент", "префектур", "администрац", "служб", "диспетчер", "компани",
    "жилищник", "мосводоканал", "мосгаз", "мосэнерго", "участков", "полици", "совет", "отдел",
    "район", "округ", "фонд", "центр", "инспекц", "комитет", "организац", "предприяти",
)
# Endings of Russian surnames in any case and gender (-ов/-ова/-ову/-овым, -ский/-ская, ...).
RU_SURNAME_ENDINGS = (
    r"(?:ов|ев|ёв|ин|ын)(?:а|у|ым|ой|е|ом|ых|ы)?"
    r"|(?:ск|цк)(?:ий|ая|ого|ому|им|ом|ой|ую)"
    r"|(?:ко|юк|ук|ян|дзе|швили|ич|ых|их)"
)
# Patronymics in any case: Иванович(а/у/ем/е), Ивановна(ы/е/у/ой), Ильинична, Кузьмич.
RU_PATRONYMIC_ENDINGS = r"(?:ович|евич|ьич|ич)(?:а|у|ем|е)?|(?:овн|евн|ичн)(?:а|ы|е|у|ой)"
# fmt: on

_HUSHING_OR_VELAR = set("гкхжшчщ")
_FLEETING = {"Павел": "Павл", "Пётр": "Петр", "Петр": "Петр", "Лев": "Льв"}


def russian_name_forms(name: str, female: bool) -> set[str]:
    """The six case forms of a Russian first name: "Анна" -> Анны, Анне, Анну, Анной, ...

    Residents write "от Ивановой Анны" or "прошу связаться с Андреем Петровым"; a list of
    nominatives alone would miss them.
    """
    forms = {name}
    if name.endswith("ия"):
        stem = name[:-1]
        forms |= {stem + e for e in ("и", "ю", "ей")}
    elif name.endswith(("а", "я")):
        stem, soft = name[:-1], name.endswith("я")
        genitive = "и" if soft or stem[-1] in _HUSHING_OR_VELAR else "ы"
        instrumental = ("ей", "ёй") if soft else ("ой", "ей")
        forms |= {stem + genitive, stem + "е", stem + ("ю" if soft else "у")}
        forms |= {stem + e for e in instrumental}
    elif name.endswith(("й", "ь")):
        stem = name[:-1]
        forms |= {stem + e for e in ("я", "ю", "ем", "е", "и")}
    elif not female:
        stem = _FLEETING.get(name, name)
        forms |= {stem + e for e in ("а", "у", "ом", "е")}
    return forms


def first_names() -> frozenset[str]:
    """Every first-name form the detector recognises, Russian cases included."""
    names: set[str] = set(EN_FIRST) | set(RU_LATIN_FIRST)
    for name in RU_MALE:
        names |= russian_name_forms(name, female=False)
    for name in RU_FEMALE:
        names |= russian_name_forms(name, female=True)
    return frozenset(names)
