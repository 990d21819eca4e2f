"""What every batch ingest shares: its inputs, run id, counters and report, and the accounting check.

Each stream's pipeline (`ingest_requests`, `ingest_votes`) reads files, counts what it reads,
keeps and dead-letters under the names of `schemas.ledger`, and publishes only when
records in = records out + dead letters.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from apache_beam.metrics.metric import MetricsFilter

from pipelines.sinks.dead_letters import forget, put_back, set_aside
from plumbing.atomic import staging_dir
from plumbing.publishing import CityTransaction, publishing
from plumbing.workspace import Workspace
from schemas import datasets as ds
from schemas import ledger

LOG = logging.getLogger("urbanpulse")


class AccountingError(RuntimeError):
    """records_in != records_out + dead_letters: some record was lost or counted twice."""


class SuspiciousInputError(ValueError):
    """The run balanced, but read nothing or kept nothing: the input or its mapping is wrong."""


@dataclass
class IngestReport:
    run_id: str
    city: str
    inputs: list[str]
    counters: dict[str, int]
    datasets: dict[str, str]
    started_at: str
    seconds: float
    accounting_ok: bool = field(default=False)

    @property
    def records_in(self) -> int:
        return self.counters.get(ledger.RECORDS_IN, 0)

    @property
    def records_out(self) -> int:
        return self.counters.get(ledger.RECORDS_OUT, 0)

    @property
    def dead_letters(self) -> int:
        return self.counters.get(ledger.DEAD_LETTERS, 0)


def new_run_id(started: datetime) -> str:
    """Sortable by start time; two runs started in one second stay apart."""
    return f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"


def input_id(path: Path) -> str:
    """Content fingerprint of an input file: the same bytes always map to the same dead-letter file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()[:20]


def checked_inputs(paths: list[str] | None) -> list[str]:
    if not paths:
        raise ValueError("no input files: pass at least one --input=PATH")
    inputs = [str(Path(p).resolve()) for p in paths]
    missing = [p for p in inputs if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"input files not found: {', '.join(missing)}")
    return inputs


def distinct_inputs(inputs: list[str]) -> tuple[list[str], dict[str, str]]:
    """Inputs with distinct content, and their content ids: the same bytes given twice in one run
    are one input (its dead letters live in one file per content), said on the log."""
    by_content: dict[str, str] = {}
    for path in inputs:
        first = by_content.setdefault(input_id(Path(path)), path)
        if first != path:
            LOG.warning("%s has the same content as %s: ingesting it once", path, first)
    return list(by_content.values()), {path: content for content, path in by_content.items()}


def run_counters(result, names: tuple[str, ...]) -> dict[str, int]:
    """The run's ledger counters (`names` present even when zero); a counter several steps
    increment is summed over them."""
    counters = dict.fromkeys(names, 0)
    for counter in result.metrics().query(MetricsFilter().with_namespace(ledger.METRICS_NAMESPACE))["counters"]:
        counters[counter.key.metric.name] = counters.get(counter.key.metric.name, 0) + counter.committed
    return counters


def check_accounting(report: IngestReport, runs: Path) -> None:
    """Keep the run's report in `runs`; raise `AccountingError` unless in = out + dead."""
    import json
    from dataclasses import asdict

    report.accounting_ok = ledger.balances(report.counters)
    runs.mkdir(parents=True, exist_ok=True)
    (runs / f"{report.run_id}.json").write_text(json.dumps(asdict(report), indent=2))
    if not report.accounting_ok:
        raise AccountingError(
            f"run {report.run_id}: records_in={report.records_in} but records_out="
            f"{report.records_out} + dead_letters={report.dead_letters}, so nothing was "
            f"published; see {runs / (report.run_id + '.json')}"
        )


@contextmanager
def publishing_run(workspace: Workspace, city: str, run_id: str, holder: str, input_ids: dict[str, str],
                   staged: Path | None = None) -> Iterator[CityTransaction]:
    """The city's publishing transaction for one batch run (`plumbing.publishing`), with the
    dead letters of its inputs set aside first: a re-run replaces them (a fixed mapping leaves
    none behind), a failed run puts them back. `staged`: where the run stages restricted rows
    (ballots, answers) that it moves in place after the commit; removed when the run fails."""
    restricted_dead = workspace.restricted_dead_letters(city)
    ids = list(input_ids.values())
    with publishing(workspace, city, run_id, holder) as transaction:
        set_aside(transaction.dataset(ds.DEAD_LETTERS), ids, transaction.tree / "dead-letters-set-aside")
        previous_restricted = set_aside(restricted_dead, ids, staging_dir(restricted_dead) / f"set-aside-{run_id}")
        try:
            yield transaction
        except BaseException:
            put_back(previous_restricted)
            if staged is not None:
                shutil.rmtree(staged, ignore_errors=True)
            raise
    forget(previous_restricted)
