"""The parts of a written address around the street: locality, district, house written first.

Residents and registers put the place before or after the street, with or without a marker:
"г. Петергоф, ул. Веденеева, 5", "Петергоф, Веденеева ул. 5", "ул. Веденеева 5, Петергоф",
"Brooklyn, 123 Main St", "123 Main St, Brooklyn, NY 11201", "Басманный р-н, ул. Мира", and the
house first: "5, ул. Ленина", "д. 5, ул. Ленина". The comma-separated segments of each address are
classified over whole columns (explode, one regex per kind, group back): a marked locality
(г., город, пос., пгт, дер., село, town of), a district (район, р-н, district, borough), a flat or
entrance, country, region, postcode (dropped), a house segment (moved after the street), street segments (a
street-type word or a number) and unmarked place words ("Петергоф", "Brooklyn"), which the
geocoder resolves against the localities and districts it knows. Without a street segment, the
last unmarked segment is the street ("Петергоф, Веденеева").
"""

from __future__ import annotations

import polars as pl

STREET_TEXT = "street_text"  # the street and house part, for the house/street parser
LOCALITY = "locality_name"  # normalised locality named with a marker (or null)
DISTRICT = "district_name"  # normalised district named with a marker (or null)
PLACE = "place_name"  # normalised unmarked place word: a locality or district, or nothing known

_SEGMENT, _POS, _ROW, _KIND = "segment", "segment_pos", "row_id", "segment_kind"
_LOCALITY_MARK = (
    r"^(?:г|гор|город|пос|поселок|пгт|п|дер|деревня|д|с|село|ст|станица|town of|city of|village of)"
    r"\s+(?P<name>[^\d]+)$"
)
_DISTRICT_MARK = (
    r"^(?:(?P<before>[^\d]+?)\s+(?:район|р-н|р-он|rayon|district|borough)"
    r"|(?:район|р-н|district|borough of|borough)\s+(?P<after>[^\d]+))$"
)
_DROPPED = (
    r"^(?:россия|рф|российская федерация|russia|russian federation|usa|us|united states|\d{5,6}"
    r"|[a-z]{2} \d{5}(?:-\d{4})?|[a-z]{2}|.*\b(?:обл|область|край|республика)\b.*)$"
)
_HOUSE_MARKS = r"(?:д|дом|вл|владение|house|no|корп|корпус|к|стр|строение|с|лит|литера|litera|bldg|bld|building)"
# a flat, office, entrance or floor: never part of the address the geocoder looks up
_FLAT_SEGMENT = (
    r"^(?:кв|квартира|оф|офис|подъезд|под|этаж|эт|apt|apartment|flat|unit|suite|ste|room|rm)\s*[\w/-]*$"
)
_HOUSE_PARTS = r"(?:\s*(?:корп|корпус|кор|к|стр|строение|с|лит|литера|litera|bldg|bld|building|k)\s*\w+)*"
_HOUSE_SEGMENT = (
    rf"^(?:{_HOUSE_MARKS}\s*\d.*|\d+[а-яa-z]?(?:\s*[/-]\s*\d+[а-яa-z]?)?{_HOUSE_PARTS}(?:\s+[а-иa-h])?"
    r"|(?:лит|литера|litera)\s+\S+)$"
)
_PREFIXED_LOCALITY = r"^(?:г|гор|город|пос|поселок|пгт)\s+(?P<name>[^\s\d]+)\s+(?P<rest>.*[^\W\d_].*)$"


def place_key(text: pl.Expr) -> pl.Expr:
    """A locality or district name as a key: lower case, ё -> е, hyphens and dots to spaces."""
    text = text.str.to_lowercase().str.replace_all("ё", "е", literal=True)
    text = text.str.replace_all(r"[.\-–—()\"'«»]", " ").str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(text.str.len_chars() > 0).then(text)


def locality_name(text: pl.Expr) -> pl.Expr:
    """A locality as a key without its marker: "город Петергоф", "г. Петергоф" -> "петергоф"."""
    key = place_key(text)
    bare = key.str.replace(r"^(?:г|гор|город|пос|поселок|пгт|дер|деревня|село|town of|city of|village of)\s+", "")
    return pl.when(bare.str.len_chars() > 0).then(bare)


def split_places(addresses: pl.Series, type_words: str) -> pl.DataFrame:
    """One row per address: street_text, locality_name, district_name, place_name."""
    text = addresses.cast(pl.String).str.to_lowercase().str.replace_all("ё", "е", literal=True)
    rows = pl.DataFrame({_SEGMENT: text.str.replace_all(";", ",", literal=True)}).with_row_index(_ROW)
    segments = (
        rows.with_columns(pl.col(_SEGMENT).str.split(","))
        .explode(_SEGMENT)
        .with_columns(pl.int_range(pl.len()).over(_ROW).alias(_POS))
    )
    clean = (
        pl.col(_SEGMENT).str.replace_all(r"[.:()\"«»№#]", " ").str.replace_all(r"\s+", " ").str.strip_chars()
    )
    segments = segments.with_columns(clean.alias(_SEGMENT))
    seg = pl.col(_SEGMENT)
    has_type = seg.str.contains(rf"(?:^|\s)(?:{type_words})(?:\s|$)")
    has_digit = seg.str.contains(r"\d")
    district = seg.str.extract_groups(_DISTRICT_MARK)
    district_name = pl.coalesce(district.struct.field("before"), district.struct.field("after"))
    kind = (
        pl.when(seg.is_null() | (seg.str.len_chars() == 0)).then(pl.lit("empty"))
        .when(seg.str.contains(_LOCALITY_MARK) & ~has_type).then(pl.lit("locality"))
        .when(district_name.is_not_null() & ~has_type).then(pl.lit("district"))
        .when(seg.str.contains(_DROPPED) | seg.str.contains(_FLAT_SEGMENT)).then(pl.lit("dropped"))
        .when(seg.str.contains(_HOUSE_SEGMENT) & ~has_type).then(pl.lit("house"))
        .when(has_type | has_digit).then(pl.lit("street"))
        .otherwise(pl.lit("place"))
    )
    segments = segments.with_columns(
        kind.alias(_KIND),
        seg.str.extract(_LOCALITY_MARK, 1).alias(LOCALITY),
        district_name.alias(DISTRICT),
    )
    of = pl.col(_KIND)
    grouped = segments.sort(_ROW, _POS).group_by(_ROW, maintain_order=True).agg(
        pl.col(LOCALITY).filter(of == "locality").first(),
        pl.col(DISTRICT).filter(of == "district").first(),
        seg.filter(of == "street").str.join(", ").alias("streets"),
        seg.filter(of == "house").str.join(" ").alias("houses"),
        seg.filter(of == "place").alias("places"),
    )
    places = pl.col("places")
    no_street = pl.col("streets").str.len_chars() == 0
    street = pl.when(no_street).then(places.list.last()).otherwise(pl.col("streets"))
    place = pl.when(no_street).then(places.list.slice(0, places.list.len() - 1).list.first()).otherwise(
        places.list.first()
    )
    street_text = pl.concat_str(street, pl.col("houses"), separator=" ", ignore_nulls=True).str.strip_chars()
    out = grouped.select(
        pl.when(street_text.str.len_chars() > 0).then(street_text).alias(STREET_TEXT),
        pl.col(LOCALITY), pl.col(DISTRICT), place.alias(PLACE),
    )
    prefixed = pl.col(STREET_TEXT).str.extract_groups(_PREFIXED_LOCALITY)  # "г Петергоф ул ..."
    take = pl.col(LOCALITY).is_null() & prefixed.struct.field("name").is_not_null()
    out = out.with_columns(
        pl.when(take).then(prefixed.struct.field("rest")).otherwise(pl.col(STREET_TEXT)).alias(STREET_TEXT),
        pl.when(take).then(prefixed.struct.field("name")).otherwise(pl.col(LOCALITY)).alias(LOCALITY),
    )
    return out.with_columns(place_key(pl.col(c)).alias(c) for c in (LOCALITY, DISTRICT, PLACE))
