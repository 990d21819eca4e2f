"""Who takes part: residents drawn with the skew real participation shows.

Turnout per resident is higher in the central okrug (the parent of the pack's first district),
among older residents (voters' ages lean toward 35-70 while the city's average is about 40) and
among women; paper ballots come mostly from older voters. Everything is drawn as whole numpy
arrays, so a million participants take a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.cities.pack import CityPack

MAX_AGE = 95
CENTRAL_TURNOUT_FACTOR = 2.0  # turnout per resident of the central okrug against the others
DISTRICT_TURNOUT_SPREAD = 0.2  # log-normal sigma of the district-to-district differences
FEMALE_SHARE = 0.58
SEX_MISSING_SHARE = 0.04
NEIGHBORHOOD_MISSING_SHARE = 0.03

# Relative turnout per resident by age band (lower bound, factor): children vote through their
# parents, turnout peaks at 55-64 and falls off among the oldest.
_AGE_PROPENSITY = (
    (0, 0.12), (13, 0.35), (18, 0.45), (25, 0.70), (35, 1.00), (45, 1.15), (55, 1.30),
    (65, 1.25), (75, 0.70), (85, 0.30),
)


@dataclass(frozen=True)
class Participants:
    """One entry per participant: district index into the pack, age, sex (None if not given)."""

    district: np.ndarray
    age: np.ndarray
    sex: np.ndarray  # object array of "M", "F" or None


def population_age_weights() -> np.ndarray:
    """Share of the city's residents at each age 0..MAX_AGE (flat to 59, then thinning out)."""
    ages = np.arange(MAX_AGE + 1)
    weights = np.where(ages < 18, 0.9, 1.0)
    weights = np.where(ages >= 60, np.clip(1.0 - (ages - 60) / 37.0, 0.03, 1.0), weights)
    return weights / weights.sum()


def population_mean_age() -> float:
    """Mean age of the city's residents under `population_age_weights` (about 40)."""
    return float(np.arange(MAX_AGE + 1) @ population_age_weights())


def age_propensity() -> np.ndarray:
    """Relative turnout per resident at each age 0..MAX_AGE."""
    ages = np.arange(MAX_AGE + 1)
    bounds = np.array([low for low, _ in _AGE_PROPENSITY])
    factors = np.array([factor for _, factor in _AGE_PROPENSITY])
    return factors[np.searchsorted(bounds, ages, side="right") - 1]


def district_populations(pack: CityPack) -> np.ndarray:
    """Residents per district; a district without a population counts as an average one."""
    raw = np.array([p if p is not None else np.nan for p in pack.populations], dtype=float)
    fallback = np.nanmean(raw) if np.isfinite(raw).any() else 1.0
    return np.where(np.isfinite(raw) & (raw > 0), raw, fallback)


def central_districts(pack: CityPack) -> np.ndarray:
    """True for the districts of the central okrug (the parent of the pack's first district)."""
    central = pack.parent_ids[0]
    return np.array([parent == central for parent in pack.parent_ids], dtype=bool)


def district_turnout(pack: CityPack, rng: np.random.Generator) -> np.ndarray:
    """Relative turnout per resident of each district: a central bonus and a random spread."""
    spread = rng.lognormal(0.0, DISTRICT_TURNOUT_SPREAD, size=len(pack.district_ids))
    return np.where(central_districts(pack), CENTRAL_TURNOUT_FACTOR, 1.0) * spread


def draw_participants(pack: CityPack, count: int, rng: np.random.Generator) -> Participants:
    """`count` participants: district by residents x district turnout, age by residents x age
    turnout, sex leaning female with a few left blank."""
    weights = district_populations(pack) * district_turnout(pack, rng)
    district = rng.choice(len(weights), size=count, p=weights / weights.sum())
    age_weights = population_age_weights() * age_propensity()
    age = rng.choice(MAX_AGE + 1, size=count, p=age_weights / age_weights.sum())
    sex = np.where(rng.random(count) < FEMALE_SHARE, "F", "M").astype(object)
    sex[rng.random(count) < SEX_MISSING_SHARE] = None
    return Participants(district=district, age=age, sex=sex)


def voting_methods(age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """"internet" or "paper": about one ballot in seven on paper, more often from older voters."""
    paper_share = np.clip(0.04 + 0.0045 * (age - 25), 0.03, 0.40)
    return np.where(rng.random(len(age)) < paper_share, "paper", "internet")


def neighborhoods(pack: CityPack, district: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The voter's district name as the ballot records it; "-" where the voter left it blank."""
    names = np.asarray(pack.district_names, dtype=object)[district]
    names[rng.random(len(district)) < NEIGHBORHOOD_MISSING_SHARE] = "-"
    return names
