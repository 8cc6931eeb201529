"""Every public name of every package is in the API reference.

A public module is one whose dotted path has no ``_``-prefixed part and that defines
``__all__``; its public names are that ``__all__`` (read from the source, nothing is
imported). The API pages under ``docs/api/`` must render each module (``::: module``),
and the built site must hold an anchor ``module.name`` for each name, or, for a name a
package re-exports, the anchor of the public module that documents it
(``lucia_oauth.GitHub`` is documented as ``lucia_oauth.providers.GitHub``).

The site check needs the built site: ``nox -s docs`` builds it and then runs this file with
``LUCIA_DOCS_SITE`` pointing at it; without it that one test is skipped.
"""

from __future__ import annotations

import ast
import os
import re
from functools import cache
from pathlib import Path

import pytest
from _markdown import DOCS, ROOT


@cache
def public_modules() -> dict[str, tuple[str, ...]]:
    """Each public module of every package, with its ``__all__``."""
    found: dict[str, tuple[str, ...]] = {}
    for src in sorted((ROOT / "packages").glob("*/src")):
        for file in sorted(src.rglob("*.py")):
            parts = list(file.relative_to(src).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if any(part.startswith("_") for part in parts):
                continue
            names = _dunder_all(file)
            if names is not None:
                found[".".join(parts)] = names
    return found


def _dunder_all(file: Path) -> tuple[str, ...] | None:
    """The literal ``__all__`` of a module's source (``__all__ = [...]`` or ``__all__: list[str] = [...]``)."""
    for node in ast.parse(file.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["__all__"]:
            return tuple(ast.literal_eval(node.value))
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "__all__" and node.value:
            return tuple(ast.literal_eval(node.value))
    return None


def test_the_packages_have_public_modules() -> None:
    """The scan finds the core's and every adapter's modules (a broken scan would check nothing)."""
    modules = public_modules()
    assert {"lucia", "lucia.adapters", "lucia_sqlite", "lucia_oauth.providers", "lucia_webauthn"} <= set(modules)
    assert "Lucia" in modules["lucia"]


def test_every_public_module_has_an_api_page() -> None:
    """Each public module is rendered by a ``::: module`` line of a page under docs/api/."""
    directive = re.compile(r"^::: ([\w.]+)\s*$", re.M)
    rendered = {m for page in (DOCS / "api").glob("*.md") for m in directive.findall(page.read_text(encoding="utf-8"))}
    assert sorted(set(public_modules()) - rendered) == []
    assert sorted(rendered - set(public_modules())) == []  # and nothing private or gone


@pytest.fixture(scope="module")
def site_anchors() -> set[str]:
    """The ``id`` attributes of the built API reference pages."""
    site = os.environ.get("LUCIA_DOCS_SITE")
    if not site:
        pytest.skip("needs the built site: `nox -s docs` builds it and runs this test with LUCIA_DOCS_SITE set")
    pages = list((Path(site) / "api").rglob("*.html"))
    assert pages, f"no API pages under {site}/api: build the site first"
    return {anchor for page in pages for anchor in re.findall(r'id="([^"]+)"', page.read_text(encoding="utf-8"))}


def test_every_public_name_is_in_the_built_site(site_anchors: set[str]) -> None:
    """Every name of every ``__all__`` has its entry in the built API reference."""
    modules = public_modules()
    missing = []
    for module, names in modules.items():
        for name in names:
            homes = [module] + [other for other, exported in modules.items() if other != module and name in exported]
            if not any(f"{home}.{name}" in site_anchors for home in homes):
                missing.append(f"{module}.{name}")
    assert missing == []
