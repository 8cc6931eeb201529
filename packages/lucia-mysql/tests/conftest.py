"""Fixtures: a fresh MariaDB/MySQL database per test class, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pymysql
import pytest

from lucia.testing.services import require_service, service_url, unique_name

ADMIN_URL = service_url("LUCIA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")


def admin_connection() -> pymysql.Connection:  # type: ignore[type-arg]
    """A plain blocking connection to the server, for setup and for faults."""
    parts = urlsplit(ADMIN_URL)
    try:
        return pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            autocommit=True,
            connect_timeout=5,
        )
    except pymysql.err.OperationalError as exc:
        require_service("mysql", f"cannot connect to {ADMIN_URL}: {exc}")


@pytest.fixture(scope="class")
def database_url() -> Iterator[str]:
    """A mysql:// URL for a database created for this test class alone."""
    admin = admin_connection()
    name = unique_name("lucia_test")
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        yield urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{name}"))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
