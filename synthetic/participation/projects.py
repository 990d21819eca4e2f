"""The projects on a synthetic participatory-budget ballot, the budget, and the greedy outcome.

Some projects are citywide, the others belong to one district (drawn by population) and sit
inside it. Costs are log-normal around a typical cost per category (citywide projects cost
more), and each project gets a hidden appeal, also log-normal, so a few projects draw most of
the votes as in real elections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import shapely

from models.cities.pack import CityPack
from synthetic.participation import vocabulary as vocab
from synthetic.participation.population import district_populations

MIN_PROJECTS, MAX_PROJECTS = 40, 120
CITYWIDE_SHARE = 0.3
CITYWIDE_COST_FACTOR = 2.5
COST_SIGMA = 0.7
MIN_COST = 20_000
APPEAL_SIGMA = 0.9
BUDGET_SHARE = (0.30, 0.40)  # of the total cost of all projects
SECOND_CATEGORY_SHARE = 0.08
MISSING_POINT_SHARE = {True: 0.5, False: 0.1}  # citywide, district projects


@dataclass(frozen=True)
class ProjectDraw:
    """The projects (file columns but the tallies), each one's district index (-1 citywide)
    and its hidden appeal to voters."""

    frame: pl.DataFrame
    district: np.ndarray
    appeal: np.ndarray


def draw_projects(pack: CityPack, rng: np.random.Generator) -> ProjectDraw:
    """40-120 projects with ids, costs, Russian titles, categories and coordinates."""
    count = int(rng.integers(MIN_PROJECTS, MAX_PROJECTS + 1))
    shares = np.array([share for _, share, _, _ in vocab.PROJECT_CATEGORIES])
    category = rng.choice(len(shares), size=count, p=shares / shares.sum())
    citywide = rng.random(count) < CITYWIDE_SHARE
    population = district_populations(pack)
    district = rng.choice(len(population), size=count, p=population / population.sum())
    district = np.where(citywide, -1, district)
    median = np.array([cost for _, _, cost, _ in vocab.PROJECT_CATEGORIES])[category]
    median = median * np.where(citywide, CITYWIDE_COST_FACTOR, 1.0)
    cost = rng.lognormal(np.log(median), COST_SIGMA)
    cost = np.maximum(np.round(cost, -3), MIN_COST).astype(np.int64)
    lon, lat = _coordinates(pack, district, rng)
    ids = rng.choice(np.arange(1, 25 * MAX_PROJECTS), size=count, replace=False)
    names = np.asarray(pack.district_names, dtype=object)
    frame = pl.DataFrame(
        {
            "project_id": [str(i) for i in ids.tolist()],
            "cost": cost,
            "name": _titles(pack, category, district, rng),
            "category": _categories(category, rng),
            "latitude": lat,
            "longitude": lon,
            "district": [names[d] if d >= 0 else None for d in district.tolist()],
            "district_id": [pack.district_ids[d] if d >= 0 else None for d in district.tolist()],
        },
        schema_overrides={"district": pl.String, "district_id": pl.String},
    ).with_columns(pl.col("latitude", "longitude").fill_nan(None))
    return ProjectDraw(frame, district, rng.lognormal(0.0, APPEAL_SIGMA, size=count))


def draw_budget(cost: np.ndarray, rng: np.random.Generator) -> int:
    """30-40% of the total cost, in whole thousands."""
    return int(round(float(cost.sum()) * rng.uniform(*BUDGET_SHARE), -3))


def greedy_selected(cost: np.ndarray, tally: np.ndarray, budget: float) -> np.ndarray:
    """Greedy outcome: by tally descending (ties: file order), fund whatever still fits."""
    selected = np.zeros(len(cost), dtype=bool)
    left = budget
    for position in np.argsort(-tally, kind="stable").tolist():
        if cost[position] <= left:
            selected[position] = True
            left -= cost[position]
    return selected


def _titles(
    pack: CityPack, category: np.ndarray, district: np.ndarray, rng: np.random.Generator
) -> list[str]:
    """A category title, then "в районе X" for district projects or a citywide phrase;
    a repeated title becomes a sequel, as cities re-run popular projects."""
    titles: list[str] = []
    seen: dict[str, int] = {}
    for cat, dist in zip(category.tolist(), district.tolist(), strict=True):
        options = vocab.PROJECT_CATEGORIES[cat][3]
        title = options[int(rng.integers(len(options)))]
        if dist >= 0:
            title = f"{title} в районе {pack.district_names[dist]}"
        else:
            suffix = vocab.CITYWIDE_SUFFIXES[int(rng.integers(len(vocab.CITYWIDE_SUFFIXES)))]
            title = f"{title} {suffix}".strip()
        seen[title] = seen.get(title, 0) + 1
        if seen[title] == 2:
            title = f"{title} {vocab.SEQUEL_SUFFIX}"
        elif seen[title] > 2:
            title = f"{title} (этап {seen[title]})"
        titles.append(title)
    return titles


def _categories(category: np.ndarray, rng: np.random.Generator) -> list[str]:
    """The category name; a few projects carry a second one (comma separated, like Pabulib)."""
    names = [name for name, _, _, _ in vocab.PROJECT_CATEGORIES]
    second = rng.integers(len(names), size=len(category))
    both = rng.random(len(category)) < SECOND_CATEGORY_SHARE
    return [
        f"{names[c]},{names[s]}" if two and s != c else names[c]
        for c, s, two in zip(category.tolist(), second.tolist(), both.tolist(), strict=True)
    ]


def _coordinates(
    pack: CityPack, district: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A point inside the project's district (citywide: inside a district drawn by population);
    NaN for the projects published without a location."""
    population = district_populations(pack)
    where = np.where(
        district >= 0, district, rng.choice(len(population), len(district), p=population / population.sum())
    )
    lon, lat = np.full(len(district), np.nan), np.full(len(district), np.nan)
    for position, owner in enumerate(where.tolist()):
        geom = pack.geometries[owner]
        minx, miny, maxx, maxy = geom.bounds
        while True:
            x, y = round(rng.uniform(minx, maxx), 6), round(rng.uniform(miny, maxy), 6)
            if shapely.contains_xy(geom, x, y):
                lon[position], lat[position] = x, y
                break
    missing = rng.random(len(district)) < np.where(
        district < 0, MISSING_POINT_SHARE[True], MISSING_POINT_SHARE[False]
    )
    lon[missing] = lat[missing] = np.nan
    return lon, lat
