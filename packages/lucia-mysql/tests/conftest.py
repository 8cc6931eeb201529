"""Fixtures: a fresh MariaDB/MySQL database per test class, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lucia_testkit import MYSQL_URL, fresh_mysql_database

ADMIN_URL = MYSQL_URL


@pytest.fixture(scope="class")
def database_url() -> Iterator[str]:
    """A mysql:// URL for a database created for this test class alone."""
    with fresh_mysql_database() as url:
        yield url


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
