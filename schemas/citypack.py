"""City pack files: districts (with an optional parent level), taxonomy and gazetteer."""

from __future__ import annotations

import pyarrow as pa

PACK_MANIFEST_FILE = "city.json"
PACK_DISTRICTS_FILE = "districts.geojson"
PACK_TAXONOMY_FILE = "taxonomy.csv"
PACK_GAZETTEER_FILE = "gazetteer.parquet"

# Properties every district feature carries once a pack is built (whatever the source called them).
DISTRICT_ID = "district_id"
DISTRICT_NAME = "district_name"
PARENT_ID = "parent_id"
PARENT_NAME = "parent_name"
POPULATION = "population"

# Gazetteer: one row per known address point.
STREET = "street"
STREET_TYPE = "street_type"
STREET_EN = "street_en"
STREET_TYPE_EN = "street_type_en"
HOUSE = "house"
GAZ_LAT = "lat"
GAZ_LONG = "long"

GAZETTEER = pa.schema(
    [
        pa.field(STREET, pa.large_string(), nullable=False),
        pa.field(STREET_TYPE, pa.large_string()),
        pa.field(STREET_EN, pa.large_string()),
        pa.field(STREET_TYPE_EN, pa.large_string()),
        pa.field(HOUSE, pa.large_string(), nullable=False),
        pa.field(GAZ_LAT, pa.float64(), nullable=False),
        pa.field(GAZ_LONG, pa.float64(), nullable=False),
        pa.field(DISTRICT_ID, pa.large_string()),
    ]
)

# A gazetteer may also carry the locality of each address (a town or settlement of the city, null
# for the city itself): an address register import and a learned gazetteer write it, older packs
# and the demo city have none. The locality is part of an address's key.
LOCALITY = "locality"
GAZETTEER_WITH_LOCALITY = GAZETTEER.append(pa.field(LOCALITY, pa.large_string()))
PACK_REGISTER_REJECTED_FILE = "address_register_rejected.csv"  # rows of the last register import left out


class RegisterIssue:
    """Why a row of an imported address register is not in the gazetteer (`reason`)."""

    NO_STREET = "no_street"
    NO_HOUSE = "no_house"
    BAD_COORDINATES = "bad_coordinates"  # missing, unreadable, out of range or (0, 0)
    OUTSIDE_CITY = "outside_city"  # in no district of the pack

# Manifest keys.
MANIFEST_NAME = "name"
MANIFEST_VERSION = "pack_version"
MANIFEST_TIMEZONE = "timezone"
MANIFEST_H3_RESOLUTION = "h3_resolution"
MANIFEST_HAS_PARENT = "has_parent_level"
