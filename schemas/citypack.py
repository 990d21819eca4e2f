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

# Manifest keys.
MANIFEST_NAME = "name"
MANIFEST_VERSION = "pack_version"
MANIFEST_TIMEZONE = "timezone"
MANIFEST_H3_RESOLUTION = "h3_resolution"
MANIFEST_HAS_PARENT = "has_parent_level"
