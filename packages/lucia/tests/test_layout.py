"""The layout stays legible: no import cycle inside ``lucia``, every module importable alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import lucia

SRC = Path(lucia.__file__).parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(path: Path, module: str, known: set[str]) -> set[str]:
    """The ``lucia`` modules a module imports when it is imported (not under TYPE_CHECKING, not in functions)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    edges: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        edges |= {t for t in targets if t in known and t != module}
    return edges


def test_no_import_cycle_inside_lucia() -> None:
    """The static import graph of ``lucia`` (run-time imports) has no cycle."""
    modules = _modules()
    graph = {name: _imports(path, name, set(modules)) for name, path in modules.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            # Every module is below the package: importing its facade back is a cycle too.
            if target == "lucia" or state.get(target) == 1:
                cycles.append([*trail, name, target])
            elif target not in state:
                visit(target, [*trail, name])
        state[name] = 2

    for name in sorted(graph):
        if name not in state and name != "lucia":
            visit(name, [])
    assert cycles == []


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    """Each ``lucia`` module imports on its own (no hidden order dependency)."""
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-c", f"import {name}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for name in _modules()
    }
    failed = {}
    for name, process in processes.items():
        output, _ = process.communicate(timeout=120)
        if process.returncode != 0:
            failed[name] = output[-400:]
    assert failed == {}
