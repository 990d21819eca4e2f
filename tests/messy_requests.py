"""A small, deliberately messy request export shared by pipeline and flow tests."""

from __future__ import annotations

import csv
from pathlib import Path

from schemas import requests as rq

HEADER = [rq.SERVICE_REQUEST_ID, rq.STATUS, rq.DESCRIPTION, rq.SERVICE_NAME, rq.REQUESTED_DATETIME,
          rq.UPDATED_DATETIME, rq.CLOSED_DATETIME, rq.ADDRESS, rq.LAT, rq.LONG]
MESSY_ROWS = [
    ["r1", "open", "Яма на дороге, ул. Ленина д. 5", "road_damage", "2026-10-01T08:00:00Z", "2026-10-01T08:00:00Z", "", "ул. Ленина 5", "55.15", "37.05"],
    ["r1", "closed", "Яма на дороге, ул. Ленина д. 5", "road_damage", "2026-10-01T08:00:00Z", "2026-10-03T08:00:00Z", "2026-10-03T08:00:00Z", "ул. Ленина 5", "55.15", "37.05"],
    ["r2", "open", "Loud music at night\nsecond line of the text", "noise", "2026-10-01T21:30:00Z", "", "", "", "55.05", "37.05"],
    ["r3", "closed", "pothole", "road_damage", "2026-10-02T10:00:00Z", "", "2026-09-01T00:00:00Z", "", "0.0", "0.0"],
    ["r4", "open", "", "", "2026-10-02T11:00:00Z", "", "", "Main St 1", "", ""],
    ["r5", "open", "far away", "noise", "2026-10-02T12:00:00Z", "", "", "", "123.4", "37.0"],
    ["", "open", "no id", "noise", "2026-10-02T12:00:00Z", "", "", "", "55.1", "37.1"],
    ["r7", "open", "no time", "noise", "", "", "", "", "55.1", "37.1"],
    ["r8", "open", "bad time", "noise", "31/02/2026 25:61", "", "", "", "55.1", "37.1"],
    ["r9", "closed", "Шум ночью", "noise", "2026-10-03T00:00:00Z", "", "2026-10-03T05:00:00Z", "", "55.15", "37.15"],
]


def write_messy_csv(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(MESSY_ROWS)
    return path
