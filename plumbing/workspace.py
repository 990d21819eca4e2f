"""The UrbanPulse home folder: every file the system writes lives under one root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from plumbing.paths import partition_value

HOME_ENV = "URBANPULSE_HOME"
DEFAULT_HOME = "urbanpulse-home"


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
        return self.root / "datasets"

    @property
    def requests_dataset(self) -> Path:
        return self.datasets / "requests"

    @property
    def request_daily_dataset(self) -> Path:
        return self.datasets / "request_daily"

    @property
    def dead_letters_dataset(self) -> Path:
        return self.datasets / "dead_letters"

    def published_datasets(self) -> dict[str, str]:
        """The datasets researchers read, by name, as the run reports and the demo print them."""
        return {
            "requests": str(self.requests_dataset),
            "request_daily": str(self.request_daily_dataset),
            "dead_letters": str(self.dead_letters_dataset),
        }

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
        """Held by every writer of the published datasets while it publishes (`plumbing.locks`)."""
        return self.state / "locks" / "datasets.lock"

    @property
    def runs(self) -> Path:
        return self.state / "runs"
