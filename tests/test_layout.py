"""The house's one-way street: schemas <- plumbing <- models <- pipelines <- flows.

Every import of every UrbanPulse module (module level and inside functions) is checked against
the layer it belongs to, so a wrong-way import fails here before a reviewer has to find it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("schemas", "plumbing", "models", "synthetic", "pipelines", "dashboard", "flows")
# what each top-level package may import (besides itself and third-party libraries)
ALLOWED = {
    "schemas": set(),
    "plumbing": {"schemas"},
    "models": {"schemas", "plumbing"},
    "synthetic": {"schemas", "plumbing", "models"},
    "pipelines": {"schemas", "plumbing", "models"},
    "dashboard": {"schemas", "plumbing"},
    "flows": {"schemas", "plumbing", "models", "synthetic", "pipelines", "dashboard"},
}
# inside pipelines: sources, transforms and sinks never import each other
PIPELINE_ROOMS = ("pipelines.sources", "pipelines.transforms", "pipelines.sinks")
# the dashboard reads published stores; it never opens a writer
WRITERS = ("plumbing.live_store.writer",)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str) -> list[tuple[int, str]]:
    """(line, imported name) for every absolute import of one of our packages in `source`;
    `from a.b import c` gives `a.b.c`, which may be a module or a name in `a.b`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split(".")[0] in PACKAGES]
    return found


def wrong_way_imports(path: Path, source: str | None = None) -> list[str]:
    module = _module_name(path)
    layer = module.split(".")[0]
    problems = []
    for line, imported in imports_of(path.read_text(encoding="utf-8") if source is None else source):
        target = imported.split(".")[0]
        if target != layer and target not in ALLOWED[layer]:
            problems.append(f"{path.relative_to(ROOT)}:{line} ({layer}) imports {imported}")
        room = next((r for r in PIPELINE_ROOMS if module.startswith(r)), None)
        other = next((r for r in PIPELINE_ROOMS if imported.startswith(r + ".")), None)
        if room and other and room != other:
            problems.append(f"{path.relative_to(ROOT)}:{line} ({room}) imports {imported}")
        if layer == "dashboard" and imported.startswith(WRITERS):
            problems.append(f"{path.relative_to(ROOT)}:{line} (dashboard) opens the writer {imported}")
    return list(dict.fromkeys(problems))


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_every_package_is_checked() -> None:
    assert {p.relative_to(ROOT).parts[0] for p in _sources()} == set(PACKAGES)


def test_imports_run_one_way() -> None:
    problems = [problem for path in _sources() for problem in wrong_way_imports(path)]
    assert not problems, "wrong-way imports:\n" + "\n".join(problems)


@pytest.mark.parametrize(("layer", "statement", "wrong"), [
    ("models", "from pipelines.sinks.dead_letters import write_dead_letter_file", True),
    ("models", "from plumbing.workspace import Workspace", False),
    ("plumbing", "from models.cities.pack import CityPack", True),
    ("pipelines/sinks", "from pipelines.transforms.requests.validate import DEAD", True),
    ("pipelines/sinks", "from models.duplicates import deduplicate", False),
    ("dashboard", "from plumbing.live_store.writer import LiveStore", True),
    ("dashboard", "import pipelines.stream_requests", True),
    ("models", "def f():\n    from synthetic.requests import generator", True),
])
def test_the_check_catches_wrong_way_imports(layer, statement, wrong) -> None:
    """The check itself can fail: planted imports are caught (inside functions too)."""
    planted = ROOT / layer / "planted_module_for_layout_test.py"
    assert bool(wrong_way_imports(planted, statement)) is wrong
