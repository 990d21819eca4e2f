"""A city's official address register (CSV or GeoJSON with coordinates) as its base gazetteer.

Cities publish their registers in many shapes: data.mos.ru and the St Petersburg register (`;`
separated, cp1251 or UTF-8 with a BOM, decimal commas, "Улица" / "Дом" / "Корпус" / "Литера" or
one "Адрес" column), NYC and SF address points (`the_geom` / `Point` as WKT), OpenAddresses
(`LON`, `LAT`, `NUMBER`, `STREET`, `CITY`), OpenStreetMap exports (GeoJSON with `addr:street`,
`addr:housenumber`, `addr:city`). Columns are found by their usual names (`COLUMN_ALIASES`, any
case) unless named; either a street and a house column, or one full address column that
`models.geocoding.address_parser` splits. Every row ends as one gazetteer row or one rejected row
with a machine-readable reason (`schemas.citypack.RegisterIssue`) and its line, never dropped
silently. Russian and English spellings of a street meet through their folded Latin key at lookup
time (`models.geocoding.transliteration`), so a register in one script serves requests in both.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import numpy as np
import polars as pl
import shapely

from models.cities.pack import CityPack
from models.geocoding import address_parser as ap
from models.geocoding.gazetteer import with_locality
from models.geocoding.gazetteer_index import LOCALITY, locality_column
from models.geocoding.reverse import ReverseGeocoder
from schemas import citypack as cp
from schemas.citypack import RegisterIssue

LINE, REASON, RAW = "line", "reason", "raw"
_KEY = [ap.STREET_KEY, ap.TYPE_KEY, ap.HOUSE_KEY, LOCALITY]
SNIFF_BYTES = 1 << 16
# fmt: off
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "address": ("address", "адрес", "full_address", "simple_address", "address_full", "полный адрес", "addr"),
    "street": ("street", "улица", "street_name", "nm_street", "addr:street", "full_stree", "full_street",
               "st_name", "наименование улицы", "streetname"),
    "street_type": ("street_type", "тип улицы", "st_type", "streettype", "street_suffix"),
    "street_en": ("street_en", "street_name_en", "name_en", "улица_en", "addr:street:en"),
    "house": ("house", "дом", "house_number", "housenumber", "number", "addr:housenumber", "address_number",
              "h_no", "номер дома", "house_num", "addr_num", "номер"),
    "korpus": ("korpus", "корпус", "корп"),
    "building": ("building", "строение", "стр"),
    "letter": ("letter", "литера", "лит"),
    "locality": ("locality", "city", "населенный пункт", "населённый пункт", "город", "town", "settlement",
                 "addr:city", "borough", "boro_name", "borough_name"),
    "lat": ("lat", "latitude", "широта", "lat_wgs84", "y"),
    "lon": ("lon", "long", "lng", "longitude", "долгота", "lon_wgs84", "x"),
    "point": ("point", "the_geom", "geometry", "wkt", "geom", "geodata_center", "location"),
}
# fmt: on
_WKT_POINT = r"(?i)POINT\s*\(\s*(-?[\d.]+)\s+(-?[\d.]+)\s*\)"


class RegisterError(ValueError):
    """The register cannot be read or has no usable column; the message says what to pass."""


@dataclass(frozen=True)
class RegisterImport:
    gazetteer: pl.DataFrame  # GAZETTEER_WITH_LOCALITY rows
    rejected: pl.DataFrame  # line, reason, raw
    rows: int  # rows read
    kept_from_before: int  # rows of the previous gazetteer (learned) the register has no address for

    def reasons(self) -> dict[str, int]:
        counts = self.rejected.group_by(REASON).len().sort("len", descending=True)
        return dict(counts.rows())


def read_register(path: Path, encoding: str | None = None) -> pl.DataFrame:
    """A register file as text columns plus `line` (its line in a CSV, its index in a GeoJSON)."""
    if not path.exists():
        raise RegisterError(f"{path} does not exist")
    data = path.read_bytes()
    if not data.strip():
        raise RegisterError(f"{path} is empty")
    text = _decode(data, encoding)
    if path.suffix.lower() in (".geojson", ".json") or text.lstrip().startswith("{"):
        return _geojson_rows(text, path)
    sample = text[:SNIFF_BYTES]
    try:
        separator = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=";,\t|").delimiter
    except csv.Error:
        separator = ","
    frame = pl.read_csv(io.StringIO(text), separator=separator, infer_schema=False, truncate_ragged_lines=True)
    return frame.with_row_index(LINE, offset=2).with_columns(pl.col(LINE).cast(pl.Int64))  # line 1: header


def _decode(data: bytes, encoding: str | None) -> str:
    if encoding:
        return data.decode(encoding, errors="replace")
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        best = charset_normalizer.from_bytes(data[:SNIFF_BYTES]).best()
        return data.decode(best.encoding if best else "cp1251", errors="replace")


def _geojson_rows(text: str, path: Path) -> pl.DataFrame:
    try:
        features = json.loads(text).get("features")
    except (json.JSONDecodeError, AttributeError) as error:
        raise RegisterError(f"{path} is not a GeoJSON FeatureCollection: {error}") from None
    if not isinstance(features, list):
        raise RegisterError(f"{path} has no `features` list: expected a GeoJSON FeatureCollection")
    props = [{k: None if v is None else str(v) for k, v in (f.get("properties") or {}).items()} for f in features]
    points = []
    for feature in features:
        try:
            geom = shapely.geometry.shape(feature.get("geometry"))
            points.append(geom.representative_point() if not geom.is_empty else None)
        except (AttributeError, TypeError, ValueError, shapely.errors.GEOSException):
            points.append(None)
    columns = sorted({k for p in props for k in p})
    frame = pl.DataFrame({c: [p.get(c) for p in props] for c in columns}, schema={c: pl.String for c in columns})
    return frame.with_columns(
        pl.Series("lon", [None if p is None else str(p.x) for p in points], dtype=pl.String),
        pl.Series("lat", [None if p is None else str(p.y) for p in points], dtype=pl.String),
    ).with_row_index(LINE).with_columns(pl.col(LINE).cast(pl.Int64))


def find_columns(frame: pl.DataFrame, named: dict[str, str | None]) -> dict[str, str]:
    """Role -> column: the ones named, else the first alias present (any case, spaces trimmed)."""
    lookup = {c.strip().lower().lstrip("\ufeff"): c for c in frame.columns}
    found: dict[str, str] = {}
    for role, aliases in COLUMN_ALIASES.items():
        given = named.get(role)
        if given:
            if given not in frame.columns:
                raise RegisterError(f"the register has no column {given!r}; it has {frame.columns}")
            found[role] = given
        elif hit := next((lookup[a] for a in aliases if a in lookup), None):
            found[role] = hit
    if "street" not in found and "address" not in found:
        raise RegisterError(f"no street or address column among {frame.columns}: name one with --street or --address")
    if not ({"lat", "lon"} <= found.keys() or "point" in found):
        raise RegisterError(f"no coordinates among {frame.columns}: name them with --lat and --lon")
    return found


def register_gazetteer(
    frame: pl.DataFrame, pack: CityPack, named: dict[str, str | None] | None = None
) -> RegisterImport:
    """Register rows -> gazetteer rows (+ the rejected ones); the pack's earlier gazetteer rows for
    addresses the register lacks (learned from history) are kept after them."""
    columns = find_columns(frame, named or {})
    text = {role: pl.col(col).cast(pl.String).str.strip_chars() for role, col in columns.items()}
    parts = _address_parts(frame, text)
    lat, lon = _coordinates(frame, text, columns)
    rows = parts.with_columns(lat.alias(cp.GAZ_LAT), lon.alias(cp.GAZ_LONG), frame[LINE])
    raw = frame.select(pl.concat_str([pl.col(c).fill_null("") for c in columns.values()], separator=" | "))
    rows = rows.with_columns(raw.to_series().alias(RAW))
    usable = (rows[cp.GAZ_LAT].is_finite() & rows[cp.GAZ_LONG].is_finite()).fill_null(False)
    inside = np.full(rows.height, -1)
    ok = usable.to_numpy()
    inside[ok] = ReverseGeocoder(pack).locate(rows[cp.GAZ_LAT].to_numpy()[ok], rows[cp.GAZ_LONG].to_numpy()[ok])
    ids = pl.Series([*pack.district_ids, None], dtype=pl.String)
    rows = rows.with_columns(ids.gather(np.where(inside >= 0, inside, len(ids) - 1)).alias(cp.DISTRICT_ID))
    reason = (
        pl.when(pl.col(cp.STREET).is_null()).then(pl.lit(RegisterIssue.NO_STREET))
        .when(pl.col(cp.HOUSE).is_null()).then(pl.lit(RegisterIssue.NO_HOUSE))
        .when(~pl.Series(usable)).then(pl.lit(RegisterIssue.BAD_COORDINATES))
        .when(pl.col(cp.DISTRICT_ID).is_null()).then(pl.lit(RegisterIssue.OUTSIDE_CITY))
    )
    rows = rows.with_columns(reason.alias(REASON))
    kept = with_locality(rows.filter(pl.col(REASON).is_null()).select(cp.GAZETTEER_WITH_LOCALITY.names))
    previous = _previous_rows(pack, kept)
    gazetteer = pl.concat([kept, previous])
    rejected = rows.filter(pl.col(REASON).is_not_null()).select(LINE, REASON, RAW)
    return RegisterImport(gazetteer, rejected, frame.height, previous.height)


def _address_parts(frame: pl.DataFrame, text: dict[str, pl.Expr]) -> pl.DataFrame:
    """street, street_type, street_en, street_type_en, house, locality per register row."""
    if "street" in text:
        house = pl.concat_str(
            [text.get("house", pl.lit(None, pl.String)),
             pl.concat_str(pl.lit(" корп "), text["korpus"]) if "korpus" in text else pl.lit(""),
             pl.concat_str(pl.lit(" стр "), text["building"]) if "building" in text else pl.lit(""),
             text["letter"] if "letter" in text else pl.lit("")],
            ignore_nulls=True,
        )
        street = text["street"]
        if "street_type" in text:
            street = pl.concat_str([text["street_type"], street], separator=" ", ignore_nulls=True)
        source = frame.select(street.alias("street"), house.str.strip_chars().alias("house"))
        parsed = ap.parse_addresses(source["street"])
        houses = ap.normalise_houses(source["house"])
        if "house" not in text:  # "ул. Садовая, 5" in the street column
            houses = ap.parse_addresses(source["street"])[ap.HOUSE_KEY]
    else:
        parsed = ap.parse_addresses(frame.select(text["address"]).to_series())
        houses = parsed[ap.HOUSE_KEY]
    name = pl.col(ap.STREET_KEY).str.to_titlecase()
    latin = pl.col(ap.STREET_KEY).str.contains(r"^[^а-я]*$")
    kind = pl.col(ap.TYPE_KEY)
    kind_ru = kind.replace_strict(ap.TYPE_ABBREVIATION_RU, default=None, return_dtype=pl.String)
    kind_en = kind.replace_strict(ap.TYPE_ABBREVIATION_EN, default=None, return_dtype=pl.String)
    english = frame.select(text["street_en"]).to_series() if "street_en" in text else None
    locality = frame.select(text["locality"]).to_series() if "locality" in text else parsed[ap.LOCALITY_KEY]
    out = parsed.select(
        name.alias(cp.STREET),
        pl.when(latin).then(kind_en).otherwise(kind_ru).alias(cp.STREET_TYPE),
        pl.when(latin).then(name).alias(cp.STREET_EN),
        pl.when(latin).then(kind_en).alias(cp.STREET_TYPE_EN),
    ).with_columns(houses.alias(cp.HOUSE), pl.Series(cp.LOCALITY, locality, dtype=pl.String))
    if english is not None:
        en = ap.parse_addresses(english)
        out = out.with_columns(
            pl.coalesce(en[ap.STREET_KEY].str.to_titlecase(), pl.col(cp.STREET_EN)).alias(cp.STREET_EN),
            pl.coalesce(
                en[ap.TYPE_KEY].replace_strict(ap.TYPE_ABBREVIATION_EN, default=None, return_dtype=pl.String),
                pl.col(cp.STREET_TYPE_EN),
            ).alias(cp.STREET_TYPE_EN),
        )
    written = pl.col(cp.LOCALITY).str.strip_chars()
    return out.with_columns(pl.when(written.str.len_chars() > 0).then(written).alias(cp.LOCALITY))


def _coordinates(frame: pl.DataFrame, text: dict[str, pl.Expr], columns: dict[str, str]) -> tuple[pl.Series, pl.Series]:
    """Latitude and longitude (decimal commas read, WKT points too); null where unreadable or unusable."""
    def number(expr: pl.Expr) -> pl.Expr:
        return expr.str.replace_all(r"\s", "").str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)

    if {"lat", "lon"} <= columns.keys():
        lat, lon = number(text["lat"]), number(text["lon"])
    else:
        point = text["point"].str.extract_groups(_WKT_POINT)
        lon, lat = number(point.struct.field("1")), number(point.struct.field("2"))
    valid = lat.is_between(-90, 90) & lon.is_between(-180, 180) & ~((lat == 0) & (lon == 0))
    out = frame.select(pl.when(valid).then(lat).alias("lat"), pl.when(valid).then(lon).alias("lon"))
    return out["lat"], out["lon"]


def _previous_rows(pack: CityPack, register: pl.DataFrame) -> pl.DataFrame:
    """Rows of the pack's gazetteer whose (locality, street, type, house) the register does not have."""
    if pack.gazetteer is None or pack.gazetteer.is_empty():
        return register.clear()
    before = with_locality(pack.gazetteer).with_row_index("row")
    fresh = _keys(before).join(_keys(register).unique(), on=_KEY, how="anti", nulls_equal=True)
    return before.filter(pl.col("row").is_in(fresh["row"].implode())).drop("row")


def _keys(frame: pl.DataFrame) -> pl.DataFrame:
    streets = ap.normalise_streets(frame[cp.STREET], frame[cp.STREET_TYPE])
    keys = streets.with_columns(ap.normalise_houses(frame[cp.HOUSE]), frame.select(locality_column(frame)).to_series())
    return keys.with_columns(frame["row"]) if "row" in frame.columns else keys
