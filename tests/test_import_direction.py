"""Imports only go down the floors (ARCHITECTURE.md): a lower floor importing a higher one fails.

Every import counts, those inside functions and under TYPE_CHECKING too: a lazy import is
still a dependency, and a cycle through one is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# What each floor may import, besides itself. core/ (the settings) is under every floor. desk/
# sits beside pipeline/: both stand on the warehouse, neither imports the other, and flows/
# composes them all.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "connectors": frozenset({"core"}),
    "processing": frozenset({"core", "connectors"}),
    "warehouse": frozenset({"core", "connectors", "processing"}),
    "pipeline": frozenset({"core", "connectors", "processing", "warehouse"}),
    "desk": frozenset({"core", "connectors", "processing", "warehouse"}),
    "flows": frozenset(
        {"core", "connectors", "processing", "warehouse", "pipeline", "desk", "fixture_site"}
    ),
    "fixture_site": frozenset({"core"}),
}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every project import in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name.split(".")[0]) for name in names]
    return [(line, top) for line, top in found if top in MAY_IMPORT]


def upward_imports(root: Path) -> list[str]:
    """Each import of a floor it may not use, as `path:line imports package`."""
    problems = []
    for floor, allowed in MAY_IMPORT.items():
        for path in sorted((root / floor).rglob("*.py")):
            for line, top in imported_packages(path):
                if top != floor and top not in allowed:
                    problems.append(f"{path.relative_to(root)}:{line} imports {top}")
    return problems


def test_every_floor_imports_only_the_floors_below_it():
    assert upward_imports(ROOT) == []


def test_a_reversed_import_is_caught(tmp_path: Path):
    """The check itself: a connectors module importing processing, lazily, is reported."""
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "late.py").write_text(
        "def parser():\n    from processing.parsers import parser_for\n    return parser_for\n"
    )
    assert upward_imports(tmp_path) == ["connectors/late.py:2 imports processing"]


@pytest.mark.parametrize("floor", sorted(MAY_IMPORT))
def test_each_floor_is_a_package_of_the_project(floor: str):
    """A floor renamed or dropped must not leave the check looking at nothing."""
    assert (ROOT / floor / "__init__.py").exists()
