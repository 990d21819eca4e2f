"""Address parsing: real-world Russian and English address forms -> street, type and house parts."""

from __future__ import annotations

import polars as pl
import pytest

from models.geocoding import address_parser as ap
from models.geocoding.address_spans import AddressSpanFinder

# address, street key, type key, house key, number, korpus, building (строение), letter
FORMS = [
    ("ул. Садовая, д. 15", "садовая", "street", "15", 15, None, None, None),
    ("Садовая улица, дом 15", "садовая", "street", "15", 15, None, None, None),
    ("Садовая ул. д.15 корп. 2", "садовая", "street", "15к2", 15, 2, None, None),
    ("улица Садовая, дом 15 корпус 2", "садовая", "street", "15к2", 15, 2, None, None),
    ("Садовая ул., 29к2", "садовая", "street", "29к2", 29, 2, None, None),
    ("ул. Садовая, 7 стр. 1", "садовая", "street", "7с1", 7, None, 1, None),
    ("ул. Садовая, дом 15-17", "садовая", "street", "15-17", 15, None, None, None),
    ("ул. Маяковского, д. 43/14", "маяковского", "street", "43/14", 43, None, None, None),
    ("пр-т Мира, д. 12, литера А", "мира", "avenue", "12a", 12, None, None, "a"),
    ("проспект Мира 12А", "мира", "avenue", "12a", 12, None, None, "a"),
    ("просп. Мира, 12", "мира", "avenue", "12", 12, None, None, None),
    ("Луговая наб., д. 87", "луговая", "embankment", "87", 87, None, None, None),
    ("набережная Луговая 87", "луговая", "embankment", "87", 87, None, None, None),
    ("Кооперативный пер., д. 5", "кооперативный", "lane", "5", 5, None, None, None),
    ("переулок Кооперативный, дом 5", "кооперативный", "lane", "5", 5, None, None, None),
    ("2-я Кузнечная ул., д. 112Б", "2 кузнечная", "street", "112b", 112, None, None, "b"),
    ("Зелёное ш. д.70, кв. 12", "зеленое", "highway", "70", 70, None, None, None),
    ("г. Москва, ул.Римского-Корсакова,д.5к2", "римского корсакова", "street", "5к2", 5, 2, None, None),
    ("энтузиастов ул 53", "энтузиастов", "street", "53", 53, None, None, None),
    ("40 Dostoevskogo St", "dostoevskogo", "street", "40", 40, None, None, None),
    ("173/51 Sadovoye Hwy, apt. 391", "sadovoye", "highway", "173/51", 173, None, None, None),
    ("Universitetskaya St, bldg 33", "universitetskaya", "street", "33", 33, None, None, None),
    ("7 bld 1 Sadovaya Street", "sadovaya", "street", "7с1", 7, None, 1, None),
    ("15k2 Sadovaya St", "sadovaya", "street", "15к2", 15, 2, None, None),
    ("57B Lugovaya Emb", "lugovaya", "embankment", "57b", 57, None, None, "b"),
    ("20 1st Parkovaya Avenue", "1 parkovaya", "avenue", "20", 20, None, None, None),
    ("123 W 45th St", "w 45", "street", "123", 123, None, None, None),
    ("123 West 45th Street", "w 45", "street", "123", 123, None, None, None),
    ("8 Марта ул.", "8 марта", "street", None, None, None, None, None),
    ("ул. Садовая", "садовая", "street", None, None, None, None, None),
]


@pytest.mark.parametrize(("text", "street", "kind", "house", "number", "korpus", "building", "letter"), FORMS)
def test_address_forms_parse_into_parts(text, street, kind, house, number, korpus, building, letter):
    row = ap.parse_addresses(pl.Series([text])).row(0, named=True)
    assert (row[ap.STREET_KEY], row[ap.TYPE_KEY], row[ap.HOUSE_KEY]) == (street, kind, house)
    assert (row[ap.HOUSE_NUMBER], row[ap.KORPUS], row[ap.BUILDING], row[ap.HOUSE_LETTER]) == (
        number, korpus, building, letter
    )


def test_crossing_names_both_streets():
    row = ap.parse_addresses(pl.Series(["Broadway & W 42nd St"])).row(0, named=True)
    assert (row[ap.STREET_KEY], row[ap.HOUSE_KEY]) == ("broadway", None)
    assert (row[ap.CROSS_STREET_KEY], row[ap.CROSS_TYPE_KEY]) == ("w 42", "street")


def test_gazetteer_spellings_normalise_to_the_same_keys_as_residents():
    houses = ap.normalise_houses(pl.Series(["15к2", "7 стр. 1", "12А", "43/14", "5"])).to_list()
    assert houses == ["15к2", "7с1", "12a", "43/14", "5"]
    streets = ap.normalise_streets(pl.Series(["Зелёная", "1-я Парковая", "Sadovaya"]), pl.Series(["ул.", "пр-т", "St"]))
    assert streets.rows() == [("зеленая", "street"), ("1 парковая", "avenue"), ("sadovaya", "street")]


def test_missing_and_unreadable_addresses_give_nulls():
    parsed = ap.parse_addresses(pl.Series([None, "", "!!!"], dtype=pl.String))
    assert parsed[ap.STREET_KEY].to_list() == [None, None, None]
    assert parsed[ap.HOUSE_KEY].to_list() == [None, None, None]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("Сломан лифт по адресу: Нижняя ул. д.91, кв. 293 уже неделю!!!", "Нижняя ул. д.91"),
        ("Собаки бегают по адресу: переулок Кооперативный, дом 5, просим отловить", "переулок Кооперативный, дом 5"),
        ("Шумят соседи около дома пр-т Жуковского, 54, музыка после 23:00.", "пр-т Жуковского, 54"),
        ("Нет расписания на остановке 2-я Кузнечная ул. 112Б.", "2-я Кузнечная ул. 112Б."),
        ("Брошенный автомобиль стоит Ярославский бул. д.99 корп. 3 уже месяц", "Ярославский бул. д.99 корп. 3"),
        ("Garbage not collected on 173/51 Sadovoye Hwy, apt. 391, bins overflowing", "173/51 Sadovoye Hwy"),
        ("Road surface is broken on Universitetskaya St, bldg 33, please repair", "Universitetskaya St, bldg 33"),
        ("Hi! Lugovaya St 57B - dry branches hanging over the playground.", "Lugovaya St 57B"),
        ("Broken street lamp 209 times reported", None),
        ("Разбита дорога во дворе", None),
    ],
)
def test_address_spans_are_found_in_free_text(text, span):
    """A span may keep a few of the resident's words before a name; the geocoder tries them off."""
    found = AddressSpanFinder().find(pl.Series([text])).to_list()[0]
    if span is None:
        assert found is None
    else:
        assert found.endswith(span) and len(found.split()) - len(span.split()) <= 3
