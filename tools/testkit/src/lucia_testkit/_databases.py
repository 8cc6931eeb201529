"""Throw-away databases on the local PostgreSQL and MariaDB/MySQL servers, and the local Redis.

The servers are the ones of ``LUCIA_TEST_POSTGRES_URL``, ``LUCIA_TEST_MYSQL_URL`` and
``LUCIA_TEST_REDIS_URL`` (default: the standard local ports). A server that cannot be
reached is a missing service (:func:`lucia.testing.services.require_service`). The
drivers (psycopg, PyMySQL, redis-py) are imported when first needed.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lucia.testing.services import require_service, service_url, unique_name

__all__ = [
    "MYSQL_URL",
    "POSTGRES_URL",
    "REDIS_URL",
    "fresh_mysql_database",
    "fresh_postgres_database",
    "mysql_connect_args",
    "redis_server_url",
]

#: The PostgreSQL server of the tests (a ``postgresql://`` URL).
POSTGRES_URL = service_url("LUCIA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
#: The MariaDB (or MySQL) server of the tests (a ``mysql://`` URL).
MYSQL_URL = service_url("LUCIA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
#: The Redis server of the tests (a ``redis://`` URL).
REDIS_URL = service_url("LUCIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _driver(module: str, service: str) -> Any:
    """Import a database driver; a missing one is a missing service."""
    try:
        return importlib.import_module(module)
    except ImportError:
        require_service(service, f"{module} is not installed")


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def fresh_postgres_database(prefix: str = "lucia_test", *, ddl: Iterable[str] = ()) -> Iterator[str]:
    """A new PostgreSQL database on the test server: yields its ``postgresql://`` URL, then drops it.

    Args:
        prefix: The start of the database's (otherwise random) name.
        ddl: Statements run in the new database before it is yielded (its tables).
    """
    psycopg = _driver("psycopg", "postgresql")
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        require_service("postgresql", f"cannot connect to {POSTGRES_URL}: {exc}")
    name = unique_name(prefix)
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            url = _with_database(POSTGRES_URL, name)
            with psycopg.connect(url, autocommit=True) as conn:
                for statement in ddl:
                    conn.execute(statement)
            yield url
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def mysql_connect_args(url: str = MYSQL_URL) -> dict[str, Any]:
    """The server part of a ``mysql://`` URL as PyMySQL and aiomysql connection arguments.

    The database (if any) is left out: PyMySQL names it ``database``, aiomysql ``db``.

    Args:
        url: The server's URL.
    """
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
    }


@contextmanager
def fresh_mysql_database(
    prefix: str = "lucia_test",
    *,
    url: str = MYSQL_URL,
    charset: str | None = "utf8mb4",
    ddl: Iterable[str] = (),
) -> Iterator[str]:
    """A new MariaDB/MySQL database: yields its ``mysql://`` URL, then drops it.

    Args:
        prefix: The start of the database's (otherwise random) name.
        url: The server (default: the test server).
        charset: The database's character set; ``None`` keeps the server's default.
        ddl: Statements run in the new database before it is yielded (its tables).
    """
    pymysql = _driver("pymysql", "mysql")
    try:
        admin = pymysql.connect(**mysql_connect_args(url), autocommit=True, connect_timeout=5)
    except pymysql.err.OperationalError as exc:
        require_service("mysql", f"cannot connect to {url}: {exc}")
    name = unique_name(prefix)
    statements = list(ddl)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}" + (f" CHARACTER SET {charset}" if charset else ""))
        if statements:
            # Not on the admin connection: a test that kills the database's connections spares it.
            conn = pymysql.connect(**mysql_connect_args(url), database=name, autocommit=True)
            with conn, conn.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        yield _with_database(url, name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


def redis_server_url() -> str:
    """The test Redis server's URL, once it has answered a PING."""
    redis = _driver("redis", "redis")
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3) as client:
            client.ping()
    except redis.RedisError as exc:
        require_service("redis", f"cannot reach {REDIS_URL}: {exc}")
    return REDIS_URL
