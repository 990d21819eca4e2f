"""Post-stratification weights of a survey's respondents, from an optional population table.

Respondents of a survey are rarely a picture of the city (older residents and women answer
more often), so each published share also comes weighted: every respondent's cell (age band
x sex, and district when the population table has districts) is weighted so that the weighted
respondents have the population's structure (`models.participation.survey_stats`). The table
(`--survey_population`, `district?,age_band,sex,population`) gives full cells, or only margins
(a row with a blank sex is residents of its age band, a row with a blank age band residents of
its sex): then the weights are raked to every margin. Without a table the sample's own
structure is the target, so every weight is 1 and weighted shares equal raw ones (weighting
`sample`). A respondent whose cell is unknown (no age, no sex, not placed) keeps weight 1.
"""

from __future__ import annotations

import logging

import polars as pl

from models.cities.pack import CityPack
from models.participation.survey_stats import COUNT, TARGET, WEIGHT, post_stratification_weights
from pipelines.transforms.participation.places import place_by_name
from pipelines.transforms.participation.validate import SEXES
from schemas import participation as pb
from schemas import surveys as sv
from schemas.requests import DISTRICT_ID, SOURCE_FILE, SOURCE_POSITION

LOG = logging.getLogger("urbanpulse")
BANDS = tuple(name for _low, _high, name in pb.AGE_BANDS)


class PopulationError(ValueError):
    """The population table cannot weight this city's respondents (says what to fix)."""


def population_cells(table: pl.DataFrame | None, pack: CityPack | None) -> pl.DataFrame | None:
    """The population table in UrbanPulse's terms: the pack's district ids, age bands of
    `schemas.participation.AGE_BANDS`, sexes M and F, and `population`."""
    if table is None:
        return None
    bands = table["age_band"].str.replace_all(" ", "")
    unknown = sorted(set(bands.drop_nulls().to_list()) - set(BANDS))
    if unknown:
        raise PopulationError(f"population age bands {unknown[:5]} are not UrbanPulse's: use {', '.join(BANDS)}")
    sexes = table["sex"].str.to_lowercase().replace_strict(SEXES, default=None, return_dtype=pl.String)
    unknown = sorted(set(table.filter(sexes.is_null() & table["sex"].is_not_null())["sex"]))
    if unknown:
        raise PopulationError(f"population sexes {unknown[:5]} are neither M nor F (male, female, ...)")
    cells = pl.DataFrame({pb.AGE_BAND: bands, pb.SEX: sexes, TARGET: table[TARGET]})
    if table["district"].is_null().all():
        return cells
    return _with_districts(table, pack).hstack(cells)


def _with_districts(table: pl.DataFrame, pack: CityPack | None) -> pl.DataFrame:
    if pack is None:
        raise PopulationError("a population by district needs the city's pack (its district names and ids)")
    placed = place_by_name(table.select("district"), "district", pack)
    by_id = pl.when(pl.col("district").is_in(list(pack.district_ids))).then(pl.col("district"))
    resolved = placed.select(pl.coalesce(pl.col(DISTRICT_ID), by_id))[DISTRICT_ID]
    unknown = table.filter(resolved.is_null() & table["district"].is_not_null())["district"].unique().to_list()
    if unknown:
        raise PopulationError(f"population districts {sorted(unknown)[:5]} are not districts of {pack.name}: "
                              "use the pack's district names or ids")
    return pl.DataFrame({DISTRICT_ID: resolved})


def respondent_weights(answers: pl.DataFrame, population: pl.DataFrame | None) -> tuple[pl.DataFrame, str]:
    """(answers with each respondent's `weight`, how they were weighted: `schemas.surveys.Weighting`).

    A respondent's cell is that of their latest answer (in file order)."""
    if population is None:
        return answers.with_columns(pl.lit(1.0).alias(sv.WEIGHT)), sv.Weighting.SAMPLE
    dims = [c for c in population.columns if c != TARGET]
    respondents = answers.sort(SOURCE_FILE, SOURCE_POSITION).group_by(sv.RESPONDENT_KEY).agg(pl.col(dims).last())
    cells = respondents.group_by(dims).agg(pl.len().alias(COUNT))
    fitted = post_stratification_weights(cells, population)
    if not fitted.converged:
        LOG.warning("survey weights did not match the population's margins after %d sweeps: the margins "
                    "disagree (different totals?); using the last sweep's weights", fitted.iterations)
    by_respondent = respondents.join(fitted.cells.drop(COUNT), on=dims, how="left", nulls_equal=True)
    weighted = answers.join(by_respondent.select(sv.RESPONDENT_KEY, WEIGHT), on=sv.RESPONDENT_KEY, how="left",
                            maintain_order="left").with_columns(pl.col(WEIGHT).fill_null(1.0))
    return weighted, _label(fitted.margins, fitted.iterations)


def _label(margins: tuple[tuple[str, ...], ...], iterations: int) -> str:
    if iterations == 0 or not margins:
        return sv.Weighting.SAMPLE  # nobody could be placed in a cell: every weight is 1
    if len(margins) == 1:
        return f"{sv.Weighting.POST_STRATIFICATION}:{'*'.join(margins[0])}"
    return f"{sv.Weighting.RAKING}:{'|'.join('*'.join(m) for m in margins)}"
