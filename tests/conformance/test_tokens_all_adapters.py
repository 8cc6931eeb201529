"""The lucia-tokens suite over every adapter package that is installed and whose server runs.

SQLite always runs. PostgreSQL, MariaDB/MySQL, MongoDB (``LUCIA_TEST_MONGODB_URL``, else
a SecantusDB server started here) and SQLAlchemy (on SQLite, PostgreSQL and MariaDB) are imported
lazily: a missing package skips its class; a missing server calls ``require_service``
(a failure under ``LUCIA_REQUIRE_SERVICES=1``). Each class gets a database of its own,
and each test starts on empty tables.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiosqlite
import pytest

from lucia.testing import CONFORMANCE_USER_COLUMNS
from lucia.testing.services import require_service, service_url, unique_name
from lucia_sqlite import SQLiteAdapter
from lucia_testkit import secantus_server
from lucia_tokens.testing import TokenTests

POSTGRES_URL = service_url("LUCIA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = service_url("LUCIA_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
TABLES = ("auth_user", "auth_session", "auth_key")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- SQLite ----------------------------------------------------------------------------


async def _sqlite_dump(path: Path) -> str:
    async with aiosqlite.connect(path) as conn:
        rows: list[Any] = []
        for table in TABLES:
            rows += await conn.execute_fetchall(f"SELECT * FROM {table}")
        return repr([tuple(row) for row in rows])


class TestTokensOnSQLite(TokenTests):
    @pytest.fixture
    async def adapter(self, tmp_path: Path) -> AsyncIterator[SQLiteAdapter]:
        adapter = SQLiteAdapter(tmp_path / "auth.db")
        await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
        yield adapter
        await adapter.close()

    @pytest.fixture
    def raw_dump(self, tmp_path: Path) -> Callable[[], Awaitable[str]]:
        return lambda: _sqlite_dump(tmp_path / "auth.db")


# -- PostgreSQL ------------------------------------------------------------------------


@pytest.fixture(scope="class")
def postgres_url() -> Iterator[str]:
    """A conninfo for a PostgreSQL database made for one test class, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    from psycopg.conninfo import make_conninfo

    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        require_service("postgresql", f"cannot connect to {POSTGRES_URL}: {exc}")
    name = unique_name("lucia_tokens")
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield make_conninfo(POSTGRES_URL, dbname=name)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _postgres_rows(url: str, statements: list[str]) -> list[Any]:
    import psycopg

    rows: list[Any] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for statement in statements:
            cursor = await conn.execute(statement)
            if cursor.description:
                rows += await cursor.fetchall()
    return rows


class TestTokensOnPostgreSQL(TokenTests):
    @pytest.fixture
    async def adapter(self, postgres_url: str) -> AsyncIterator[Any]:
        lucia_postgresql = pytest.importorskip("lucia_postgresql")
        async with lucia_postgresql.PostgresAdapter(postgres_url, pool_options={"max_size": 20}) as adapter:
            await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
            await _postgres_rows(postgres_url, ["TRUNCATE auth_session, auth_key, auth_user CASCADE"])
            yield adapter

    @pytest.fixture
    def raw_dump(self, postgres_url: str) -> Callable[[], Awaitable[str]]:
        async def dump() -> str:
            return repr(await _postgres_rows(postgres_url, [f"SELECT * FROM {table}" for table in TABLES]))

        return dump


# -- MariaDB / MySQL -------------------------------------------------------------------


def _mysql_connect_args(database: str | None) -> dict[str, Any]:
    parts = urlsplit(MYSQL_URL)
    args: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
        "charset": "utf8mb4",
        "autocommit": True,
    }
    if database is not None:
        args["db"] = database
    return args


@pytest.fixture(scope="class")
def mysql_url() -> Iterator[str]:
    """A mysql:// URL for a database made for one test class, dropped afterwards."""
    pymysql = pytest.importorskip("pymysql")
    try:
        admin = pymysql.connect(connect_timeout=5, **_mysql_connect_args(None))
    except pymysql.err.OperationalError as exc:
        require_service("mysql", f"cannot connect to {MYSQL_URL}: {exc}")
    name = unique_name("lucia_tokens")
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        yield urlunsplit(urlsplit(MYSQL_URL)._replace(path=f"/{name}"))
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


async def _mysql_rows(url: str, statements: list[str]) -> list[Any]:
    import aiomysql

    conn = await aiomysql.connect(**_mysql_connect_args(urlsplit(url).path.lstrip("/")))
    rows: list[Any] = []
    try:
        async with conn.cursor() as cursor:
            for statement in statements:
                await cursor.execute(statement)
                rows += await cursor.fetchall()
    finally:
        conn.close()
    return rows


class TestTokensOnMySQL(TokenTests):
    @pytest.fixture
    async def adapter(self, mysql_url: str) -> AsyncIterator[Any]:
        lucia_mysql = pytest.importorskip("lucia_mysql")
        async with lucia_mysql.MySQLAdapter(mysql_url, pool_options={"maxsize": 20}) as adapter:
            await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
            await _mysql_rows(
                mysql_url, [f"DELETE FROM {table}" for table in ("auth_session", "auth_key", "auth_user")]
            )
            yield adapter

    @pytest.fixture
    def raw_dump(self, mysql_url: str) -> Callable[[], Awaitable[str]]:
        async def dump() -> str:
            return repr(await _mysql_rows(mysql_url, [f"SELECT * FROM {table}" for table in TABLES]))

        return dump


# -- SQLAlchemy ------------------------------------------------------------------------


async def _sqlalchemy_adapter(url: str) -> Any:
    lucia_sqlalchemy = pytest.importorskip("lucia_sqlalchemy")
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from sqlalchemy.ext.asyncio import create_async_engine

    tables = lucia_sqlalchemy.lucia_tables(
        sqlalchemy.MetaData(), user_columns=[sqlalchemy.Column("username", sqlalchemy.Text())]
    )
    adapter = lucia_sqlalchemy.SQLAlchemyAdapter(create_async_engine(url, pool_size=20), tables=tables)
    await adapter.create_schema()
    return adapter


class TestTokensOnSQLAlchemySQLite(TokenTests):
    @pytest.fixture
    async def adapter(self, tmp_path: Path) -> AsyncIterator[Any]:
        adapter = await _sqlalchemy_adapter(f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}")
        yield adapter
        await adapter.engine.dispose()

    @pytest.fixture
    def raw_dump(self, tmp_path: Path) -> Callable[[], Awaitable[str]]:
        return lambda: _sqlite_dump(tmp_path / "auth.db")


class TestTokensOnSQLAlchemyPostgreSQL(TokenTests):
    @pytest.fixture
    async def adapter(self, postgres_url: str) -> AsyncIterator[Any]:
        from psycopg.conninfo import conninfo_to_dict

        database = conninfo_to_dict(postgres_url)["dbname"]
        base = urlsplit(POSTGRES_URL)
        url = urlunsplit(base._replace(scheme="postgresql+psycopg", path=f"/{database}"))
        adapter = await _sqlalchemy_adapter(url)
        await _postgres_rows(postgres_url, ["TRUNCATE auth_session, auth_key, auth_user CASCADE"])
        yield adapter
        await adapter.engine.dispose()

    @pytest.fixture
    def raw_dump(self, postgres_url: str) -> Callable[[], Awaitable[str]]:
        async def dump() -> str:
            return repr(await _postgres_rows(postgres_url, [f"SELECT * FROM {table}" for table in TABLES]))

        return dump


class TestTokensOnSQLAlchemyMariaDB(TokenTests):
    @pytest.fixture
    async def adapter(self, mysql_url: str) -> AsyncIterator[Any]:
        url = urlunsplit(urlsplit(mysql_url)._replace(scheme="mysql+aiomysql", query="charset=utf8mb4"))
        adapter = await _sqlalchemy_adapter(url)
        await _mysql_rows(mysql_url, [f"DELETE FROM {table}" for table in ("auth_session", "auth_key", "auth_user")])
        yield adapter
        await adapter.engine.dispose()

    @pytest.fixture
    def raw_dump(self, mysql_url: str) -> Callable[[], Awaitable[str]]:
        async def dump() -> str:
            return repr(await _mysql_rows(mysql_url, [f"SELECT * FROM {table}" for table in TABLES]))

        return dump


# -- MongoDB ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mongodb_url() -> Iterator[str]:
    """LUCIA_TEST_MONGODB_URL if set, else a SecantusDB server started for this module."""
    pytest.importorskip("lucia_mongodb")
    pymongo = pytest.importorskip("pymongo")
    configured = os.environ.get("LUCIA_TEST_MONGODB_URL")
    with contextlib.nullcontext(configured) if configured else secantus_server() as url:
        try:
            with pymongo.MongoClient(url, serverSelectionTimeoutMS=10_000) as client:
                client.admin.command("ping")
        except pymongo.errors.PyMongoError as exc:
            require_service("mongodb", f"cannot reach {url}: {exc}")
        yield url


class TestTokensOnMongoDB(TokenTests):
    @pytest.fixture
    async def database(self, mongodb_url: str) -> AsyncIterator[Any]:
        from pymongo import AsyncMongoClient

        client: Any = AsyncMongoClient(mongodb_url)
        name = unique_name("lucia_tokens")
        yield client[name]
        await client.drop_database(name)
        await client.close()

    @pytest.fixture
    async def adapter(self, database: Any) -> Any:
        from lucia_mongodb import MongoDBAdapter

        adapter = MongoDBAdapter(database)
        await adapter.create_indexes()
        return adapter

    @pytest.fixture
    def raw_dump(self, database: Any) -> Callable[[], Awaitable[str]]:
        async def dump() -> str:
            from bson import json_util

            docs: list[Any] = []
            for collection in TABLES:
                docs += [doc async for doc in database[collection].find({})]
            return str(json_util.dumps(docs))

        return dump
