"""Honest dependencies: what feedsvc imports is declared, what is declared is imported, and every runtime
dependency has a floor that .ci/floors.txt pins (CI runs the whole suite on those pins as well)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib

from tests.support import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
FLOORS_FILE = REPO / ".ci" / "floors.txt"


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements() -> dict[str, str]:
    """Declared runtime dependencies: normalized name -> version specifier."""
    out = {}
    for line in PYPROJECT["project"]["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", line.strip())
        assert match, line
        out[normalized(match[1])] = match[2].replace(" ", "")
    return out


def third_party_imports() -> set[str]:
    """Top-level modules feedsvc imports that are neither the standard library nor feedsvc."""
    found = set()
    for path in (REPO / "feedsvc").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "feedsvc"}


# Imported only when installed (`feedsvc[fast]`): declared as an extra, not a requirement.
OPTIONAL_EXTRAS = ("fast",)


def optional_requirements() -> set[str]:
    extras = PYPROJECT["project"]["optional-dependencies"]
    return {normalized(re.match(r"[A-Za-z0-9_.-]+", line.strip())[0])  # type: ignore[index]
            for extra in OPTIONAL_EXTRAS for line in extras[extra]}


def test_every_imported_library_is_declared_and_every_declared_one_is_imported() -> None:
    distributions = importlib.metadata.packages_distributions()
    optional = optional_requirements()
    imported = set()
    for module in third_party_imports():
        if normalized(module) in optional:
            continue  # an optional extra, installed or not
        imported.update(normalized(dist) for dist in distributions[module])
    declared = set(runtime_requirements())
    assert imported - declared == set(), "imported by feedsvc but not in [project] dependencies"
    assert declared - imported == set(), "declared but never imported by feedsvc (a test-only library?)"


def test_every_runtime_dependency_has_a_floor_and_the_floors_file_pins_it() -> None:
    floors = {}
    for spec_name, spec in runtime_requirements().items():
        match = re.search(r">=([0-9][0-9A-Za-z.]*)", spec)
        assert match, f"{spec_name}: no >= floor in {spec!r}"
        floors[spec_name] = match[1]
    pinned = {}
    for line in FLOORS_FILE.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pinned[normalized(name)] = version.strip()
    assert pinned == floors
