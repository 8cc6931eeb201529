"""The public surface is pinned: a change to it is a deliberate, reviewed act."""

from __future__ import annotations

import inspect

import lucia
import lucia.adapters
import lucia.adapters.memory
import lucia.adapters.sql
import lucia.cookies
import lucia.passwords
import lucia.redirects
import lucia.testing
import lucia.testing.services
import lucia.validation


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions and dunders."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_lucia_exports() -> None:
    """Top-level ``lucia`` exports exactly the names SPEC §2 fixes, plus documented helpers."""
    expected = {
        "AuthRequest",
        "Cookie",
        "CookieAttributes",
        "CsrfProtection",
        "ErrorCode",
        "Key",
        "Lucia",
        "LuciaError",
        "LuciaRequest",
        "PrimaryKey",
        "Session",
        "SessionCookieOptions",
        "SessionExpiresIn",
        "SyncLucia",
        "User",
        "__version__",
    }
    assert set(lucia.__all__) == expected


def test_every_public_module_has_a_sorted_all_of_real_names() -> None:
    """Every public module lists its names once, sorted, and each one exists."""
    for module in (
        lucia,
        lucia.adapters,
        lucia.adapters.memory,
        lucia.adapters.sql,
        lucia.passwords,
        lucia.redirects,
        lucia.testing,
        lucia.testing.services,
        lucia.validation,
        lucia.cookies,
    ):
        names = list(module.__all__)
        assert names == sorted(names, key=_isort_key), module.__name__
        assert len(set(names)) == len(names), module.__name__
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_public_names_have_docstrings() -> None:
    """Each exported class and function documents itself."""
    for module in (lucia, lucia.adapters, lucia.adapters.sql, lucia.passwords, lucia.redirects, lucia.testing):
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
