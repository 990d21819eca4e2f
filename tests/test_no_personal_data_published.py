"""Nothing a resident typed as personal data reaches a published dataset.

A hand-written export with planted phones, e-mails, names and flat numbers (in description,
status_notes and address) goes through the real batch pipeline and through the live path
(landing log -> replay -> dataset publisher); then every file under the workspace's `datasets/`
is read, every Parquet column as text, and searched for each planted value.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from conftest import build_tiny_pack

from pipelines import ingest_requests
from pipelines.land_requests import land_file
from pipelines.stream_requests import LiveSettings, replay
from plumbing.landing import LandingLog
from plumbing.workspace import Workspace
from schemas import citypack as cp
from schemas import dead_letters as dl
from schemas import ledger
from schemas import requests as rq

HEADER = [rq.SERVICE_REQUEST_ID, rq.STATUS, rq.DESCRIPTION, rq.STATUS_NOTES, rq.SERVICE_NAME,
          rq.REQUESTED_DATETIME, rq.CLOSED_DATETIME, rq.ADDRESS, rq.LAT, rq.LONG]
# (row, the personal data planted in it). pd-4 has no request time: it becomes a dead letter.
EXPORT = [
    (["pd-1", "open", "Течёт с потолка в кв. 137, звоните 89161234567, спросить Ивана Петрова",
      "Мастер звонил +7 916 765 43 21, обращаться к Петровой А.С.", "noise",
      "2026-10-01T08:00:00Z", "", "ул. Садовая, д. 5, кв. 137", "", ""],
     ["кв. 137", "89161234567", "Ивана Петрова", "+7 916 765 43 21", "Петровой А.С."]),
    (["pd-2", "closed", "Loud music from apt 4B every night, call 2125550199 or ask for Ivan Smirnov",
      "Inspector called 212 555 0188, contact John Smith, reply sent to ivan.smirnov@example.com",
      "noise", "2026-10-01T21:00:00Z", "2026-10-02T09:00:00Z", "12 Main St #4B", "55.05", "37.05"],
     ["apt 4B", "2125550199", "Ivan Smirnov", "212 555 0188", "John Smith",
      "ivan.smirnov@example.com", "#4B"]),
    (["pd-3", "closed", "My name is Mary Jones, tel. 7185550123, heat is off in unit 7",
      "Closed: tenant Olga Smirnova was informed", "noise", "2026-10-02T10:00:00Z",
      "2026-10-03T10:00:00Z", "25 Water St, Apartment 12", "55.15", "37.15"],
     ["Mary Jones", "7185550123", "unit 7", "Olga Smirnova", "Apartment 12"]),
    (["pd-4", "open", "Шум ночью, звоните 89031112233, Анна Кузнецова", "", "noise", "",
      "", "пр-т Мира, 7, кв 88", "55.15", "37.05"],
     ["89031112233", "Анна Кузнецова", "кв 88"]),
    (["pd-5", "open", "Не работает лифт, квартира 58, пишите olga.k@mail.ru", "", "road_damage",
      "2026-10-03T12:00:00Z", "", "Садовая ул., 9, квартира 58", "", ""],
     ["квартира 58", "olga.k@mail.ru"]),
]
PLANTED = sorted({value for _, values in EXPORT for value in values})
SURNAMES = ("Петров", "Smirnov", "Jones", "Smith", "Кузнецов", "Smirnova")  # any part of a name
DEAD_ID = "pd-4"
SADOVAYA_LAT = 55.15


def write_export(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(row for row, _ in EXPORT)
    return path


def home_with_city(root: Path) -> Workspace:
    """The tiny city, with a gazetteer of ул. Садовая so that pd-1 and pd-5 are placed by address."""
    pack = build_tiny_pack(root)
    houses = ["1", "5", "9"]
    columns = {
        cp.STREET: ["Садовая"] * 3, cp.STREET_TYPE: ["ул."] * 3, cp.STREET_EN: ["Sadovaya"] * 3,
        cp.STREET_TYPE_EN: ["St"] * 3, cp.HOUSE: houses, cp.GAZ_LAT: [SADOVAYA_LAT] * 3,
        cp.GAZ_LONG: [37.01 + int(h) * 0.001 for h in houses], cp.DISTRICT_ID: ["N1"] * 3,
    }
    pl.from_arrow(pa.table(columns, schema=cp.GAZETTEER)).write_parquet(pack.root / cp.PACK_GAZETTEER_FILE)
    return Workspace(root)


def run_batch(root: Path) -> Workspace:
    workspace = home_with_city(root)
    export = write_export(root / "export.csv")
    report = ingest_requests.run([f"--input={export}", "--city=tiny", "--format=csv", f"--home={root}"])
    assert report.accounting_ok and report.records_out == len(EXPORT) - 1
    return workspace


def run_live(root: Path) -> Workspace:
    workspace = home_with_city(root)
    log = LandingLog(workspace.landing("tiny"), "city311").create("csv")
    land_file(log, write_export(root / "export.csv"), "csv")
    # the rows are from October 2026: allow them in, so only pd-4 is a dead letter
    report = replay(LiveSettings(workspace, "tiny", lateness=timedelta(days=3650), handover_seconds=0.0))
    assert report.counters[ledger.RECORDS_OUT] == len(EXPORT) - 1
    return workspace


@pytest.fixture(scope="module", params=["batch", "live"])
def published(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    run = run_batch if request.param == "batch" else run_live
    return run(tmp_path_factory.mktemp(request.param))


def published_texts(workspace: Workspace) -> dict[str, list[str]]:
    """Every file under datasets/ as text: per Parquet column (`file:column`), else the file."""
    texts: dict[str, list[str]] = {}
    for path in sorted(p for p in workspace.datasets.rglob("*") if p.is_file()):
        name = str(path.relative_to(workspace.datasets))
        if path.suffix != ".parquet":
            texts[name] = [path.read_bytes().decode("utf-8", errors="replace")]
            continue
        frame = pl.read_parquet(path, hive_partitioning=False)
        for column in frame.columns:
            texts[f"{name}:{column}"] = [str(value) for value in frame.get_column(column).to_list()]
    return texts


def leaks(texts: dict[str, list[str]], values: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    return [(where, value) for where, cells in texts.items() for value in values
            if any(value in cell for cell in cells)]


def test_no_planted_value_is_published(published: Workspace) -> None:
    texts = published_texts(published)
    assert any(":" + rq.DESCRIPTION in where for where in texts)  # the scan saw the requests
    assert any(where.startswith("dead_letters/") for where in texts)  # and the dead letters
    assert leaks(texts, PLANTED) == []
    assert leaks(texts, SURNAMES) == []


def test_published_texts_keep_what_is_not_personal(published: Workspace) -> None:
    requests = pl.read_parquet(published.requests_dataset / "**" / "*.parquet").sort(rq.SERVICE_REQUEST_ID)
    assert requests[rq.SERVICE_REQUEST_ID].to_list() == ["pd-1", "pd-2", "pd-3", "pd-5"]
    assert requests[rq.ADDRESS].to_list() == [
        "ул. Садовая, д. 5", "12 Main St", "25 Water St", "Садовая ул., 9",
    ]
    assert requests[rq.DESCRIPTION][0] == "Течёт с потолка в [FLAT], звоните [PHONE], спросить [PERSON]"
    assert requests[rq.STATUS_NOTES][1] == "Inspector called [PHONE], contact [PERSON], reply sent to [EMAIL]"


def test_geocoder_read_the_address_before_its_flat_was_dropped(published: Workspace) -> None:
    requests = pl.read_parquet(published.requests_dataset / "**" / "*.parquet")
    placed = requests.filter(pl.col(rq.SERVICE_REQUEST_ID).is_in(["pd-1", "pd-5"])).sort(rq.SERVICE_REQUEST_ID)
    assert placed[rq.GEOCODE_PRECISION].to_list() == [rq.GeocodePrecision.HOUSE] * 2
    assert placed[rq.LONG].to_list() == pytest.approx([37.015, 37.019])
    assert placed[rq.DISTRICT_ID].to_list() == ["N1", "N1"]


def test_raw_payloads_are_kept_only_in_the_restricted_store(published: Workspace) -> None:
    """Dead letters keep the record as the source sent it, for reprocessing: outside `datasets/`,
    readable by the owner only, and nowhere in what is published."""
    assert not any(where.endswith(f":{dl.RAW_PAYLOAD}") for where in published_texts(published))
    restricted = [pl.read_parquet(p) for p in published.restricted.rglob("*.parquet")]
    payloads = [value for frame in restricted for value in frame[dl.RAW_PAYLOAD].to_list()]
    assert any(DEAD_ID in value for value in payloads)
    assert published.restricted.stat().st_mode & 0o077 == 0
