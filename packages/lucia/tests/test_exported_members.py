"""The public surface is pinned: a change to it is a deliberate, reviewed act."""

from __future__ import annotations

import importlib
import inspect

import pytest


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions and dunders."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


#: Every public module and exactly what it exports (httpx's tests/test_exported_members.py).
PUBLIC_SURFACE: dict[str, set[str]] = {
    "lucia": {
        "AuthRequest",
        "ConfigurationError",
        "Cookie",
        "CookieAttributes",
        "CsrfProtection",
        "DuplicateKeyError",
        "DuplicateSessionError",
        "ErrorCode",
        "ExpiredKeyError",
        "InvalidCredentialsError",
        "InvalidInputError",
        "InvalidKeyError",
        "InvalidPasswordError",
        "InvalidRequestError",
        "InvalidSessionError",
        "InvalidUserError",
        "Key",
        "Lucia",
        "LuciaError",
        "LuciaRequest",
        "NotAuthenticatedError",
        "PrimaryKey",
        "ProxyHeaders",
        "RequestCredentials",
        "Session",
        "SessionCookieOptions",
        "SessionExpiresIn",
        "StorageError",
        "StorageTimeoutError",
        "StorageUnavailableError",
        "SyncLucia",
        "TooManyRequestsError",
        "User",
        "__version__",
    },
    "lucia.adapters": {
        "SESSION_POLICY_COLUMNS",
        "Adapter",
        "ChallengeRow",
        "KeyRow",
        "PasskeyAdapter",
        "PasskeyCredentialRow",
        "SessionAdapter",
        "SessionAndUserAdapter",
        "SessionRow",
        "TableRole",
        "UserAdapter",
        "UserRow",
        "Violation",
        "constraint_error",
    },
    "lucia.adapters.memory": {"MemoryAdapter"},
    "lucia.adapters.sql": {
        "MARIADB",
        "MYSQL",
        "POSTGRESQL",
        "SQLITE",
        "Dialect",
        "SQLAdapter",
        "SQLStatements",
        "SQLThrottleStore",
        "SQLTransaction",
        "TableNames",
        "dialect_named",
        "key_params",
    },
    "lucia.cookies": {"MAX_COOKIE_HEADER_LENGTH", "MAX_COOKIE_MAX_AGE", "Cookie", "CookieAttributes", "read_cookie"},
    "lucia.passwords": {
        "MAX_PASSWORD_LENGTH",
        "Argon2idHasher",
        "AsyncPasswordHasher",
        "PasswordHasher",
        "ScryptHasher",
        "normalize_password",
    },
    "lucia.redaction": {"MASK", "SECRET", "redacted"},
    "lucia.redirects": {"is_safe_redirect", "safe_redirect"},
    "lucia.testing": {
        "CONFORMANCE_SESSION_COLUMNS",
        "CONFORMANCE_USER_COLUMNS",
        "AdapterTests",
        "FakeClock",
        "FaultInjector",
        "FaultTests",
        "LuciaSessionTests",
        "LuciaTests",
        "PasskeyStoreTests",
        "SessionAdapterTests",
        "SessionPolicyTests",
        "SyncPathTests",
        "ThrottleStoreTests",
        "UserAdapterTests",
        "fast_password_hasher",
        "gather_outcomes",
    },
    "lucia.testing.services": {
        "free_port",
        "require_service",
        "service_url",
        "services_required",
        "unique_name",
    },
    "lucia.throttle": {
        "Attempt",
        "Backoff",
        "MemoryThrottleStore",
        "Throttle",
        "ThrottleEvent",
        "ThrottleState",
        "ThrottleStore",
    },
    "lucia.validation": {
        "MAX_ATTRIBUTE_LENGTH",
        "MAX_ID_LENGTH",
        "RESERVED_SESSION_COLUMNS",
        "RESERVED_USER_COLUMNS",
        "check_attributes",
        "check_id",
        "check_identifier",
        "check_password",
        "check_provider_id",
        "check_text",
        "is_identifier",
    },
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC_SURFACE))
def test_public_module_exports_are_pinned(module_name: str) -> None:
    """Each public module exports exactly its pinned names (SPEC fixes the top-level ones)."""
    module = importlib.import_module(module_name)
    assert set(module.__all__) == PUBLIC_SURFACE[module_name]


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
