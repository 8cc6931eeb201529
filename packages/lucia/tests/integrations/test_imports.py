"""Integrations are opt-in and their public surface is pinned.

``import lucia`` never loads a web framework; each integration module exports exactly
the names pinned in ``integration_names.json`` (a change to them is a deliberate, reviewed act).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

FRAMEWORKS = ["starlette", "fastapi", "django", "flask", "aiohttp", "litestar", "quart", "werkzeug", "uvicorn"]

#: Every integration module and exactly what it exports, in ``__all__`` order. The pin is
#: data, so it lives in a data file beside this test (as ``tests/public_names.json`` does).
INTEGRATION_SURFACE: dict[str, list[str]] = json.loads(Path(__file__).with_name("integration_names.json").read_text())


def test_importing_lucia_loads_no_framework() -> None:
    """``import lucia`` and the neutral asgi/wsgi helpers import no web framework."""
    script = (
        "import sys, lucia, lucia.integrations, lucia.integrations.asgi, lucia.integrations.wsgi\n"
        f"print([name for name in {FRAMEWORKS!r} if name in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("module_name", sorted(INTEGRATION_SURFACE))
def test_integration_exports_are_pinned(module_name: str) -> None:
    """Each integration module exports exactly its pinned names, each documented."""
    module = importlib.import_module(module_name)
    assert module.__all__ == INTEGRATION_SURFACE[module_name]
    for name in module.__all__:
        obj = getattr(module, name)
        # A type alias is no class (Python 3.10 says ``isinstance(Callable[...], type)``).
        is_class = isinstance(obj, type) and not isinstance(obj, types.GenericAlias)
        if is_class or (callable(obj) and hasattr(obj, "__code__")):
            assert obj.__doc__, f"{module_name}.{name} has no docstring"
