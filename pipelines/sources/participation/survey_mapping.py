"""How a survey export's own columns become answer fields: the mapping object and its TOML form.

The default mapping is the column names UrbanPulse's own survey files (and the demo generator)
use, `respondent_id,question_id,answer,submitted_at,district,age,sex` (plus `lat`, `long`), so
such files need no mapping. A TOML mapping is laid over it field by field, like the request
stream's (`pipelines.sources.requests.mapping`)::

    source = "city-portal"       # name written to `source` (default: survey)
    format = "csv"               # csv | jsonl | parquet (default: from the file's extension)
    separator = ";"              # CSV only
    encoding = "cp1251"          # text files; default: UTF-8 unless the bytes say otherwise
    question = "mayor-vote"      # the only question, for a file without a question column
    [columns]                    # our field = the file's column
    respondent = "ID"
    question = "Frage"
    answer = "Antwort"           # or: ranked = ["first", "second", "third"] (best first)
    time = "Eingang"
    district = "Bezirk"          # or lat = "y" and long = "x": placed by the city pack
    age = "Alter"
    sex = "Geschlecht"
    [answers]
    separator = ">"              # between the options of a ranked answer (default ">")
    [questions]                  # question types: single | ranked | text (default: inferred)
    q5 = "ranked"
    q9 = "text"
    [timestamps]
    format = ["%d.%m.%Y %H:%M"]  # polars/chrono strptime; default: the ISO 8601 forms
    timezone = "Europe/Berlin"   # for values without an offset; default: the city's, else UTC
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.sources.errors import SourceFormatError
from pipelines.sources.requests.mapping import ISO_8601_FORMATS, SourceMapping
from schemas import surveys as sv

FIELDS: dict[str, str] = {  # mapping field -> the raw answer column it fills
    "respondent": sv.RESPONDENT_ID, "question": sv.QUESTION_ID, "answer": sv.ANSWER, "time": sv.SUBMITTED_AT,
    "district": sv.DISTRICT, "lat": sv.LAT, "long": sv.LONG, "age": sv.AGE, "sex": sv.SEX,
}
REQUIRED = ("respondent", "question", "answer")
DEFAULT_COLUMNS: dict[str, str] = {name: column for name, column in FIELDS.items()}
DEFAULT_SOURCE = "survey"
FORMATS = ("csv", "jsonl", "parquet")
EXTENSIONS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
              ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
_TOP = frozenset({"source", "format", "separator", "encoding", "question", "columns", "answers", "questions",
                  "timestamps"})


@dataclass(frozen=True)
class SurveyMapping:
    """Which file column feeds each answer field, and how the file writes rankings and times.

    `columns` names the file's column per field (defaults: `DEFAULT_COLUMNS`); a field the
    mapping names must exist in the file, a default one may be absent (null then).
    `ranked_columns`, when given, are a ranked answer's columns, best first, instead of one
    `answer` column. `question` is the question id of a file without a question column.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    ranked_columns: tuple[str, ...] = ()
    ranked_separator: str = sv.RANKED_SEPARATOR
    question_types: Mapping[str, str] = field(default_factory=dict)
    question: str | None = None
    source: str = DEFAULT_SOURCE
    format: str | None = None
    separator: str | None = None
    encoding: str | None = None
    timestamp_formats: tuple[str, ...] = ISO_8601_FORMATS
    timezone: str | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.columns) - set(FIELDS))
        if unknown:
            raise SourceFormatError(f"survey mapping names unknown field(s) {unknown}; the fields are {list(FIELDS)}")
        types = {q: sv.QuestionType.ALIASES.get(str(t).lower()) for q, t in self.question_types.items()}
        if None in types.values():
            bad = sorted(q for q, t in types.items() if t is None)
            raise SourceFormatError(f"survey mapping: question type of {bad} must be one of {sv.QuestionType.ALL}")
        object.__setattr__(self, "question_types", types)
        if self.format is not None and self.format not in FORMATS:
            raise SourceFormatError(f"survey format {self.format!r} is not one of {FORMATS}")
        if not self.ranked_separator:
            raise SourceFormatError("survey mapping: the ranked answers' separator must not be empty")
        SourceMapping(separator=self.separator, encoding=self.encoding, timezone=self.timezone)  # checks them

    @property
    def explicit(self) -> frozenset[str]:
        """Fields whose column the mapping names itself (these must exist in the file)."""
        return frozenset(self.columns) | ({"answer"} if self.ranked_columns else frozenset())

    def column(self, name: str) -> str:
        return self.columns.get(name, DEFAULT_COLUMNS[name])

    def read_columns(self) -> frozenset[str]:
        """Every file column the mapping reads."""
        return frozenset({self.column(n) for n in FIELDS} | set(self.ranked_columns))

    def format_of(self, path: Path, given: str | None = None) -> str:
        chosen = given if given not in (None, "auto") else self.format or EXTENSIONS.get(path.suffix.lower())
        if chosen not in FORMATS:
            raise SourceFormatError(f"cannot tell the survey format of {path.name}: pass --survey_format "
                                    f"(one of {', '.join(FORMATS)}) or set `format` in the mapping")
        return chosen

    def check_columns(self, available: set[str], where: str) -> None:
        """Raise unless the file has the answer fields' columns (and every column the mapping named)."""
        for name in FIELDS:
            if name == "answer" and self.ranked_columns:
                missing = [c for c in self.ranked_columns if c not in available]
            else:
                missing = [] if self.column(name) in available else [self.column(name)]
            needed = name in self.explicit or (name in REQUIRED and not (name == "question" and self.question))
            if missing and needed:
                raise SourceFormatError(
                    f"{where} has no column {missing[0]!r}, which survey field {name!r} needs; its columns are "
                    f"{sorted(available)}. Fix the [columns] table of the survey mapping"
                    + (" (or set `question` for a file of one question)." if name == "question" else "."))


def load_survey_mapping(path: Path | None) -> SurveyMapping:
    """The TOML mapping at `path` (the defaults without one); mistakes name the file and the fix."""
    if path is None:
        return SurveyMapping()
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceFormatError(f"cannot read survey mapping {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SourceFormatError(f"survey mapping {path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(document) - _TOP)
    if unknown:
        raise SourceFormatError(f"unknown key(s) {unknown} in survey mapping {path}; allowed: {sorted(_TOP)}")
    columns = dict(_table(document, "columns", path))
    ranked = columns.pop("ranked", ())
    if isinstance(ranked, str) or not all(isinstance(c, str) and c for c in ranked):
        raise SourceFormatError(f"survey mapping {path}: [columns] ranked must be a list of column names")
    bad = sorted(k for k, v in columns.items() if not isinstance(v, str) or not v)
    if bad:
        raise SourceFormatError(f"survey mapping {path}: [columns] {bad} must name a column as a non-empty string")
    answers, timestamps = _table(document, "answers", path), _table(document, "timestamps", path)
    formats = timestamps.get("format", ISO_8601_FORMATS)
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    if not formats or not all(isinstance(f, str) for f in formats):
        raise SourceFormatError(f"survey mapping {path}: [timestamps] format must be a strptime string or a list")
    return SurveyMapping(
        columns=columns, ranked_columns=tuple(ranked), ranked_separator=answers.get("separator", sv.RANKED_SEPARATOR),
        question_types=_table(document, "questions", path), question=document.get("question"),
        source=document.get("source", DEFAULT_SOURCE), format=document.get("format"),
        separator=document.get("separator"), encoding=document.get("encoding"),
        timestamp_formats=formats, timezone=timestamps.get("timezone"),
    )


def _table(document: Mapping[str, object], key: str, path: Path) -> dict:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise SourceFormatError(f"survey mapping {path}: [{key}] must be a table")
    return value
