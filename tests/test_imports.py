"""The house's walls: every module imports, no import circle anywhere in feedsvc, and the ground floor
(extract/, fetch/, model, errors) never pulls in the config's pydantic or YAML."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "feedsvc"



def module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def module_path(name: str) -> Path:
    base = PACKAGE.parent.joinpath(*name.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def imports_of(name: str, known: set[str]) -> set[str]:
    """feedsvc modules `name` imports anywhere in its source: at module level, under TYPE_CHECKING and
    inside functions (a lazy import still makes a circle, only a later one)."""
    tree = ast.parse(module_path(name).read_text(encoding="utf-8"))
    is_package = module_path(name).name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x / from .a import b
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                # `from feedsvc.config import models` imports the submodule; `import Config` the package.
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in known else module)
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    known = set(module_names())
    return {name: imports_of(name, known) for name in known}


def circles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.add(frozenset(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("name", [n for n in module_names() if n != "feedsvc.__main__"])  # that one runs the CLI
def test_every_module_imports(name: str) -> None:
    importlib.import_module(name)


def test_the_graph_reader_sees_circles() -> None:
    # The checker itself must be able to fail: a made-up graph with a circle through three modules.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == {frozenset({"a", "b", "c"})}
    assert "feedsvc.pipeline" in import_graph()["feedsvc.refresh"]


def test_no_import_circle_in_feedsvc() -> None:
    found = circles(import_graph())
    assert not found, sorted(sorted(c) for c in found)


@pytest.mark.parametrize("room", ["feedsvc.extract", "feedsvc.fetch", "feedsvc.model", "feedsvc.errors"])
def test_the_ground_floor_never_imports_config(room: str) -> None:
    graph = import_graph()
    for name, imported in graph.items():
        if name == room or name.startswith(room + "."):
            assert not {m for m in imported if m.startswith("feedsvc.config")}, name


def test_extract_and_fetch_do_not_load_pydantic_or_yaml() -> None:
    # A fresh interpreter: this test process has long since imported both.
    rooms = [n for n in module_names() if n.startswith(("feedsvc.extract", "feedsvc.fetch"))]
    code = (f"import sys\nfor name in {rooms!r}:\n    __import__(name)\n"
            "loaded = sorted(m for m in ('pydantic', 'yaml') if m in sys.modules)\n"
            "assert not loaded, loaded\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def test_only_the_scheduler_loads_apscheduler() -> None:
    # DESIGN: scheduler.py is the only importer of apscheduler; the web room and the status report read
    # the schedule's policy (feedsvc.schedule) without it.
    rooms = [n for n in module_names() if n.startswith("feedsvc.web")] + ["feedsvc.section_status"]
    code = (f"import sys\nfor name in {rooms!r}:\n    __import__(name)\n"
            "assert 'apscheduler' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
