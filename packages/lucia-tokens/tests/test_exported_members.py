"""The public surface is what we mean it to be."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

#: Each public module and exactly what it exports, in ``__all__`` order: data, kept beside this test.
PUBLIC_SURFACE: dict[str, list[str]] = json.loads(Path(__file__).with_name("public_names.json").read_text())


def test_all_is_pinned() -> None:
    """Each public module exports exactly these names (ruff keeps them sorted), and every one exists."""
    assert sorted(PUBLIC_SURFACE) == ["lucia_tokens", "lucia_tokens.testing", "lucia_tokens.totp"]
    for module_name, names in PUBLIC_SURFACE.items():
        module = importlib.import_module(module_name)
        assert module.__all__ == names
        assert all(hasattr(module, name) for name in names)
