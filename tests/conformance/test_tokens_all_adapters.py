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
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import aiosqlite
import pytest

from lucia.testing import CONFORMANCE_USER_COLUMNS
from lucia.testing.services import require_service, unique_name
from lucia_sqlite import SQLiteAdapter
from lucia_testkit import fresh_mysql_database, fresh_postgres_database, mysql_connect_args, secantus_server
from lucia_tokens.testing import TokenTests

TABLES = ("auth_user", "auth_session", "auth_key")


# -- SQLite ----------------------------------------------------------------------------


async def _sqlite_dump(path: Path) -> str:
    async with aiosqlite.connect(path) as conn:
        rows: list[Any] = []
        for table in TABLES:
            rows += await conn.execute_fetchall(f"SELECT * FROM {table}")
        return repr([tuple(row) for row in rows])


class _SQLiteFileTokenTests(TokenTests):
    """The suite on a SQLite file of the test's own (``database_path``), dumped over aiosqlite."""

    @pytest.fixture
    def database_path(self, tmp_path: Path) -> Path:
        return tmp_path / "auth.db"

    @pytest.fixture
    def raw_dump(self, database_path: Path) -> Callable[[], Awaitable[str]]:
        return lambda: _sqlite_dump(database_path)


class TestTokensOnSQLite(_SQLiteFileTokenTests):
    @pytest.fixture
    async def adapter(self, database_path: Path) -> AsyncIterator[SQLiteAdapter]:
        adapter = SQLiteAdapter(database_path)
        await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
        yield adapter
        await adapter.close()


# -- PostgreSQL and MariaDB / MySQL, through their own adapters and SQLAlchemy --------------


@pytest.fixture(scope="class")
def postgres_url() -> Iterator[str]:
    """The URL of a PostgreSQL database made for one test class, dropped afterwards."""
    pytest.importorskip("psycopg")
    with fresh_postgres_database("lucia_tokens") as url:
        yield url


@pytest.fixture(scope="class")
def mysql_url() -> Iterator[str]:
    """A mysql:// URL for a database made for one test class, dropped afterwards."""
    pytest.importorskip("pymysql")
    with fresh_mysql_database("lucia_tokens") as url:
        yield url


async def _postgres_rows(url: str, statements: list[str]) -> list[Any]:
    import psycopg

    rows: list[Any] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for statement in statements:
            cursor = await conn.execute(statement)
            if cursor.description:
                rows += await cursor.fetchall()
    return rows


async def _mysql_rows(url: str, statements: list[str]) -> list[Any]:
    import aiomysql

    database = urlsplit(url).path.lstrip("/")
    conn = await aiomysql.connect(**mysql_connect_args(url), db=database, charset="utf8mb4", autocommit=True)
    rows: list[Any] = []
    try:
        async with conn.cursor() as cursor:
            for statement in statements:
                await cursor.execute(statement)
                rows += await cursor.fetchall()
    finally:
        conn.close()
    return rows


async def _rows(url: str, statements: list[str]) -> list[Any]:
    """The rows of ``statements``, run over the bare driver of the ``postgresql://`` or ``mysql://`` URL."""
    return await (_postgres_rows if url.startswith("postgresql://") else _mysql_rows)(url, statements)


async def _empty(url: str) -> None:
    """Empty the tables a test class left behind (the database outlives each test)."""
    if url.startswith("postgresql://"):
        await _postgres_rows(url, ["TRUNCATE auth_session, auth_key, auth_user CASCADE"])
    else:
        await _mysql_rows(url, [f"DELETE FROM {table}" for table in ("auth_session", "auth_key", "auth_user")])


class _ServerTokenTests(TokenTests):
    """The suite on a database server's database (``server_url``), dumped over the bare driver."""

    @pytest.fixture
    def raw_dump(self, server_url: str) -> Callable[[], Awaitable[str]]:
        async def dump() -> str:
            return repr(await _rows(server_url, [f"SELECT * FROM {table}" for table in TABLES]))

        return dump


class _OnPostgreSQL:
    @pytest.fixture
    def server_url(self, postgres_url: str) -> str:
        return postgres_url


class _OnMySQL:
    @pytest.fixture
    def server_url(self, mysql_url: str) -> str:
        return mysql_url


class _NativeServerTokenTests(_ServerTokenTests):
    """The suite through the server's own adapter: ``adapter_class`` of ``package``, a pool of 20."""

    package: ClassVar[str]
    adapter_class: ClassVar[str]
    pool_options: ClassVar[dict[str, int]]

    @pytest.fixture
    async def adapter(self, server_url: str) -> AsyncIterator[Any]:
        adapter_class = getattr(pytest.importorskip(self.package), self.adapter_class)
        async with adapter_class(server_url, pool_options=self.pool_options) as adapter:
            await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
            await _empty(server_url)
            yield adapter


class TestTokensOnPostgreSQL(_OnPostgreSQL, _NativeServerTokenTests):
    package, adapter_class, pool_options = "lucia_postgresql", "PostgresAdapter", {"max_size": 20}


class TestTokensOnMySQL(_OnMySQL, _NativeServerTokenTests):
    package, adapter_class, pool_options = "lucia_mysql", "MySQLAdapter", {"maxsize": 20}


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


class TestTokensOnSQLAlchemySQLite(_SQLiteFileTokenTests):
    @pytest.fixture
    async def adapter(self, database_path: Path) -> AsyncIterator[Any]:
        adapter = await _sqlalchemy_adapter(f"sqlite+aiosqlite:///{database_path}")
        yield adapter
        await adapter.engine.dispose()


#: The SQLAlchemy form of a server URL: its scheme and query, by the URL's scheme.
_SQLALCHEMY_URLS = {"postgresql": ("postgresql+psycopg", ""), "mysql": ("mysql+aiomysql", "charset=utf8mb4")}


class _SQLAlchemyServerTokenTests(_ServerTokenTests):
    @pytest.fixture
    async def adapter(self, server_url: str) -> AsyncIterator[Any]:
        parts = urlsplit(server_url)
        scheme, query = _SQLALCHEMY_URLS[parts.scheme]
        adapter = await _sqlalchemy_adapter(urlunsplit(parts._replace(scheme=scheme, query=query)))
        await _empty(server_url)
        yield adapter
        await adapter.engine.dispose()


class TestTokensOnSQLAlchemyPostgreSQL(_OnPostgreSQL, _SQLAlchemyServerTokenTests):
    pass


class TestTokensOnSQLAlchemyMariaDB(_OnMySQL, _SQLAlchemyServerTokenTests):
    pass


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
