"""Address parsing: the way residents write an address -> street, street type, house and its parts.

Residents write one house a dozen ways ("Садовая ул., д. 15к2", "ул. Садовая, дом 15 корпус 2",
"15k2 Sadovaya St"); the gazetteer writes it once. Both sides go through the same vectorised
normalisation (lower case, ё -> е, punctuation, abbreviations to one language-neutral type key,
house suffixes to one key such as `15к2`, `43/14`, `7с1`, `12a`), so a dictionary join matches
them. Everything here is polars string expressions over whole columns: no per-row Python.
The locality, district and a house written before the street are split off first
(`models.geocoding.address_places`); crossings ("Lenina / Mira", "угол ул. Ленина и ул. Мира",
"Broadway & W 42nd St", "X and Y") give a second street. Finding an address inside free text is
`models.geocoding.address_spans` (spaCy).
"""

from __future__ import annotations

import polars as pl

from models.geocoding import address_places as places
from schemas import citypack as cp

# Columns of a parsed address (the street and house columns reuse the gazetteer's names).
STREET_KEY = cp.STREET
TYPE_KEY = cp.STREET_TYPE
HOUSE_KEY = cp.HOUSE
HOUSE_NUMBER = "house_number"
HOUSE_LETTER = "house_letter"
KORPUS = "korpus"
BUILDING = "building"
CROSS_STREET_KEY = "cross_street"
CROSS_TYPE_KEY = "cross_street_type"
LOCALITY_KEY = places.LOCALITY
DISTRICT_KEY = places.DISTRICT
PLACE_KEY = places.PLACE
PARSED_COLUMNS = (STREET_KEY, TYPE_KEY, HOUSE_KEY, HOUSE_NUMBER, HOUSE_LETTER, KORPUS, BUILDING,
                  CROSS_STREET_KEY, CROSS_TYPE_KEY, LOCALITY_KEY, DISTRICT_KEY, PLACE_KEY)

# Every spelling of a street type (lower case, no dots) -> one key shared by both languages.
# fmt: off
STREET_TYPE_KEYS: dict[str, str] = {
    "улица": "street", "ул": "street", "street": "street", "st": "street", "str": "street",
    "переулок": "lane", "пер": "lane", "lane": "lane", "ln": "lane",
    "проспект": "avenue", "пр-т": "avenue", "просп": "avenue", "пр-кт": "avenue", "пркт": "avenue",
    "пр": "avenue", "avenue": "avenue", "ave": "avenue", "av": "avenue", "prospekt": "avenue",
    "бульвар": "boulevard", "бул": "boulevard", "б-р": "boulevard", "boulevard": "boulevard",
    "blvd": "boulevard", "bd": "boulevard",
    "площадь": "square", "пл": "square", "square": "square", "sq": "square",
    "набережная": "embankment", "наб": "embankment", "embankment": "embankment", "emb": "embankment",
    "шоссе": "highway", "ш": "highway", "highway": "highway", "hwy": "highway",
    "проезд": "passage", "пр-д": "passage", "passage": "passage", "proezd": "passage",
    "аллея": "alley", "alley": "alley", "aly": "alley",
    "тупик": "dead_end", "туп": "dead_end",
    "дорога": "road", "road": "road", "rd": "road",
    "drive": "drive", "dr": "drive", "place": "place", "pl": "place", "court": "court", "ct": "court",
    "parkway": "parkway", "pkwy": "parkway", "terrace": "terrace", "ter": "terrace", "way": "way",
}
# How a learned street's type is written back into a gazetteer, per script.
TYPE_ABBREVIATION_RU: dict[str, str] = {
    "street": "ул.", "lane": "пер.", "avenue": "пр-т", "boulevard": "бул.", "square": "пл.",
    "embankment": "наб.", "highway": "ш.", "passage": "пр-д", "alley": "аллея", "dead_end": "туп.",
    "road": "дорога",
}
TYPE_ABBREVIATION_EN: dict[str, str] = {
    "street": "St", "lane": "Ln", "avenue": "Ave", "boulevard": "Blvd", "square": "Sq",
    "embankment": "Emb", "highway": "Hwy", "passage": "Proezd", "alley": "Aly", "road": "Rd",
    "drive": "Dr", "place": "Pl", "court": "Ct", "parkway": "Pkwy", "terrace": "Ter", "way": "Way",
}
# House letters (литера): Cyrillic and Latin spellings of one letter share a key.
_LETTER_KEYS = {"а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z",
                "и": "i"}
# fmt: on
_TYPES = "|".join(sorted((t.replace("-", r"\-") for t in STREET_TYPE_KEYS), key=len, reverse=True))
_LETTER = r"[а-иa-hv]"
_KORPUS = r"(?:корпус|корп|кор|к|korpus|korp|k)"
_BUILDING = r"(?:строение|стр|с|building|bldg|bld|str)"
_HOUSE_LEAD = r"(?:(?:дом|д|владение|вл|house|bldg|building|no)\s*)?"
_HOUSE_BODY = (
    rf"(?P<num>\d+)(?:\s*/\s*(?P<slash>\d+))?(?:\s*-\s*(?P<upto>\d+))?\s*(?P<let1>{_LETTER})?"
    rf"(?:\s*{_KORPUS}\s*(?P<korp>\d+))?(?:\s*{_BUILDING}\s*(?P<stroy>\d+))?"
    rf"(?:\s*(?:литера|лит|litera|lit|letter)?\s*(?P<let2>{_LETTER}))?"
)
_HOUSE_LAST = rf"^(?P<rest>.*?)\s*\b{_HOUSE_LEAD}{_HOUSE_BODY}$"
# Only Latin-script addresses put the house first ("123 W 45th St"); "8 Марта ул." is a name.
_HOUSE_FIRST = (
    r"^(?P<num>\d+)(?:\s*/\s*(?P<slash>\d+))?(?:\s*-\s*(?P<upto>\d+))?(?P<let1>[a-hvа-и])?"
    r"(?:\s*k\s*(?P<korp>\d+))?(?:\s+(?:bldg|bld|building|str)\s*(?P<stroy>\d+))?"
    r"(?P<let2>)\s+(?P<rest>[^а-я]*[a-z][^а-я]*)$"
)
_HOUSE_GROUPS = ("num", "slash", "upto", "let1", "korp", "stroy", "let2", "rest")
_FLAT_TAIL = (
    r"\s+(?:кв|квартира|офис|оф|подъезд|под|этаж|эт|apt|apartment|flat|unit|suite|ste|room|rm)"
    r"\s*\d+.*$"
)
_PLACE_PREFIX = r"^(?:(?:россия|рф|г|город|москва|moscow|russia|russian federation)\s+)+"
_CROSSING_LEAD = (
    r"^(?:на\s+|at\s+|the\s+)?(?:угол|углу|пересечение|пересечении|перекресток|перекрестке|"
    r"corner of|corner|intersection of|intersection)\s+"
)
_CROSSING = r"^(?P<first>.+?)\s+(?:&|and|x|/|at)\s+(?P<second>.+)$"
# "и" joins two streets only after a crossing word or before a second street-type word:
# "ул. Кирилла и Мефодия" is one street.
_CROSSING_AND = rf"^(?P<first>.+?)\s+и\s+(?P<second>(?:{_TYPES})\s.+|.+\s(?:{_TYPES}))$"
_CROSSING_AND_LED = r"^(?P<first>.+?)\s+и\s+(?P<second>.+)$"


def normalise_text(text: pl.Expr) -> pl.Expr:
    """Lower case, ё -> е, punctuation to spaces, house markers split from their numbers."""
    text = text.str.to_lowercase().str.replace_all("ё", "е", literal=True)
    text = text.str.replace_all(r"[.,;:()\[\]\"'«»№#]", " ").str.replace_all(r"\s[-–—]+\s", " ")
    text = text.str.replace_all("&", " & ", literal=True)
    text = text.str.replace_all(r"([^\W\d_])\s*/\s*([^\W\d_])", "$1 / $2")  # Lenina/Mira, not 43/14
    text = text.str.replace_all(r"\b(д|дом|вл)(\d)", "$1 $2")  # д5 -> д 5
    return text.str.replace_all(r"\s+", " ").str.strip_chars()


def normalise_street_name(name: pl.Expr) -> pl.Expr:
    """A street name as a dictionary key: ordinals as bare numbers, compass words abbreviated."""
    name = name.str.replace_all(r"\b(\d+)\s*-?\s*(?:ая|ья|яя|я|ий|ый|ой|й|ое|ье|е|st|nd|rd|th)\b", "$1")
    name = name.str.replace_all(r"\bим\b", "").str.replace_all("-", " ", literal=True)
    for word, short in (("west", "w"), ("east", "e"), ("north", "n"), ("south", "s")):
        name = name.str.replace_all(rf"\b{word}\b", short)
    name = name.str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(name.str.contains(r"[^\W\d_]")).then(name)  # a name has letters


def _split_type(rest: pl.Expr, prefix: str) -> list[pl.Expr]:
    """(name, type key) from 'name type' or 'type name'; type null when no type word is there."""
    last = rest.str.extract_groups(rf"^(?P<name>.+?)\s+(?P<kind>{_TYPES})$")
    # words before a leading type ("около дома пр-т Мира") are the resident's, not the name's
    first = rest.str.extract_groups(rf"^(?:.*\s)?(?P<kind>{_TYPES})\s+(?P<name>.+)$")
    kind = pl.coalesce(last.struct.field("kind"), first.struct.field("kind"))
    name = pl.coalesce(last.struct.field("name"), first.struct.field("name"), rest)
    key = kind.replace_strict(STREET_TYPE_KEYS, default=None, return_dtype=pl.String)
    return [normalise_street_name(name).alias(f"{prefix}name"), key.alias(f"{prefix}type")]


def _letter(parts: pl.Expr) -> pl.Expr:
    found = [parts.struct.field(g) for g in ("let1", "let2")]
    letter = pl.coalesce([pl.when(f.str.len_chars() > 0).then(f) for f in found])
    return letter.replace(_LETTER_KEYS)


def _house_key(parts: pl.Expr) -> pl.Expr:
    field = parts.struct.field
    letter = _letter(parts)
    return pl.concat_str(
        field("num"),
        pl.concat_str(pl.lit("/"), field("slash")).fill_null(""),
        pl.concat_str(pl.lit("-"), field("upto")).fill_null(""),
        letter.fill_null(""),
        pl.concat_str(pl.lit("к"), field("korp")).fill_null(""),
        pl.concat_str(pl.lit("с"), field("stroy")).fill_null(""),
    )


def parse_addresses(addresses: pl.Series) -> pl.DataFrame:
    """One row per input: normalised street name and type key, house key and parts, the crossing
    street, and the locality, district and unmarked place named around the street (nulls allowed)."""
    split = places.split_places(addresses, _TYPES)
    text = normalise_text(pl.col(places.STREET_TEXT)).str.replace(_FLAT_TAIL, "").str.replace(_PLACE_PREFIX, "")
    led = text.str.contains(_CROSSING_LEAD)
    frame = split.select(
        text.str.replace(_CROSSING_LEAD, "").alias("text"), led.alias("led"),
        places.LOCALITY, places.DISTRICT, places.PLACE,
    )
    last = pl.col("text").str.extract_groups(_HOUSE_LAST)
    first = pl.col("text").str.extract_groups(_HOUSE_FIRST)
    has_first = first.struct.field("num").is_not_null()
    # Latin-script house-first form wins over the house-last reading of the same text
    house = pl.struct(
        [pl.when(has_first).then(first.struct.field(g)).otherwise(last.struct.field(g)).alias(g)
         for g in _HOUSE_GROUPS]
    )
    frame = frame.with_columns(house.alias("parts"))
    rest = pl.coalesce(pl.col("parts").struct.field("rest"), pl.col("text"))
    rest = pl.when(pl.col("parts").struct.field("num").is_null()).then(pl.col("text")).otherwise(rest)
    crossing = rest.str.extract_groups(_CROSSING)
    by_and = pl.when(pl.col("led")).then(rest.str.extract_groups(_CROSSING_AND_LED)).otherwise(
        rest.str.extract_groups(_CROSSING_AND)
    )
    first_street = pl.coalesce(crossing.struct.field("first"), by_and.struct.field("first"))
    second_street = pl.coalesce(crossing.struct.field("second"), by_and.struct.field("second"))
    frame = frame.with_columns(
        *_split_type(pl.coalesce(first_street, rest), "street_"),
        *_split_type(second_street, "cross_"),
        _house_key(pl.col("parts")).alias(HOUSE_KEY),
    )
    parts = pl.col("parts").struct.field
    return frame.select(
        pl.col("street_name").alias(STREET_KEY),
        pl.col("street_type").alias(TYPE_KEY),
        pl.col(HOUSE_KEY),
        parts("num").cast(pl.Int64, strict=False).alias(HOUSE_NUMBER),
        _letter(pl.col("parts")).alias(HOUSE_LETTER),
        parts("korp").cast(pl.Int32, strict=False).alias(KORPUS),
        parts("stroy").cast(pl.Int32, strict=False).alias(BUILDING),
        pl.col("cross_name").alias(CROSS_STREET_KEY),
        pl.col("cross_type").alias(CROSS_TYPE_KEY),
        pl.col(LOCALITY_KEY), pl.col(DISTRICT_KEY), pl.col(PLACE_KEY),
    )


def normalise_houses(houses: pl.Series) -> pl.Series:
    """Gazetteer house numbers ("15к2", "7 стр. 1", "12А") as the keys `parse_addresses` makes."""
    text = normalise_text(pl.col("raw"))
    key = _house_key(text.str.extract_groups(rf"^{_HOUSE_LEAD}{_HOUSE_BODY}$"))
    return pl.DataFrame({"raw": houses.cast(pl.String)}).select(key.alias(HOUSE_KEY)).to_series()


def normalise_streets(names: pl.Series, types: pl.Series) -> pl.DataFrame:
    """Gazetteer street names and types as (name key, type key)."""
    frame = pl.DataFrame({"name": names.cast(pl.String), "kind": types.cast(pl.String)})
    kind = normalise_text(pl.col("kind")).str.replace_all(" ", "")
    return frame.select(
        normalise_street_name(normalise_text(pl.col("name"))).alias(STREET_KEY),
        kind.replace_strict(STREET_TYPE_KEYS, default=None, return_dtype=pl.String).alias(TYPE_KEY),
    )
