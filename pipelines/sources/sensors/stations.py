"""Station metadata -> `schemas.sensors.STATION` (station_id, station_name, lat, long).

Three layouts, told apart by the file's first line:

* the Beijing KDD 2018 list: tab-separated, no header, `dongsi_aq<TAB>116.417<TAB>39.929` =
  id, LONGITUDE, latitude (no names);
* Madrid's station list: `;`-separated (often with a BOM and CRLF),
  `CODIGO;CODIGO_CORTO;ESTACION;DIRECCION;LONGITUD_ETRS89;LATITUD_ETRS89;...;LONGITUD;LATITUD`,
  coordinates in decimal degrees or in degrees-minutes-seconds (`3° 42' 43.56'' O`);
* any CSV (`,`, `;` or tab, the most frequent in the header) whose columns have one of the names
  in `ID_ALIASES`, `NAME_ALIASES`, `LAT_ALIASES`, `LON_ALIASES` (case and blanks ignored). When
  several coordinate columns are present, the first alias with a value wins, row by row
  (Madrid: `LONGITUD`, then `LONGITUD_ETRS89`).

Station lists are small reference tables, so they are read whole (up to `MAX_STATION_BYTES`) and
any bad row is a whole-file problem (`SourceFormatError` naming the line): a station with a
wrong coordinate or a repeated id would misplace every observation of it.

Station ids of observations and of metadata often differ in spelling (UCI `Aotizhongxin`, KDD
`aotizhongxin_aq`): `match_station_ids` pairs them.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import polars as pl
import pyarrow as pa

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.sensors import open_lines
from schemas.requests import LAT, LONG
from schemas.sensors import STATION, STATION_ID, STATION_NAME

MAX_STATION_BYTES = 16 << 20
SEPARATORS = ("\t", ";", ",")
ID_ALIASES = ("station_id", "codigo", "id", "code", "station_code", "site_id", "siteid", "station")
NAME_ALIASES = ("station_name", "name", "nombre", "estacion", "site_name", "site", "station")
LAT_ALIASES = ("lat", "latitude", "latitud", "latitud_etrs89")
LON_ALIASES = ("lon", "long", "lng", "longitude", "longitud", "longitud_etrs89")
_DECIMAL = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_DMS = re.compile(
    rf"^([+-])?\s*{_NUMBER}\s*[°º˚]\s*(?:{_NUMBER}\s*['′’]\s*)?(?:{_NUMBER}\s*(?:''|\"|″|”|′′)\s*)?([NSEWO])?$",
    re.IGNORECASE,
)
_SUFFIX = re.compile(r"[\W_]*(?:aq|station)$")
_NOT_ALNUM = re.compile(r"[\W_]+")


def parse_dms(text: str) -> float:
    """Degrees from `40° 25' 25.87'' N`, `3°42'43.56" O`, `-3° 42.7'`, `116.4°E`.

    Minutes and seconds are optional and below 60; `º` (ordinal sign, common in Spanish files)
    and `˚` pass for `°`, `′ ″` and typographic quotes for `' ''`, decimal commas for points. S,
    W and O (Spanish *oeste*) make the value negative, as a leading `-` does. Hand-written: the
    DMS parsers on PyPI know N/S/E/W only, not the Spanish `O`. `ValueError` otherwise.
    """
    match = _DMS.match(text.strip())
    if not match:
        raise ValueError(f"not degrees-minutes-seconds: {text!r}")
    sign, degrees, minutes, seconds, hemisphere = match.groups()
    parts = [float((part or "0").replace(",", ".")) for part in (degrees, minutes, seconds)]
    if parts[1] >= 60 or parts[2] >= 60:
        raise ValueError(f"minutes and seconds must be below 60: {text!r}")
    value = parts[0] + parts[1] / 60 + parts[2] / 3600
    negative = sign == "-" or (hemisphere or "").upper() in ("S", "W", "O")
    return -value if negative else value


def parse_coordinate(text: str | None) -> float | None:
    """Decimal degrees (`-3.7122`, `40,4238`) or DMS (`parse_dms`); None for an empty field."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if _DECIMAL.match(text):
        return float(text.replace(",", "."))
    return parse_dms(text)


def read_stations(path: Path) -> pl.DataFrame:
    """The stations of `path` in STATION columns; `SourceFormatError` saying what to fix."""
    rows = _rows(path)
    if not rows:
        raise SourceFormatError(f"{path} has no stations")
    if _headerless(rows[0]):
        records = [_kdd_record(row, number, path) for number, row in enumerate(rows, 1)]
    else:
        records = _header_records(rows, path)
    return _table(records, path)


def station_key(station_id: str) -> str:
    """How `match_station_ids` compares ids: case-folded, a trailing `_aq`/`_station` dropped,
    only letters and digits kept (digits too: Madrid's ids are numbers)."""
    return _NOT_ALNUM.sub("", _SUFFIX.sub("", station_id.strip().casefold()))


def match_station_ids(
    observed_ids: Iterable[str], stations: pl.DataFrame | Iterable[str]
) -> tuple[dict[str, str], list[str]]:
    """({observed id: station id}, unmatched observed ids) by `station_key`.

    An exact id always matches itself. Two stations with the same key are ambiguous: an observed
    id with that key stays unmatched rather than being given the wrong station's place.
    """
    ids = stations.get_column(STATION_ID).to_list() if isinstance(stations, pl.DataFrame) else list(stations)
    by_key: dict[str, list[str]] = {}
    for station_id in dict.fromkeys(ids):
        by_key.setdefault(station_key(station_id), []).append(station_id)
    exact = set(ids)
    mapping: dict[str, str] = {}
    unmatched: list[str] = []
    for observed in dict.fromkeys(observed_ids):
        candidates = by_key.get(station_key(observed), [])
        if observed in exact:
            mapping[observed] = observed
        elif len(candidates) == 1:
            mapping[observed] = candidates[0]
        else:
            unmatched.append(observed)
    return mapping, unmatched


def _rows(path: Path) -> list[list[str]]:
    try:
        if path.stat().st_size > MAX_STATION_BYTES:
            raise SourceFormatError(f"{path} is larger than {MAX_STATION_BYTES:,} bytes; is it a station list?")
    except OSError as exc:
        raise SourceFormatError(f"cannot read station file {path}: {exc}") from exc
    with open_lines(path) as handle:
        lines = [line for line in handle.read().splitlines() if line.strip()]
    if not lines:
        return []
    separator = max(SEPARATORS, key=lines[0].count)
    try:
        return [[field.strip() for field in row] for row in csv.reader(lines, delimiter=separator)]
    except csv.Error as exc:
        raise SourceFormatError(f"cannot read station file {path}: {exc}") from exc


def _headerless(first: list[str]) -> bool:
    return len(first) == 3 and all(_DECIMAL.match(field) for field in first[1:])


def _kdd_record(row: list[str], number: int, path: Path) -> tuple[str, str | None, str, str]:
    if len(row) != 3:
        raise SourceFormatError(f"{path} line {number}: expected id, longitude, latitude, found {row!r}")
    return row[0], None, row[2], row[1]


def _header_records(rows: list[list[str]], path: Path) -> list[tuple[str, str | None, str | None, str | None]]:
    header = [re.sub(r"\s+", "_", name.casefold()) for name in rows[0]]
    id_column = next((header.index(a) for a in ID_ALIASES if a in header), None)
    if id_column is None:
        raise SourceFormatError(
            f"{path}: no station id column (one of {', '.join(ID_ALIASES)}; found {', '.join(rows[0])})"
        )
    name_column = next((header.index(a) for a in NAME_ALIASES if a in header and header.index(a) != id_column), None)
    lats = [header.index(a) for a in LAT_ALIASES if a in header]
    lons = [header.index(a) for a in LON_ALIASES if a in header]
    if not lats or not lons:
        raise SourceFormatError(
            f"{path}: needs a latitude column ({', '.join(LAT_ALIASES)}) and a longitude column "
            f"({', '.join(LON_ALIASES)}); found {', '.join(rows[0])}"
        )
    records = []
    for number, row in enumerate(rows[1:], 2):
        if len(row) != len(header):
            raise SourceFormatError(f"{path} line {number}: {len(row)} fields, the header has {len(header)}")
        records.append((row[id_column], row[name_column] if name_column is not None else None,
                        next((row[i] for i in lats if row[i]), None), next((row[i] for i in lons if row[i]), None)))
    return records


def _table(records: list[tuple[str, str | None, str | None, str | None]], path: Path) -> pl.DataFrame:
    ids, names, lats, lons = [], [], [], []
    for number, (station_id, name, lat, lon) in enumerate(records, 1):
        if not station_id:
            raise SourceFormatError(f"{path}: station {number} has no id")
        try:
            lat_value, lon_value = parse_coordinate(lat), parse_coordinate(lon)
        except ValueError as exc:
            raise SourceFormatError(f"{path}: station {station_id}: {exc}; write decimal degrees or DMS") from None
        if (lat_value is not None and abs(lat_value) > 90) or (lon_value is not None and abs(lon_value) > 180):
            raise SourceFormatError(f"{path}: station {station_id}: coordinates {lat}, {lon} are out of range")
        ids.append(station_id)
        names.append(name or None)
        lats.append(lat_value)
        lons.append(lon_value)
    repeated = sorted(i for i, count in Counter(ids).items() if count > 1)
    if repeated:
        raise SourceFormatError(f"{path}: station ids appear more than once: {', '.join(repeated[:10])}")
    table = pa.table({STATION_ID: ids, STATION_NAME: names, LAT: lats, LONG: lons}, schema=STATION)
    return pl.from_arrow(table)  # type: ignore[return-value]
