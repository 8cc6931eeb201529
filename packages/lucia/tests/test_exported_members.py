"""The public surface is pinned: a change to it is a deliberate, reviewed act."""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import pytest


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions and dunders."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


#: Every public module and exactly what it exports, in ``__all__`` order (httpx's
#: tests/test_exported_members.py). The pin is data, so it lives in a data file beside this test.
PUBLIC_SURFACE: dict[str, list[str]] = json.loads(Path(__file__).with_name("public_names.json").read_text())


@pytest.mark.parametrize("module_name", sorted(PUBLIC_SURFACE))
def test_public_module_exports_are_pinned(module_name: str) -> None:
    """Each public module exports exactly its pinned names (SPEC fixes the top-level ones)."""
    module = importlib.import_module(module_name)
    assert list(module.__all__) == PUBLIC_SURFACE[module_name]


def test_each_public_name_has_one_home() -> None:
    """A name lives in one public module; only the top-level facade re-exports (SPEC fixes it)."""
    homes: dict[str, list[str]] = {}
    for module_name, names in PUBLIC_SURFACE.items():
        if module_name == "lucia":
            continue
        for name in names:
            homes.setdefault(name, []).append(module_name)
    assert {name: where for name, where in homes.items() if len(where) > 1} == {}


def test_every_public_module_has_a_sorted_all_of_real_names() -> None:
    """Every public module lists its names once, sorted, and each one exists."""
    for module in map(importlib.import_module, PUBLIC_SURFACE):
        names = list(module.__all__)
        assert names == sorted(names, key=_isort_key), module.__name__
        assert len(set(names)) == len(names), module.__name__
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_public_names_have_docstrings() -> None:
    """Each exported class and function documents itself."""
    for module in map(importlib.import_module, PUBLIC_SURFACE):
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type) or inspect.isfunction(obj):
                assert obj.__doc__, f"{module.__name__}.{name} has no docstring"


def test_core_imports_no_framework() -> None:
    """Importing ``lucia`` pulls in no web framework (integrations import theirs lazily)."""
    import subprocess
    import sys

    code = (
        "import sys, lucia, lucia.adapters, lucia.testing.services; "
        "bad = [m for m in ('starlette','django','flask','aiohttp','litestar','quart','fastapi') if m in sys.modules]; "
        "print(bad); raise SystemExit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
