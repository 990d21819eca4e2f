"""Personal data on real text: names in capitals and lone surnames after markers are found,
street and place names of San Francisco 311 stay, a city pack's own public contacts stay, and the
column engine finds what Python's `re` finds."""

from __future__ import annotations

import random
import re
from pathlib import Path

import polars as pl
import pytest
from conftest import build_tiny_pack

from models.personal_data import detector
from models.personal_data.detector import detect_pii, scrub_pii
from models.personal_data.matches import END, ROW, START, find_matches
from models.personal_data.public import PublicContacts, PublicContactsError
from pipelines.transforms.requests.scrub import scrub_frame
from schemas import requests as rq
from schemas.personal_data import PACK_PUBLIC_CONTACTS_FILE, PII_END, PII_START, PII_TYPE, PiiType

PERSON, PHONE = PiiType.PERSON, PiiType.PHONE
SF_SAMPLE = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "requests" / (
    "sf311_service_requests_sample_10k.csv"
)


def found(text: str, public: PublicContacts | None = None) -> list[tuple[str, str]]:
    spans = detect_pii(pl.Series([text]), public=public)[0]
    return [(s[PII_TYPE], text[s[PII_START] : s[PII_END]]) for s in spans]


CAPITALS = [
    ("Заявитель ИВАНОВ ИВАН ИВАНОВИЧ, кв. 5", "ИВАНОВ ИВАН ИВАНОВИЧ"),
    ("ИВАНОВ ИВАН просит убрать снег", "ИВАНОВ ИВАН"),
    ("Подпись: ИВАНОВ И.И.", "ИВАНОВ И.И."),
    ("Заявитель: ПЕТРОВА А.С.", "ПЕТРОВА А.С."),
    ("CALLER JOHN SMITH REPORTS NOISE", "JOHN SMITH"),
    ("FWD TO SCO, GARY HUEY TO CONTACT CUSTOMER", "GARY HUEY"),
    ("MR SMITH CALLED AGAIN", "SMITH"),
]
MARKED = [
    ("гр. Кот жалуется на шум", "Кот"),
    ("ГР. ИВАНОВ не открывает дверь", "ИВАНОВ"),
    ("жилец Ли из соседнего подъезда", "Ли"),
    ("Жилец Кот шумит", "Кот"),
    ("гражданка Ким просит перезвонить", "Ким"),
    ("Ms Kot left a voicemail", "Kot"),
    ("Mr. SMITH called", "SMITH"),
    ("Dr. Ng called back", "Ng"),
]
# Street, place and abbreviation words of San Francisco 311 texts and addresses.
KEPT = [
    "not out to M/S. Spoke to homeowner ,informed inside problem",
    "To pay in person, go to:  1 Dr. Carlton B. Goodlett Pl., City Hall, Room 140",
    "1 DR CARLTON B GOODLETT PL, SAN FRANCISCO",
    "2441 ADAM CLAYTON POWELL JR BOULEVARD",
    "1315 REV JAMES A POLITE AVENUE",
    "Intersection of BRANNAN ST and JACK LONDON ALY",
    "252 EVELYN WAY, SAN FRANCISCO",
    "FLUSH OFV TO MS ASSET FOR 180 BEAVER",
    "THANKS, BLOCKED DRIVEWAY",
    "LOUD MUSIC/PARTY, REFERRED TO DPW",
]


@pytest.mark.parametrize(("text", "name"), CAPITALS)
def test_names_in_capitals_are_scrubbed(text: str, name: str) -> None:
    assert (PERSON, name) in found(text)
    assert name not in scrub_pii(pl.Series([text]))[0]


@pytest.mark.parametrize(("text", "name"), MARKED)
def test_lone_surname_after_a_marker_is_scrubbed(text: str, name: str) -> None:
    assert found(text) == [(PERSON, name)]


@pytest.mark.parametrize("text", KEPT)
def test_street_place_and_abbreviation_words_stay(text: str) -> None:
    assert found(text) == []


def test_a_name_with_a_middle_initial_goes_whole() -> None:
    assert found("Ask Carlton B. Goodlett about it") == [(PERSON, "Carlton B. Goodlett")]
    assert found("contacted Muni/civic center/P. Morles, has") == [(PERSON, "P. Morles")]


@pytest.fixture
def city_contacts(tmp_path: Path) -> PublicContacts:
    (tmp_path / PACK_PUBLIC_CONTACTS_FILE).write_text(
        "kind,value\nphone,(415) 701-2311\nphone,+7 495 777-77-77\ntext,Carlton B. Goodlett\n"
        "text,311@sfgov.org\n",
        encoding="utf-8",
    )
    contacts = PublicContacts.of_pack(tmp_path)
    assert contacts is not None
    return contacts


def test_city_allow_list_phone_and_address_are_kept(city_contacts: PublicContacts) -> None:
    text = "CONTACT 311 (415)701-2311 or 701-2311, my cell 415-555-0199, Carlton B. Goodlett Pl"
    assert found(text, city_contacts) == [(PHONE, "415-555-0199")]
    assert (PHONE, "(415)701-2311") in found(text)  # without the list it goes
    ru = "Горячая линия 8 (495) 777-77-77, мой 8 916 123-45-67, пишите 311@sfgov.org или ivan@mail.ru"
    assert [kind for kind, _ in found(ru, city_contacts)] == [PHONE, PiiType.EMAIL]
    assert scrub_pii(pl.Series([ru]), public=city_contacts)[0] == (
        "Горячая линия 8 (495) 777-77-77, мой [PHONE], пишите 311@sfgov.org или [EMAIL]"
    )


def test_scrub_frame_keeps_the_city_contacts(city_contacts: PublicContacts) -> None:
    frame = pl.DataFrame({rq.DESCRIPTION: ["call 311 at (415) 701-2311, John Smith 212-555-0142"]})
    assert scrub_frame(frame, city_contacts)[rq.DESCRIPTION].to_list() == [
        "call 311 at (415) 701-2311, [PERSON] [PHONE]"
    ]
    assert scrub_frame(frame)[rq.DESCRIPTION].to_list() == ["call 311 at [PHONE], [PERSON] [PHONE]"]


def test_a_pack_without_the_file_has_no_list_and_a_bad_file_says_where(tmp_path: Path) -> None:
    assert PublicContacts.of_pack(tmp_path) is None
    (tmp_path / PACK_PUBLIC_CONTACTS_FILE).write_text("kind,value\nfax,123\n", encoding="utf-8")
    with pytest.raises(PublicContactsError, match="line 2"):
        PublicContacts.of_pack(tmp_path)


def test_column_matches_are_where_re_finds_them() -> None:
    rng = random.Random(7)
    alphabet = "aé Ж1 2-\u00a0x.@"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    series = pl.Series(texts + [None])
    for pattern in (r"\d+", r"[aé]+\.?", r"Ж\d?", r"x@"):
        matches = find_matches(series, pattern)
        got = list(zip(matches[ROW].to_list(), matches[START].to_list(), matches[END].to_list(), strict=True))
        expected = [(row, m.start(), m.end()) for row, t in enumerate(texts) for m in re.finditer(pattern, t)]
        assert got == expected


@pytest.mark.skipif(not SF_SAMPLE.exists(), reason="../shared/data SF 311 sample is absent")
def test_sf_status_notes_keep_street_words_and_the_311_line() -> None:
    notes = pl.read_csv(SF_SAMPLE, infer_schema_length=0).get_column("status_notes").drop_nulls()
    public = PublicContacts(phones=("4157012311",), texts=("Carlton B. Goodlett",))
    spans = detect_pii(notes, public=public)
    values = (
        pl.DataFrame({"t": notes, "s": spans}).explode("s").drop_nulls("s").unnest("s")
        .select(pl.col("t").str.slice(pl.col(PII_START), pl.col(PII_END) - pl.col(PII_START)))
        .to_series().to_list()
    )  # fmt: skip
    assert not [v for v in values if "Spoke" in v or "Goodlett" in v or "2311" in v]
    assert {"Alex Liang", "Jennifer Wong", "D. Oliveira"} <= set(values)  # staff names still go


def test_a_long_column_searched_in_slices_finds_what_one_pass_finds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = pl.Series(
        ["call 212-555-0142, Иванов И.И.", None, "clean", "кв. 7, ivan@mail.ru, Mr Smith"] * 40
    )
    whole = detect_pii(texts)
    monkeypatch.setattr(detector, "_MIN_PART", 25)
    monkeypatch.setattr(pl, "thread_pool_size", lambda: 3)
    assert detect_pii(texts).to_list() == whole.to_list()
    assert whole.list.len().to_list()[:4] == [2, 0, 0, 3]


def test_city_pack_reads_its_public_contacts(tmp_path: Path) -> None:
    pack = build_tiny_pack(tmp_path / "city")
    assert pack.public_contacts() is None  # a pack without the file: everything is scrubbed
    (pack.root / PACK_PUBLIC_CONTACTS_FILE).write_text("kind,value\nphone,8 (800) 555-35-35\n", encoding="utf-8")
    contacts = pack.public_contacts()
    assert contacts is not None and contacts.phones == ("88005553535",)
    assert found("Горячая линия 8-800-555-35-35, мой 8 916 123-45-67", contacts) == [
        (PHONE, "8 916 123-45-67")
    ]
