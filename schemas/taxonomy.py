"""Category taxonomy: what a request is about -> which department owns it -> how many days it has.

A city pack carries its own taxonomy CSV with these columns; `DEMO_TAXONOMY` is the one the
synthetic demo city uses, and `DEFAULT_SLA_DAYS` (the brief's 8 days) applies to any category a
taxonomy does not list.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TAXONOMY_CATEGORY = "category"
TAXONOMY_DEPARTMENT = "department"
TAXONOMY_SLA_DAYS = "sla_days"
TAXONOMY_LABEL_EN = "label_en"
TAXONOMY_LABEL_RU = "label_ru"

DEFAULT_SLA_DAYS = 8.0
UNKNOWN_CATEGORY = "unclassified"
UNKNOWN_DEPARTMENT = "triage"

TAXONOMY = pa.schema(
    [
        pa.field(TAXONOMY_CATEGORY, pa.large_string(), nullable=False),
        pa.field(TAXONOMY_DEPARTMENT, pa.large_string(), nullable=False),
        pa.field(TAXONOMY_SLA_DAYS, pa.float64(), nullable=False),
        pa.field(TAXONOMY_LABEL_EN, pa.large_string()),
        pa.field(TAXONOMY_LABEL_RU, pa.large_string()),
    ]
)


@dataclass(frozen=True)
class TaxonomyEntry:
    category: str
    department: str
    sla_days: float
    label_en: str
    label_ru: str


DEMO_TAXONOMY: tuple[TaxonomyEntry, ...] = (
    TaxonomyEntry("road_damage", "roads", 8, "Pothole or road damage", "Яма или повреждение дороги"),
    TaxonomyEntry("street_lighting", "lighting", 3, "Street light out", "Не горит фонарь"),
    TaxonomyEntry("waste_collection", "sanitation", 2, "Garbage not collected", "Не вывезен мусор"),
    TaxonomyEntry("snow_ice", "roads", 1, "Snow or ice not cleared", "Не убран снег или наледь"),
    TaxonomyEntry("illegal_parking", "traffic_police", 1, "Illegal parking", "Незаконная парковка"),
    TaxonomyEntry("noise", "police", 1, "Noise complaint", "Шум"),
    TaxonomyEntry("graffiti", "sanitation", 8, "Graffiti", "Граффити"),
    TaxonomyEntry("water_leak", "housing", 2, "Water leak or no water", "Протечка или нет воды"),
    TaxonomyEntry("heating", "housing", 1, "No heating", "Нет отопления"),
    TaxonomyEntry("elevator", "housing", 3, "Elevator out of order", "Не работает лифт"),
    TaxonomyEntry("trees_greenery", "parks", 8, "Trees and greenery", "Деревья и озеленение"),
    TaxonomyEntry("playground", "parks", 8, "Broken playground", "Сломана детская площадка"),
    TaxonomyEntry("public_transport", "transport", 5, "Bus stop or route problem", "Остановка или маршрут"),
    TaxonomyEntry("stray_animals", "veterinary", 3, "Stray animals", "Бездомные животные"),
)
