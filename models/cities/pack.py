"""City packs: a city's districts (and parent level), taxonomy and gazetteer, as files in the workspace.

A pack is built once from any GeoJSON of districts (`CityPack.create`) and loaded by every
pipeline (`CityPack.load`). Properties are renamed to the pack vocabulary of
`schemas.citypack` at build time (`models.cities.boundaries`), so the rest of UrbanPulse never
sees a city's own field names.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import shapely

from models.cities.boundaries import SourceFields, pack_features
from models.cities.errors import CityPackError
from models.personal_data.public import PublicContacts
from schemas import citypack as cp
from schemas.taxonomy import (
    DEFAULT_SLA_DAYS,
    TAXONOMY,
    TAXONOMY_CATEGORY,
    TAXONOMY_DEPARTMENT,
    TAXONOMY_LABEL_EN,
    TAXONOMY_LABEL_RU,
    TAXONOMY_SLA_DAYS,
    TaxonomyEntry,
)

PACK_VERSION = "1"


@dataclass
class CityPack:
    name: str
    root: Path
    district_ids: list[str]
    district_names: list[str]
    parent_ids: list[str | None]
    parent_names: list[str | None]
    populations: list[float | None]
    geometries: list[shapely.Geometry]
    taxonomy: pl.DataFrame
    gazetteer: pl.DataFrame | None = None
    timezone: str = "UTC"
    h3_resolution: int = 9
    manifest: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, root: Path | str) -> CityPack:
        root = Path(root)
        manifest_path = root / cp.PACK_MANIFEST_FILE
        if not manifest_path.exists():
            raise CityPackError(
                f"no city pack at {root}: {cp.PACK_MANIFEST_FILE} is missing; build one with "
                "`urbanpulse city create NAME --boundaries FILE.geojson --name-field F`"
            )
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        features = json.loads((root / cp.PACK_DISTRICTS_FILE).read_text(encoding="utf-8"))
        features = features["features"]
        props = [f["properties"] for f in features]
        taxonomy = read_taxonomy(root / cp.PACK_TAXONOMY_FILE)
        gazetteer_path = root / cp.PACK_GAZETTEER_FILE
        gazetteer = pl.read_parquet(gazetteer_path) if gazetteer_path.exists() else None
        return cls(
            name=manifest[cp.MANIFEST_NAME],
            root=root,
            district_ids=[str(p[cp.DISTRICT_ID]) for p in props],
            district_names=[str(p[cp.DISTRICT_NAME]) for p in props],
            parent_ids=[p.get(cp.PARENT_ID) for p in props],
            parent_names=[p.get(cp.PARENT_NAME) for p in props],
            populations=[p.get(cp.POPULATION) for p in props],
            geometries=[shapely.geometry.shape(f["geometry"]) for f in features],
            taxonomy=taxonomy,
            gazetteer=gazetteer,
            timezone=manifest.get(cp.MANIFEST_TIMEZONE, "UTC"),
            h3_resolution=int(manifest.get(cp.MANIFEST_H3_RESOLUTION, 9)),
            manifest=manifest,
        )

    def public_contacts(self) -> PublicContacts | None:
        """The city's own public phones and addresses, kept when texts are scrubbed: the optional
        `public_contacts.csv` in the pack folder (`models.personal_data.public`)."""
        return PublicContacts.of_pack(self.root)

    @property
    def has_parent_level(self) -> bool:
        return any(p is not None for p in self.parent_ids)

    def districts_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                cp.DISTRICT_ID: self.district_ids,
                cp.DISTRICT_NAME: self.district_names,
                cp.PARENT_ID: self.parent_ids,
                cp.PARENT_NAME: self.parent_names,
                cp.POPULATION: self.populations,
            },
            schema={
                cp.DISTRICT_ID: pl.String,
                cp.DISTRICT_NAME: pl.String,
                cp.PARENT_ID: pl.String,
                cp.PARENT_NAME: pl.String,
                cp.POPULATION: pl.Float64,
            },
        )

    # ------------------------------------------------------------------ building
    @classmethod
    def create(
        cls,
        name: str,
        root: Path | str,
        boundaries: Path | str | dict,
        name_field: str,
        id_field: str | None = None,
        parent_field: str | None = None,
        parent_name_field: str | None = None,
        parents: Path | str | dict | None = None,
        population_field: str | None = None,
        taxonomy: Path | str | list[TaxonomyEntry] | None = None,
        gazetteer: pl.DataFrame | None = None,
        timezone: str = "UTC",
        h3_resolution: int = 9,
    ) -> CityPack:
        """Build a pack from a districts GeoJSON.

        The parent level comes either from a property of each district (`parent_field`, with an
        optional `parent_name_field`) or from a second GeoJSON (`parents`, whose features carry
        `parent_field` as id and `parent_name_field` as name) by the district's representative point.
        """
        root = Path(root)
        fields = SourceFields(
            name_field, id_field, parent_field, parent_name_field, population_field
        )
        features = pack_features(boundaries, fields, parents)
        _write_pack_files(root, features, taxonomy, gazetteer)
        manifest = _manifest(name, features, boundaries, timezone, h3_resolution)
        (root / cp.PACK_MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        return cls.load(root)


def _write_pack_files(
    root: Path, features: list[dict], taxonomy: Path | str | list[TaxonomyEntry] | None,
    gazetteer: pl.DataFrame | None,
) -> None:
    """Replace whatever is at `root` with the districts, the taxonomy and the gazetteer if any."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / cp.PACK_DISTRICTS_FILE).write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    _write_taxonomy(root / cp.PACK_TAXONOMY_FILE, taxonomy)
    if gazetteer is not None:
        gazetteer.write_parquet(root / cp.PACK_GAZETTEER_FILE)


def _manifest(
    name: str, features: list[dict], boundaries: Path | str | dict, timezone: str,
    h3_resolution: int,
) -> dict:
    return {
        cp.MANIFEST_NAME: name,
        cp.MANIFEST_VERSION: PACK_VERSION,
        cp.MANIFEST_TIMEZONE: timezone,
        cp.MANIFEST_H3_RESOLUTION: h3_resolution,
        cp.MANIFEST_HAS_PARENT: any(f["properties"][cp.PARENT_ID] for f in features),
        "districts": len(features),
        "boundaries_source": str(boundaries) if not isinstance(boundaries, dict) else "inline",
    }


def read_taxonomy(path: Path) -> pl.DataFrame:
    frame = pl.read_csv(path, schema_overrides={TAXONOMY_SLA_DAYS: pl.Float64})
    missing = {TAXONOMY_CATEGORY, TAXONOMY_DEPARTMENT, TAXONOMY_SLA_DAYS} - set(frame.columns)
    if missing:
        raise CityPackError(
            f"taxonomy {path} lacks columns {sorted(missing)}; expected "
            f"{TAXONOMY_CATEGORY},{TAXONOMY_DEPARTMENT},{TAXONOMY_SLA_DAYS}[,{TAXONOMY_LABEL_EN},"
            f"{TAXONOMY_LABEL_RU}]"
        )
    for column in (TAXONOMY_LABEL_EN, TAXONOMY_LABEL_RU):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(column))
    return frame.select(TAXONOMY.names).with_columns(pl.col(TAXONOMY_SLA_DAYS).fill_null(DEFAULT_SLA_DAYS))


def _write_taxonomy(path: Path, taxonomy: Path | str | list[TaxonomyEntry] | None) -> None:
    if taxonomy is None:
        # No taxonomy: every category falls back to DEFAULT_SLA_DAYS and the triage department.
        frame = pl.DataFrame(schema={n: pl.String for n in TAXONOMY.names})
        frame = frame.with_columns(pl.col(TAXONOMY_SLA_DAYS).cast(pl.Float64))
    elif isinstance(taxonomy, list | tuple):
        frame = pl.DataFrame(
            [
                {
                    TAXONOMY_CATEGORY: e.category,
                    TAXONOMY_DEPARTMENT: e.department,
                    TAXONOMY_SLA_DAYS: float(e.sla_days),
                    TAXONOMY_LABEL_EN: e.label_en,
                    TAXONOMY_LABEL_RU: e.label_ru,
                }
                for e in taxonomy
            ]
        )
    else:
        source = Path(taxonomy)
        if not source.exists():
            raise CityPackError(f"taxonomy file {source} does not exist")
        frame = read_taxonomy(source)
    frame.write_csv(path)
