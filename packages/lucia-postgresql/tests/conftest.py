"""Fixtures: a fresh PostgreSQL database per test class, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from lucia.testing.services import require_service, service_url, unique_name

ADMIN_URL = service_url("LUCIA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="class")
def database_url() -> Iterator[str]:
    """A conninfo for a database created for this test class alone."""
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        require_service("postgresql", f"cannot connect to {ADMIN_URL}: {exc}")
    name = unique_name("lucia_test")
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield make_conninfo(ADMIN_URL, dbname=name)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
