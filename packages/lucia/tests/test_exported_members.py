"""The public surface is pinned: a change to it is a deliberate, reviewed act."""

from __future__ import annotations

from lucia_testkit import check_public_surface, pinned_surface

#: Every public module and exactly what it exports, in ``__all__`` order (httpx's
#: tests/test_exported_members.py). The pin is data, so it lives in a data file beside this test.
PUBLIC_SURFACE = pinned_surface(__file__)


def test_public_names_are_pinned_and_documented() -> None:
    """Each public module exports exactly its pinned names (``public_names.json``), each documented."""
    check_public_surface(__file__)


def test_each_public_name_has_one_home() -> None:
    """A name lives in one public module; only the top-level facade re-exports (SPEC fixes it)."""
    homes: dict[str, list[str]] = {}
    for module_name, names in PUBLIC_SURFACE.items():
        if module_name == "lucia":
            continue
        for name in names:
            homes.setdefault(name, []).append(module_name)
    assert {name: where for name, where in homes.items() if len(where) > 1} == {}


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
