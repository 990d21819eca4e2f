"""PII detector: hand-written real-world forms the generator never makes, things that must stay,
and recall/precision against the spans the generator planted."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from models.personal_data.detector import detect_pii, scrub_pii
from models.personal_data.evaluation import CARD_JSON, evaluate_pii, write_pii_card
from schemas.personal_data import PII_END, PII_SPANS, PII_START, PII_TYPE, PiiType
from schemas.requests import DESCRIPTION
from synthetic.demo_city import build_demo_city
from synthetic.requests.generator import generate_requests

PHONE, EMAIL, PERSON, FLAT = PiiType.PHONE, PiiType.EMAIL, PiiType.PERSON, PiiType.FLAT

# (text, the personal data in it as (type, exact substring))
FOUND = [
    ("Звоните +7 (495) 123-45-67 вечером", [(PHONE, "+7 (495) 123-45-67")]),
    ("тел. 8 916 123 45 67.", [(PHONE, "8 916 123 45 67")]),
    ("Тел.+79161234567", [(PHONE, "+79161234567")]),
    ("мобильный (916) 123-45-67", [(PHONE, "(916) 123-45-67")]),
    ("Call (212) 555-0142 please", [(PHONE, "(212) 555-0142")]),
    ("my cell 212-555-0142.", [(PHONE, "212-555-0142")]),
    ("Phone: +1 415 555 0199", [(PHONE, "+1 415 555 0199")]),
    ("or 1-800-555-0100 toll free", [(PHONE, "1-800-555-0100")]),
    ("Пишите ivan.petrov+city@mail.yandex.ru!", [(EMAIL, "ivan.petrov+city@mail.yandex.ru")]),
    ("reply to a_b-c@sub.domain.co.uk.", [(EMAIL, "a_b-c@sub.domain.co.uk")]),
    ("Заявитель Иванов Иван Иванович", [(PERSON, "Иванов Иван Иванович")]),
    ("Прошу ответить Ивановой А.С. по почте", [(PERSON, "Ивановой А.С.")]),
    ("Подписал И. И. Иванов", [(PERSON, "И. И. Иванов")]),
    ("связаться с Андреем Петровым", [(PERSON, "Андреем Петровым")]),
    ("жалоба от Анны Сергеевны Кузнецовой", [(PERSON, "Анны Сергеевны Кузнецовой")]),
    ("С уважением, Ольга.", [(PERSON, "Ольга")]),
    ("г-н Петров не отвечает", [(PERSON, "Петров")]),
    ("My neighbour John Smith plays drums", [(PERSON, "John Smith")]),
    ("Mrs. Jones called twice", [(PERSON, "Jones")]),
    ("Per liaison, D. Oliveira, closing", [(PERSON, "D. Oliveira")]),
    ("Regards, Mary Brown", [(PERSON, "Mary Brown")]),
    ("Течёт в кв. 12 с потолка", [(FLAT, "кв. 12")]),
    ("залило квартиру 5 на третьем этаже", [(FLAT, "квартиру 5")]),
    ("дом 3, кв.44а", [(FLAT, "кв.44а")]),
    ("noise from apt 4B at night", [(FLAT, "apt 4B")]),
    ("Apt. 12, no heat", [(FLAT, "Apt. 12")]),
    ("leak in unit 3", [(FLAT, "unit 3")]),
    ("123 Main St #5C", [(FLAT, "#5C")]),
    (
        "Иванов И.И., кв. 7, тел. 8-916-123-45-67, ivanov@mail.ru",
        [
            (PERSON, "Иванов И.И."),
            (FLAT, "кв. 7"),
            (PHONE, "8-916-123-45-67"),
            (EMAIL, "ivanov@mail.ru"),
        ],
    ),
]

# Phones written without the separators the first patterns relied on, and names after phrases
# that ask for a person (found by a probe of published data).
FOUND_BARE_AND_CUED = [
    ("call 2125550199 after 6", [(PHONE, "2125550199")]),
    ("Phone 212 555 0199", [(PHONE, "212 555 0199")]),
    ("cell: 12125550199.", [(PHONE, "12125550199")]),
    ("left a voicemail at (718)5550123", [(PHONE, "(718)5550123")]),
    ("звонить 89161234567", [(PHONE, "89161234567")]),
    ("тел +7 916 123 45 67 до 20:00", [(PHONE, "+7 916 123 45 67")]),
    ("мобильный 9161234567, вечером", [(PHONE, "9161234567")]),
    ("номер 916 123 45 67", [(PHONE, "916 123 45 67")]),
    ("Позвоните 79161234567", [(PHONE, "79161234567")]),
    ("мой номер 7 916 123 45 67", [(PHONE, "7 916 123 45 67")]),
    ("тел. 8–916–123–45–67", [(PHONE, "8–916–123–45–67")]),  # en dashes
    ("тел +7\u202f916\u202f123\u202f45\u202f67", [(PHONE, "+7\u202f916\u202f123\u202f45\u202f67")]),
    ("Phone 212–555–0199", [(PHONE, "212–555–0199")]),
    ("Environmental Health (415)-252-3800", [(PHONE, "(415)-252-3800")]),
    ("ask for Ivan Petrov at the door", [(PERSON, "Ivan Petrov")]),
    ("please contact John Smith", [(PERSON, "John Smith")]),
    ("my name is Mary Jones", [(PERSON, "Mary Jones")]),
    ("Contact: Olga Smirnova, 3rd floor", [(PERSON, "Olga Smirnova")]),
    ("landlord Dmitry Volkov ignores us", [(PERSON, "Dmitry Volkov")]),
    ("спросить Ивана Петрова", [(PERSON, "Ивана Петрова")]),
    ("обращаться к Петровой А.С.", [(PERSON, "Петровой А.С.")]),
    ("Спросите Петрову, она знает", [(PERSON, "Петрову")]),
    ("меня зовут Светлана", [(PERSON, "Светлана")]),
    ("сосед Иванов опять шумит", [(PERSON, "Иванов")]),
    ("Inspector left voicemail at 7185550123, ask for Mr. Brown", [(PHONE, "7185550123"), (PERSON, "Brown")]),
    # the forms San Francisco's status notes use
    ("please contact Danny Okafor, Pool Manager", [(PERSON, "Danny Okafor")]),
    ("Need to contact Amy at 555-7839.", [(PERSON, "Amy"), (PHONE, "555-7839")]),
    ("Forwarded to Senior Collection Officer Walter Brinks (415-555-7802)",
     [(PERSON, "Walter Brinks"), (PHONE, "415-555-7802")]),
]

# Texts that look a little like personal data and must stay as they are.
KEPT = [
    "Яма у дома д. 15к2 по ул. Ленина",
    "Заявка от 12.03.2024, обещали к 23:00",
    "Ремонт с 10:30-12:00, ущерб 1 500 000 руб.",
    "Заявка UP000123456 и SR#4902585, PSR #425610",
    "Не горит фонарь на улице Пушкина",
    "ул. Павлова, 11А, около дома",
    "проспект Андрея Сахарова 5",
    "Маршала Жукова ул. 5",
    "площадь 50 кв. м, квартал 7",
    "Pothole on Broadway near 5th Ave",
    "Traffic on Madison Avenue again",
    "In front of #536, #546, #558 Columbus",
    "Please fix ASAP. Thank you!",
    "Complaint 2023-02-28 about LL103/89 drainage",
    "in my apartment 18 Yuzhnaya Street",
    "Per C.F.C. Section 1028.3",
]

# Numbers that are not phones, and what follows a cue phrase without being a person.
KEPT_NUMBERS_AND_CUED = [
    "Заявка 2125550199 закрыта",  # a request id shaped like a phone
    "Request # 2125550199 is a duplicate of SR 3105550123",
    "ИНН 7701234567, ОГРН 1027700132195, лицевой счёт 9012345678",
    "BBL 3012340001, BIN 3012345",
    "В 2019, 2020 и 2021 годах, с 1990-2024",
    "дом 1234, корп. 5, стр. 67, д. 15-17",
    "Заявка от 20240312, дата 2024-03-12 10:30, 12.03.2024",
    "выделено 9500000000 руб. на ремонт, смета 9161234567 рублей",
    "paid $3125550000 total",
    "точка 55.7558123456, 37.6173456789",
    "at 40.7127753 -74.0059728 and 139.6917064",
    "contact the Department of Sanitation",
    "Please contact Department of Sanitation",
    "ask for Customer Service",
    "contact Con Edison about the outage",
    "ask for Broadway entrance",
    "спросить на ул. Ленина",
    "связаться с Управой района",
    "Позвоните в Мосводоканал",
    "связаться с Тверским районом",
    "спросить у Диспетчерской службы",
    "обращаться к Садовой улице",
    "My name is on the list",
    "contact Bay View",
    "landlord Stuyvesant Town",
    "she can contact Marine Mammal Rescue Center",
    "asking for Federal Id# to assist",
    "contact California Historical Society",
    "Order 2125550199 shipped, Invoice 4155550123, ID 9161234567",
    "ZIP 94107-1300, Block 0533 Lot 029",
    "ИНН 770123456789, счёт 40817810099910004312",
]


def found(text: str) -> list[tuple[str, str]]:
    spans = detect_pii(pl.Series([text]))[0]
    return [(s[PII_TYPE], text[s[PII_START] : s[PII_END]]) for s in spans]


@pytest.mark.parametrize(("text", "expected"), FOUND, ids=[t for t, _ in FOUND])
def test_real_world_forms_are_found_exactly(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(("text", "expected"), FOUND_BARE_AND_CUED, ids=[t for t, _ in FOUND_BARE_AND_CUED])
def test_bare_phones_and_cued_names_are_found_exactly(
    text: str, expected: list[tuple[str, str]]
) -> None:
    assert found(text) == expected


@pytest.mark.parametrize("text", KEPT + KEPT_NUMBERS_AND_CUED)
def test_look_alikes_are_not_flagged(text: str) -> None:
    assert found(text) == []


def test_scrub_replaces_each_span_with_its_placeholder() -> None:
    texts = pl.Series(["Иванов И.И., кв. 7, тел. 8-916-123-45-67, ivanov@mail.ru", None, "чисто"])
    assert scrub_pii(texts).to_list() == ["[PERSON], [FLAT], тел. [PHONE], [EMAIL]", None, "чисто"]


def test_scrub_with_given_spans_and_nothing_found() -> None:
    texts = pl.Series(["call 212-555-0142", "no data"])
    spans = detect_pii(texts)
    assert spans.list.len().to_list() == [1, 0]
    assert scrub_pii(texts, spans).to_list() == ["call [PHONE]", "no data"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.Series, pl.Series]:
    pack = build_demo_city(tmp_path_factory.mktemp("cities") / "demo")
    records, truth = generate_requests(pack, 4000, seed=23)
    return records.get_column(DESCRIPTION), truth.get_column(PII_SPANS)


MIN_RECALL = {PHONE: 0.95, EMAIL: 0.95, PERSON: 0.85, FLAT: 0.9}
MIN_PRECISION = {PHONE: 0.95, EMAIL: 0.95, PERSON: 0.9, FLAT: 0.9}


@pytest.mark.parametrize("kind", list(MIN_RECALL))
def test_generated_spans_are_found(generated: tuple[pl.Series, pl.Series], kind: str) -> None:
    texts, truth = generated
    scores = evaluate_pii(texts, truth)["scores"][kind]
    assert scores["true_spans"] > 50  # the sample holds this type at all
    assert scores["exact"]["recall"] >= MIN_RECALL[kind]
    assert scores["overlap"]["precision"] >= MIN_PRECISION[kind]


def test_scrubbed_generated_texts_keep_no_planted_data(
    generated: tuple[pl.Series, pl.Series],
) -> None:
    texts, truth = generated
    planted = (
        pl.DataFrame({"text": texts, "spans": truth})
        .explode("spans")
        .drop_nulls("spans")
        .unnest("spans")
        .select(pl.col("text").str.slice(pl.col(PII_START), pl.col(PII_END) - pl.col(PII_START)))
        .to_series()
        .unique()
    )
    scrubbed = " ".join(scrub_pii(texts).to_list())
    leaked = [value for value in planted.to_list() if value in scrubbed]
    assert len(leaked) <= 0.01 * len(planted)


def test_evaluation_counts_misses_and_false_alarms() -> None:
    texts = pl.Series(["call 212-555-0142 or Анна Петрова"])
    truth = pl.Series(
        [
            [
                {PII_START: 5, PII_END: 17, PII_TYPE: PHONE},
                {PII_START: 0, PII_END: 4, PII_TYPE: EMAIL},
            ]
        ]
    )
    scores = evaluate_pii(texts, truth.cast(detect_pii(texts).dtype))["scores"]
    assert scores[PHONE]["exact"] == {"recall": 1.0, "precision": 1.0}
    assert scores[EMAIL]["exact"]["recall"] == 0.0
    assert scores[PERSON]["exact"]["precision"] == 0.0
    assert scores["all"]["exact"] == {"recall": 0.5, "precision": 0.5}


def test_card_is_written(generated: tuple[pl.Series, pl.Series], tmp_path: Path) -> None:
    texts, truth = generated
    json_path, md_path = write_pii_card(evaluate_pii(texts.head(300), truth.head(300)), tmp_path)
    assert json_path.name == CARD_JSON and "| phone |" in md_path.read_text(encoding="utf-8")
