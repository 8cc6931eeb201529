"""Fixtures: a fresh PostgreSQL database per test class, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lucia_testkit import POSTGRES_URL, fresh_postgres_database

ADMIN_URL = POSTGRES_URL


@pytest.fixture(scope="class")
def database_url() -> Iterator[str]:
    """A URL of a database created for this test class alone."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
