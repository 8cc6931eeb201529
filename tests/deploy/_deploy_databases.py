"""Fresh databases on the real servers for the deployment tests (each dropped afterwards)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from lucia.testing.services import require_service, service_url, unique_name

__all__ = ["MYSQL8_URL", "MYSQL_URL", "POSTGRES_URL", "fresh_mysql_database", "fresh_postgres_database"]

POSTGRES_URL = service_url("LUCIA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
#: MariaDB in CI (or MySQL 8).
MYSQL_URL = service_url("LUCIA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
#: A MySQL 8 server beside the MariaDB one, when there is one (CI has none): ``""`` otherwise.
MYSQL8_URL = service_url("LUCIA_TEST_MYSQL8_URL", "")


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database."""
    import psycopg

    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        require_service("postgresql", f"cannot connect to {POSTGRES_URL}: {exc}")
    name = unique_name("lucia_deploy")
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield _with_database(POSTGRES_URL, name)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def fresh_mysql_database(url: str, service: str = "mysql") -> Iterator[str]:
    """The URL of a fresh, empty database (the server's default character set) on the server of ``url``."""
    import pymysql

    parts = urlsplit(url)
    try:
        admin = pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            connect_timeout=5,
            autocommit=True,
        )
    except pymysql.err.OperationalError as exc:
        require_service(service, f"cannot connect to {url}: {exc}")
    name = unique_name("lucia_deploy")
    with admin, admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
        try:
            yield _with_database(url, name)
        finally:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
