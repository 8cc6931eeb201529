"""Helpers for tests that need a real service (a database server, a cache).

A missing service skips its tests with a one-line reason, unless
``LUCIA_REQUIRE_SERVICES=1`` (set by CI) turns the skip into a failure::

    from lucia.testing.services import require_service, service_url

    url = service_url("LUCIA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        conn = await psycopg.AsyncConnection.connect(url)
    except OSError as exc:
        require_service("postgresql", f"cannot connect to {url}: {exc}")
"""

from __future__ import annotations

import os
import secrets
import socket
from typing import NoReturn

import pytest

__all__ = ["free_port", "require_service", "service_url", "services_required", "unique_name"]


def services_required() -> bool:
    """Whether ``LUCIA_REQUIRE_SERVICES=1``: every service must be there."""
    return os.environ.get("LUCIA_REQUIRE_SERVICES", "") == "1"


def require_service(name: str, reason: str) -> NoReturn:
    """Skip the test because service ``name`` is missing, or fail if services are required."""
    message = f"{name} unavailable: {reason}"
    if services_required():
        pytest.fail(f"{message} (LUCIA_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


def service_url(env_var: str, default: str) -> str:
    """The URL of a service: the environment variable if set, else the local default."""
    return os.environ.get(env_var) or default


def unique_name(prefix: str = "lucia_test") -> str:
    """A fresh lowercase name for a database, schema or key prefix: runs never collide."""
    return f"{prefix}_{secrets.token_hex(6)}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
