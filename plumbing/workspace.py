"""The UrbanPulse home folder: every file the system writes lives under one root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from plumbing.paths import city_folder, partition_value
from schemas import datasets as ds

HOME_ENV = "URBANPULSE_HOME"
DEFAULT_HOME = "urbanpulse-home"
RESTRICTED_MODE = 0o700


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def resolve(cls, home: str | Path | None = None) -> Workspace:
        """`--home` wins, then $URBANPULSE_HOME, then ./urbanpulse-home (read once, at the edge)."""
        chosen = home or os.environ.get(HOME_ENV) or DEFAULT_HOME
        return cls(Path(chosen).expanduser().resolve())

    @property
    def cities(self) -> Path:
        return self.root / "cities"

    def city(self, name: str) -> Path:
        return self.cities / name

    def landing(self, city: str) -> Path:
        """The city's landing logs (`plumbing.landing`): one folder per city, so two cities' sources
        of the same name never share a log, and a stream of one city never reads another's."""
        return self.root / "landing" / partition_value(city)

    @property
    def feeds(self) -> Path:
        return self.root / "feeds"

    @property
    def datasets(self) -> Path:
        """The published datasets: a symlink to the current snapshot (`plumbing.publishing`)."""
        return self.root / "datasets"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def requests_dataset(self) -> Path:
        return self.datasets / ds.REQUESTS

    @property
    def request_daily_dataset(self) -> Path:
        return self.datasets / ds.REQUEST_DAILY

    @property
    def dead_letters_dataset(self) -> Path:
        return self.datasets / ds.DEAD_LETTERS

    def city_dataset(self, name: str, city: str) -> Path:
        """One city's folder of a published dataset (`datasets/<name>/city=<city>`)."""
        return self.datasets / name / city_folder(city)

    def published_datasets(self, city: str | None = None,
                           names: tuple[str, ...] = ds.PUBLISHED) -> dict[str, str]:
        """The datasets researchers read (one city's folders of them), by name, as printed."""
        return {name: str(self.city_dataset(name, city) if city else self.datasets / name)
                for name in names}

    @property
    def restricted(self) -> Path:
        """What must not be published but is kept for reprocessing (dead letters' raw payloads).

        Readable by the owner only; never under `datasets/`.
        """
        return self.root / "restricted"

    def restricted_dead_letters(self, city: str) -> Path:
        """A city's dead letters with their raw payloads (the published ones have none)."""
        return self.restricted / ds.DEAD_LETTERS / city_folder(city)

    def restricted_ballots(self, city: str) -> Path:
        """A city's counted ballots, pseudonymised, one folder per election (never published)."""
        return self.restricted / ds.BALLOTS / city_folder(city)

    @property
    def voter_key_file(self) -> Path:
        """The secret that turns voter and respondent ids into pseudonyms (`plumbing.pseudonyms`)."""
        return self.restricted / "keys" / "voters.key"

    def make_restricted(self) -> Path:
        """The restricted store, created (or kept) readable by its owner only."""
        self.restricted.mkdir(parents=True, exist_ok=True)
        self.restricted.chmod(RESTRICTED_MODE)
        return self.restricted

    @property
    def models(self) -> Path:
        return self.root / "models"

    def model(self, name: str) -> Path:
        return self.models / name

    @property
    def state(self) -> Path:
        return self.root / "state"

    def live_store(self, city: str) -> Path:
        """The city's live store (SQLite, WAL): offsets, request states, windows, change feed."""
        return self.state / "live" / f"{city}.sqlite"

    @property
    def publishing_lock(self) -> Path:
        """Held while a snapshot of the published datasets is committed (`plumbing.publishing`)."""
        return self.state / "locks" / "datasets.lock"

    def city_lock(self, city: str) -> Path:
        """Held by a writer of one city's datasets for its whole run: one writer per city at a time."""
        return self.state / "locks" / f"city-{partition_value(city)}.lock"

    @property
    def runs(self) -> Path:
        return self.state / "runs"
