"""The survey pipeline's Beam composites: validate answer batches, then count and tally each survey.

    (survey id, raw answer batch)    -> ValidateAnswers -> (survey id, valid batch), dead letters
    (survey id, valid batch)         -> TallySurveys    -> (survey id, results, answers), dead letters

A survey is tallied from all its answers at once (a respondent's latest answer and the weights
need every answer): question types, one answer per respondent and question, pseudonyms keyed
by city and survey, places in the city pack's districts, scrubbed free text, weights, tallies.
Writing is the sinks' job (`pipelines.sinks.survey.WriteSurveys`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import apache_beam as beam
import polars as pl
from apache_beam.metrics import Metrics

from models.cities.errors import CityPackError
from models.cities.pack import CityPack
from pipelines.transforms.participation import survey as step
from pipelines.transforms.participation.survey_tally import tally_survey
from pipelines.transforms.participation.survey_weights import respondent_weights
from plumbing.pseudonyms import voter_secret
from plumbing.workspace import Workspace
from schemas import ledger

ANSWERS, DEAD, TALLIED = "answers", "dead_letters", "tallied"
KeyedFrame = tuple[str, pl.DataFrame]  # (survey id, a batch of its answers)


def pseudonym_scope(city: str, survey_id: str) -> str:
    """Respondents' keys are the city's and the survey's own: they link to no other survey or ballot."""
    return f"{city}\x00survey\x00{survey_id}"


class _Validate(beam.DoFn):
    def __init__(self, failed_at: datetime) -> None:
        self.failed_at = failed_at

    def process(self, keyed):
        survey_id, batch = keyed
        valid, dead = step.validate_answers(batch, self.failed_at)
        if dead.height:
            yield beam.pvalue.TaggedOutput(DEAD, dead)
        if valid.height:
            yield survey_id, valid


class ValidateAnswers(beam.PTransform):
    """(survey id, raw answer batch) in; valid batches (main) and dead letters (`DEAD`) out."""

    def __init__(self, failed_at: datetime) -> None:
        super().__init__()
        self.failed_at = failed_at

    def expand(self, batches):
        return batches | "Validate" >> beam.ParDo(_Validate(self.failed_at)).with_output_types(
            KeyedFrame).with_outputs(DEAD, main=ANSWERS)


@dataclass(frozen=True)
class SurveySettings:
    """What tallying a survey needs besides its answers: the mapping's question types and
    ranking separator, the population cells (None: weighted = raw), the input files' order
    (for the latest answer) and the run's start (the dead letters' time)."""

    question_types: Mapping[str, str]
    separator: str
    population: pl.DataFrame | None
    file_order: dict[str, int]
    failed_at: datetime


class _Tally(beam.DoFn):
    def __init__(self, workspace: Workspace, city: str, settings: SurveySettings) -> None:
        self.workspace, self.city, self.settings = workspace, city, settings
        self.scrubbed = Metrics.counter(ledger.METRICS_NAMESPACE, ledger.PERSONAL_DATA_SPANS_SCRUBBED)

    def setup(self) -> None:
        self.secret = voter_secret(self.workspace)
        try:
            self.pack = CityPack.load(self.workspace.city(self.city))
        except CityPackError:
            self.pack = None  # no districts: groups by age band and sex only

    def process(self, keyed):
        survey_id, frames = keyed
        answers, how = pl.concat(list(frames)), self.settings
        types = step.question_types(answers, dict(how.question_types), how.separator)
        counted, dead = step.count_answers(answers, types, how.separator, how.file_order, how.failed_at)
        if dead.height:
            yield beam.pvalue.TaggedOutput(DEAD, dead)
        counted = step.pseudonymise(counted, self.secret, pseudonym_scope(self.city, survey_id))
        counted, replaced = step.scrub_answers(step.place_answers(counted, self.pack))
        counted, weighting = respondent_weights(counted, how.population)
        self.scrubbed.inc(replaced)
        yield survey_id, tally_survey(survey_id, counted, weighting), counted


class TallySurveys(beam.PTransform):
    """(survey id, valid batch) in; (survey id, results, counted answers) (main) and dead
    letters (`DEAD`) out."""

    def __init__(self, workspace: Workspace, city: str, settings: SurveySettings) -> None:
        super().__init__()
        self.workspace, self.city, self.settings = workspace, city, settings

    def expand(self, answers):
        return (
            answers
            | "AnswersPerSurvey" >> beam.GroupByKey()
            | "CountAndTally" >> beam.ParDo(_Tally(self.workspace, self.city, self.settings))
            .with_outputs(DEAD, main=TALLIED)
        )
