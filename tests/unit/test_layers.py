"""Data flows one way: HTTP -> domain -> storage and database, never back up."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BACKEND = Path(__file__).parents[2] / "backend"

# For each layer, the backend packages and modules it must never import.
FORBIDDEN = {
    "http": ("backend.db", "backend.storage", "backend.resources", "backend.local"),
    "domain": ("backend.http", "backend.app", "backend.resources", "backend.local"),
    "db": ("backend.domain", "backend.http", "backend.app", "backend.local"),
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    modules = sorted((BACKEND / layer).glob("*.py"))
    assert modules, f"backend/{layer} has no modules"
    breaches = {
        f"{path.name} imports {name}"
        for path in modules
        for name in _imports(path)
        if name.startswith(FORBIDDEN[layer])
    }
    assert breaches == set()
