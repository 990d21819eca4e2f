"""What `urbanpulse ingest requests` checks before any flow starts, and what it tells the user.

Mistakes a retry cannot fix (a missing file, an unknown format or city, a broken mapping, an
empty file) stop here with one clear line, before Prefect or Beam start. What the run will
assume is said up front: the city pack, its taxonomy and the SLA default for categories outside
it, and which classifier labels the requests (with a warning when it was trained for another
city).
"""

from __future__ import annotations

import json
from pathlib import Path

from models.cities.pack import CityPack
from models.classification.artifact import MANIFEST_FILE
from models.classification.request_classifier import default_model_dir
from pipelines.sources.requests import FORMATS, load_mapping, read_raw_batches, with_encoding
from plumbing.workspace import Workspace
from schemas.taxonomy import DEFAULT_SLA_DAYS

FIRST_ROWS = 1_000


def check_ingest(workspace: Workspace, paths: list[Path], city: str, fmt: str,
                 mapping: Path | None, model: Path | None, encoding: str | None = None) -> list[str]:
    """Raise ValueError / FileNotFoundError for what cannot work; else the lines to print."""
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"input files not found: {', '.join(missing)}")
    empty = [str(p) for p in paths if p.stat().st_size == 0]
    if empty:
        raise ValueError(f"empty input files, nothing to ingest: {', '.join(empty)}")
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r} is not a format UrbanPulse reads; use one of {', '.join(FORMATS)}")
    parsed = with_encoding(load_mapping(mapping) if mapping is not None else None, encoding)  # names a wrong key
    for path in paths:  # the first records, read as the run will read them: wrong formats stop here
        next(read_raw_batches(path, fmt, None, parsed, FIRST_ROWS), None)
    pack = _city_pack(workspace, city)
    return [_taxonomy_line(pack), *_model_lines(workspace, city, model)]


def _city_pack(workspace: Workspace, city: str) -> CityPack:
    if not workspace.city(city).is_dir():
        known = sorted(p.name for p in workspace.cities.iterdir() if p.is_dir()) if workspace.cities.exists() else []
        raise ValueError(f"no city pack {city!r} in {workspace.cities}; known: {', '.join(known) or 'none'} "
                         "(build one with `urbanpulse city create NAME --boundaries FILE.geojson --name-field F`)")
    return CityPack.load(workspace.city(city))


def _taxonomy_line(pack: CityPack) -> str:
    default = f"{DEFAULT_SLA_DAYS:g}-day SLA"
    if pack.taxonomy.height == 0:
        return (f"city {pack.name!r}: {len(pack.district_ids)} districts, no taxonomy: every category gets the "
                f"default {default} (add one with `urbanpulse city create ... --taxonomy FILE.csv`)")
    return (f"city {pack.name!r}: {len(pack.district_ids)} districts, taxonomy of {pack.taxonomy.height} "
            f"categories; other categories get the default {default}")


def _model_lines(workspace: Workspace, city: str, model: Path | None) -> list[str]:
    chosen = model if model is not None else default_model_dir(workspace, city)
    if chosen is None:
        return [(f"no classifier for city {city!r}: categories come from the source's service_name "
                 "(train one with `urbanpulse train classifier --city ...`)")]
    manifest = Path(chosen) / MANIFEST_FILE
    if not manifest.exists():
        raise FileNotFoundError(f"--model {chosen} is not a trained classifier ({MANIFEST_FILE} is missing)")
    trained_for = json.loads(manifest.read_text(encoding="utf-8")).get("city")
    lines = [f"classifier {Path(chosen).name} (trained for city {trained_for or 'unknown'!r})"]
    if trained_for and trained_for != city:
        lines.append(f"warning: classifier {Path(chosen).name} was trained on city {trained_for!r}'s "
                     f"taxonomy, not {city!r}'s: its categories may not fit this city")
    return lines
