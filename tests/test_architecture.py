"""The package boundaries DESIGN.md draws: schemas imports nothing of ours; federation never
imports node."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_top_level_packages(package: str) -> dict[str, set[str]]:
    """Every top-level package imported anywhere under ``package``, by file."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        names: set[str] = set()
        for item in ast.walk(tree):
            if isinstance(item, ast.Import):
                names.update(alias.name.split(".")[0] for alias in item.names)
            elif isinstance(item, ast.ImportFrom) and item.level == 0 and item.module:
                names.add(item.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("federation", {"node"}), ("schemas", {"node", "federation"})],
)
def test_package_does_not_import(package: str, forbidden: set[str]) -> None:
    offenders = {
        path: sorted(names & forbidden)
        for path, names in imported_top_level_packages(package).items()
        if names & forbidden
    }
    assert offenders == {}


def test_the_scan_sees_imports() -> None:
    # Guards the test above against silently scanning nothing.
    node_imports = set().union(*imported_top_level_packages("node").values())
    assert {"federation", "node", "fastapi"} <= node_imports
