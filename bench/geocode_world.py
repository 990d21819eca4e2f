"""A harder address world for the geocoding benchmark than the demo city's requests.

Inside the demo city's boundaries: a street grid for the city itself and a smaller one for a
satellite town ("Петергоф" / "Peterhof") 10 km away, where half the streets share a name with a
street of the city (the 30 km jumps of a geocoder that keys on the street alone). Houses stand on
both sides, odd numbers on one and even on the other, 25-45 m apart; some numbers have 2-3
buildings (корпус 1..3); some streets are in two pieces with a 0.7-1 km break the numbering
runs across. Addresses are written the messy ways residents write them, Russian (abbreviations,
house first, korpus spelt out, lower case, typos, the town marked or not) and English (several
transliteration schemes), plus crossings ("A / B", "угол A и B", "A & B") and district-only texts.
Every written address has its true point: the house, a new корпус beside its siblings, or the
crossing of two grid lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from models.cities.pack import CityPack
from models.geocoding.reverse import ReverseGeocoder
from schemas import citypack as cp
from synthetic.demo_city import km_to_lonlat

TOWN_RU, TOWN_EN = "Петергоф", "Peterhof"
TOWN_CENTRE_KM = (9.0, -6.0)
CASE = "case"  # what a written address tests: house, unseen, korpus, gap, town, english, crossing, district
_TYPES_RU = {"St": "ул.", "Ave": "пр-т", "Ln": "пер.", "Blvd": "бул."}
_TYPE_WORDS_RU = {"ул.": "улица", "пр-т": "проспект", "пер.": "переулок", "бул.": "бульвар"}


@dataclass(frozen=True)
class World:
    houses: pl.DataFrame  # street_id, locality, street, street_type, street_en, street_type_en, number,
    # korpus (0 = none), house, lat, long, district_id, in_gap_edge
    streets: pl.DataFrame  # street_id, locality, axis ("h"/"v"), offset_km, street, street_type, ...
    district_names: list[str]


def build_world(pack: CityPack, seed: int = 7) -> World:
    rng = np.random.default_rng(seed)
    names = (
        pack.gazetteer.select(cp.STREET, cp.STREET_EN, cp.STREET_TYPE_EN).unique(cp.STREET).sort(cp.STREET)
        .filter(pl.col(cp.STREET_TYPE_EN).is_in(list(_TYPES_RU)))
    )
    names = names.sample(fraction=1.0, shuffle=True, seed=seed)
    city = [(axis, k * 0.4, 5.0) for axis in "hv" for k in range(-10, 11)]
    town = [(axis, k * 0.3, 1.2) for axis in "hv" for k in range(-3, 4)]
    rows, streets = [], []
    for sid, (locality, (axis, offset, half)) in enumerate([("", s) for s in city] + [(TOWN_RU, s) for s in town]):
        town_no = sid - len(city)  # every other town street is named like a city street
        pick = sid if locality == "" else town_no if town_no % 2 == 0 else 200 + town_no
        name = names.row(pick % names.height, named=True)
        centre = (0.0, 0.0) if locality == "" else TOWN_CENTRE_KM
        streets.append({"street_id": sid, "locality": locality, "axis": axis, "offset_km": offset,
                        "centre_x": centre[0], "centre_y": centre[1], **_names(name)})
        gap = (rng.uniform(-half * 0.5, half * 0.3), rng.uniform(0.7, 1.0)) if rng.random() < 0.2 and half > 2 else None
        for parity in (1, 0):
            along, number = -half + rng.uniform(0, 0.03), 1 if parity else 2
            while along < half:
                if gap and gap[0] <= along < gap[0] + gap[1]:
                    along = gap[0] + gap[1]
                edge = bool(gap) and abs(along - gap[0]) < 0.1 or bool(gap) and abs(along - gap[0] - gap[1]) < 0.1
                setback = rng.uniform(0.015, 0.025) * (1 if parity else -1)
                buildings = rng.choice([1, 1, 1, 1, 1, 1, 1, 2, 3])
                for k in range(buildings):
                    depth = setback + np.sign(setback) * 0.03 * k
                    x, y = (along, offset + depth) if axis == "h" else (offset + depth, along)
                    rows.append((sid, number, k + 1 if buildings > 1 else 0, x + centre[0], y + centre[1], edge))
                along += rng.uniform(0.025, 0.045)
                number += 2 if rng.random() > 0.05 else 4
    frame = pl.DataFrame(rows, schema=["street_id", "number", "korpus", "x", "y", "gap_edge"], orient="row")
    lonlat = km_to_lonlat(frame.select("x", "y").to_numpy())
    frame = frame.with_columns(pl.Series(cp.GAZ_LONG, lonlat[:, 0]), pl.Series(cp.GAZ_LAT, lonlat[:, 1]))
    located = ReverseGeocoder(pack).predict_batch(frame[cp.GAZ_LAT], frame[cp.GAZ_LONG])
    frame = frame.with_columns(located[cp.DISTRICT_ID]).filter(pl.col(cp.DISTRICT_ID).is_not_null())
    house = pl.concat_str(pl.col("number").cast(pl.String),
                          pl.when(pl.col("korpus") > 0).then(pl.concat_str(pl.lit("к"), pl.col("korpus").cast(pl.String))))
    frame = frame.with_columns(house.fill_null(pl.col("number").cast(pl.String)).alias(cp.HOUSE))
    # how often a house is written about: fixed per house, so history and later requests agree
    frame = frame.with_columns(pl.Series("weight", rng.pareto(1.2, frame.height) + 1))
    street_frame = pl.DataFrame(streets)
    return World(frame.join(street_frame, on="street_id"), street_frame, list(pack.district_names))


def _names(row: dict) -> dict:
    kind_en = row[cp.STREET_TYPE_EN]
    return {cp.STREET: row[cp.STREET], cp.STREET_TYPE: _TYPES_RU[kind_en], cp.STREET_EN: row[cp.STREET_EN],
            cp.STREET_TYPE_EN: kind_en}


def register_rows(world: World, share: float, seed: int) -> pl.DataFrame:
    """A city's register as published: `;`, decimal commas, one address column, some bad rows."""
    rng = np.random.default_rng(seed)
    official = world.houses.sample(fraction=share, seed=seed)
    address = pl.concat_str(pl.col(cp.STREET_TYPE), pl.lit(" "), pl.col(cp.STREET), pl.lit(", д. "),
                            pl.col("number").cast(pl.String),
                            pl.when(pl.col("korpus") > 0).then(pl.concat_str(pl.lit(" корп. "), pl.col("korpus").cast(pl.String)))
                            .otherwise(pl.lit("")))
    out = official.select(
        address.alias("Адрес"),
        pl.when(pl.col("locality") != "").then(pl.concat_str(pl.lit("г. "), pl.col("locality"))).alias("Населённый пункт"),
        pl.col(cp.GAZ_LAT).round(6).cast(pl.String).str.replace(".", ",", literal=True).alias("Широта"),
        pl.col(cp.GAZ_LONG).round(6).cast(pl.String).str.replace(".", ",", literal=True).alias("Долгота"),
    )
    bad = out.sample(n=min(50, out.height), seed=seed + 1).with_columns(pl.lit("н/д").alias("Широта"))
    return pl.concat([out, bad]).sample(fraction=1.0, shuffle=True, seed=int(rng.integers(1 << 30)))


def written(world: World, n: int, seed: int, houses: pl.DataFrame | None = None) -> pl.DataFrame:
    """n written addresses with their true point and case: address, true_lat, true_long, case."""
    rng = np.random.default_rng(seed)
    pool = world.houses if houses is None else houses
    weights = pool["weight"].to_numpy()
    pick = pool[rng.choice(pool.height, n, p=weights / weights.sum())]
    english = rng.random(n) < 0.3
    form = rng.integers(0, 6, n)
    typo = rng.random(n) < 0.1
    marked = rng.random(n) < 0.9
    extra_korpus = (rng.random(n) < 0.06) & (pick["korpus"].to_numpy() > 0)
    texts, cases, lat, lon = [], [], pick[cp.GAZ_LAT].to_numpy().copy(), pick[cp.GAZ_LONG].to_numpy().copy()
    for i, row in enumerate(pick.iter_rows(named=True)):
        house = row[cp.HOUSE]
        if extra_korpus[i]:  # a building the register and the history never named, beside its siblings
            house = f"{row['number']}к{row['korpus'] + 3}"
        texts.append(_write(row, house, bool(english[i]), int(form[i]), bool(typo[i]), bool(marked[i]), rng))
        case = "town" if row["locality"] else "english" if english[i] else "house"
        cases.append("korpus" if extra_korpus[i] else "gap" if row["gap_edge"] else case)
    frame = pl.DataFrame({"address": texts, "true_lat": lat, "true_long": lon, CASE: cases,
                          "street_id": pick["street_id"], "number": pick["number"]})
    extra = [_crossings(world, max(n // 30, 1), rng), _districts(world, max(n // 100, 1), rng)]
    return pl.concat([frame, *extra], how="diagonal_relaxed")


def _spelling(name_en: str, rng: np.random.Generator) -> str:
    scheme = rng.integers(0, 3)
    if scheme == 1:
        return name_en.replace("ya", "ia").replace("yu", "iu").replace("iy", "ii").replace("kh", "h")
    if scheme == 2:
        return name_en.replace("ya", "ja").replace("yu", "ju").replace("iy", "ij").replace("y", "j")
    return name_en


def _typo(name: str, rng: np.random.Generator) -> str:
    if len(name) < 6:
        return name
    at = int(rng.integers(1, len(name) - 2))
    return name[:at] + name[at + 1] + name[at] + name[at + 2:]


def _write(row: dict, house: str, english: bool, form: int, typo: bool, marked: bool, rng) -> str:
    town = row["locality"]
    if english:
        name = _spelling(row[cp.STREET_EN], rng)
        name = _typo(name, rng) if typo else name
        house_en = house.replace("к", "k")
        text = [f"{house_en} {name} {row[cp.STREET_TYPE_EN]}", f"{name} {row[cp.STREET_TYPE_EN]} {house_en}",
                f"{name} {row[cp.STREET_TYPE_EN]}, bldg {house_en}"][form % 3]
        return f"{TOWN_EN}, {text}" if town and marked else text
    name = _typo(row[cp.STREET], rng) if typo else row[cp.STREET]
    kind = row[cp.STREET_TYPE]
    korpus = house.replace("к", " корп. ") if "к" in house else house
    text = [f"{kind} {name}, д. {house}", f"{name} {kind} {house}", f"{house}, {kind} {name}",
            f"{_TYPE_WORDS_RU[kind]} {name}, дом {korpus.replace('корп.', 'корпус')}",
            f"{name.lower()} {kind.replace('.', '')} {house}", f"{kind} {name}, д.{korpus}"][form]
    if town and marked:
        lead = ["г. Петергоф, ", "Петергоф, ", "город Петергоф, ", ""][form % 4]
        return lead + text if lead else f"{text}, Петергоф"
    return text


def _crossings(world: World, n: int, rng: np.random.Generator) -> pl.DataFrame:
    """Crossing texts; the truth is where the two grid lines meet."""
    streets = world.streets
    seen = set(world.houses["street_id"].unique().to_list())
    h = streets.filter((pl.col("axis") == "h") & (pl.col("locality") == "") & pl.col("street_id").is_in(list(seen)))
    v = streets.filter((pl.col("axis") == "v") & (pl.col("locality") == "") & pl.col("street_id").is_in(list(seen)))
    a = h[rng.integers(0, h.height, n)]
    b = v[rng.integers(0, v.height, n)]
    texts = []
    for one, two, form in zip(a.iter_rows(named=True), b.iter_rows(named=True), rng.integers(0, 4, n), strict=True):
        texts.append([
            f"{one[cp.STREET_TYPE]} {one[cp.STREET]} / {two[cp.STREET_TYPE]} {two[cp.STREET]}",
            f"угол {one[cp.STREET_TYPE]} {one[cp.STREET]} и {two[cp.STREET_TYPE]} {two[cp.STREET]}",
            f"{one[cp.STREET_EN]} {one[cp.STREET_TYPE_EN]} & {two[cp.STREET_EN]} {two[cp.STREET_TYPE_EN]}",
            f"{one[cp.STREET_EN]} {one[cp.STREET_TYPE_EN]} and {two[cp.STREET_EN]} {two[cp.STREET_TYPE_EN]}",
        ][form])
    lonlat = km_to_lonlat(np.column_stack([b["offset_km"].to_numpy(), a["offset_km"].to_numpy()]))
    return pl.DataFrame({"address": texts, "true_lat": lonlat[:, 1], "true_long": lonlat[:, 0],
                         CASE: ["crossing"] * n})


def _districts(world: World, n: int, rng: np.random.Generator) -> pl.DataFrame:
    """District-only texts: nothing to grade a point against, only whether they resolve."""
    names = [world.district_names[i] for i in rng.integers(0, len(world.district_names), n)]
    texts = [f"{name} район" if i % 2 else f"р-н {name}" for i, name in enumerate(names)]
    return pl.DataFrame({"address": texts, "true_lat": [None] * n, "true_long": [None] * n, CASE: ["district"] * n},
                        schema={"address": pl.String, "true_lat": pl.Float64, "true_long": pl.Float64, CASE: pl.String})
