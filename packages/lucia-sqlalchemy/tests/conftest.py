"""Fixtures: a fresh database on each real server, created and dropped over a raw connection.

A :class:`Database` is reachable two ways: through SQLAlchemy (the adapter under test)
and through the bare driver (to dump rows, count them and kill connections), so the
tests never trust the code they test to report on itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiomysql
import aiosqlite
import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from sqlalchemy import Column, MetaData, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lucia import Lucia
from lucia.adapters.sql import TableNames
from lucia.testing import CONFORMANCE_SESSION_COLUMNS, CONFORMANCE_USER_COLUMNS, fast_password_hasher
from lucia.testing.services import unique_name
from lucia_sqlalchemy import LuciaTables, SQLAlchemyAdapter, lucia_tables
from lucia_testkit import POSTGRES_URL, fresh_mysql_database, fresh_postgres_database, mysql_connect_args

KINDS = ("postgresql", "mariadb", "sqlite")
SERVERS = ("postgresql", "mariadb")
#: Every table, under its default name.
TABLES = tuple(asdict(TableNames()).values())

T = TypeVar("T")


def _run_isolated(call: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on its own event loop in its own thread (for class-scoped setup)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, call()).result()  # type: ignore[arg-type]


@dataclass
class Database:
    """A database made for some tests: its SQLAlchemy URL and raw-driver helpers."""

    kind: str
    name: str
    url: URL
    path: Path | None = None

    def engine(self, **options: Any) -> AsyncEngine:
        """A new async engine on this database (the test disposes it)."""
        return create_async_engine(self.url, **options)

    def url_as(self, dialect: str) -> str:
        """The URL as text, naming ``dialect`` (``mariadb`` for MariaDB's own dialect name)."""
        driver = self.url.drivername.partition("+")[2]
        return self.url.set(drivername=f"{dialect}+{driver}").render_as_string(hide_password=False)

    @asynccontextmanager
    async def raw(self) -> AsyncIterator[Any]:
        """A bare driver connection in autocommit mode: psycopg, aiomysql or aiosqlite."""
        if self.kind == "postgresql":
            async with await psycopg.AsyncConnection.connect(
                make_conninfo(POSTGRES_URL, dbname=self.name), autocommit=True
            ) as conn:
                yield conn
        elif self.kind == "mariadb":
            conn = await aiomysql.connect(**_mysql_args(self.name), autocommit=True)
            try:
                yield conn
            finally:
                conn.close()
        else:
            async with aiosqlite.connect(str(self.path), isolation_level=None) as conn:
                yield conn

    async def fetch(self, conn: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement on a raw connection (``%s`` placeholders); return its rows."""
        if self.kind == "postgresql":
            cursor = await conn.execute(sql, params)
            return [tuple(r) for r in await cursor.fetchall()] if cursor.description else []
        if self.kind == "mariadb":
            async with conn.cursor() as cursor:
                await cursor.execute(sql, params or None)
                return [tuple(r) for r in await cursor.fetchall()] if cursor.description else []
        cursor = await conn.execute(sql.replace("%s", "?"), params)
        return [tuple(r) for r in await cursor.fetchall()]

    async def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query, read over a fresh raw connection."""
        async with self.raw() as conn:
            return await self.fetch(conn, sql, params)

    async def dump(self, tables: tuple[str, ...] = TABLES) -> str:
        """Every row of the given tables (those that exist) as text (SECURITY S2)."""
        rows: list[tuple[Any, ...]] = []
        async with self.raw() as conn:
            for table in tables:
                if await self.has_table(conn, table):
                    rows += await self.fetch(conn, f"SELECT * FROM {table}")
        return repr(rows)

    async def has_table(self, conn: Any, table: str) -> bool:
        """Whether the database has this table."""
        if self.kind == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = %s"
            return bool(await self.fetch(conn, sql, (table,)))
        sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_name = %s"
        schema = "public" if self.kind == "postgresql" else self.name
        return bool(await self.fetch(conn, sql, (schema, table)))

    async def columns(self, table: str) -> list[str]:
        """The column names of a table, read with the bare driver."""
        async with self.raw() as conn:
            if self.kind == "sqlite":
                return [row[1] for row in await self.fetch(conn, f"PRAGMA table_info({table})")]
            sql = (
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                "ORDER BY ordinal_position"
            )
            schema = "public" if self.kind == "postgresql" else self.name
            return [row[0] for row in await self.fetch(conn, sql, (schema, table))]


def _mysql_args(database: str) -> dict[str, Any]:
    """aiomysql's connection arguments for a database on the test server."""
    return {**mysql_connect_args(), "db": database, "charset": "utf8mb4"}


def _create(kind: str, tmp: Path) -> Iterator[Database]:
    """Create a database of ``kind``, yield it, drop it."""
    if kind == "sqlite":
        name = unique_name("lucia_sqla")
        path = tmp / f"{name}.db"
        yield Database(kind, name, make_url(f"sqlite+aiosqlite:///{path}"), path)
    elif kind == "postgresql":
        with fresh_postgres_database("lucia_sqla") as created:
            url = make_url(created)
            yield Database(kind, url.database or "", url.set(drivername="postgresql+psycopg"))
    else:
        with fresh_mysql_database("lucia_sqla", charset=None) as created:
            url = make_url(created)
            yield Database(kind, url.database or "", url.set(drivername="mysql+aiomysql", query={"charset": "utf8mb4"}))


@pytest.fixture(scope="class")
def postgresql_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A PostgreSQL database created for one test class."""
    yield from _create("postgresql", tmp_path_factory.mktemp("pg"))


@pytest.fixture(scope="class")
def mariadb_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A MariaDB/MySQL database created for one test class."""
    yield from _create("mariadb", tmp_path_factory.mktemp("mariadb"))


@pytest.fixture(scope="class")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A SQLite file database made for one test class."""
    yield from _create("sqlite", tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(params=KINDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh database of each kind, for one test."""
    yield from _create(request.param, tmp_path)


@pytest.fixture(params=SERVERS)
def server_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh database on each database server (not SQLite), for one test."""
    yield from _create(request.param, tmp_path)


def long_text() -> Any:
    """TEXT, LONGTEXT on MySQL/MariaDB: what the portable type ``"text"`` is in the shared DDL."""
    return Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def conformance_tables(metadata: MetaData | None = None, **names: str) -> LuciaTables:
    """The tables with the columns the conformance suite writes (``CONFORMANCE_*_COLUMNS``)."""
    return lucia_tables(
        metadata,
        user_columns=[Column(name, long_text()) for name in CONFORMANCE_USER_COLUMNS],
        session_columns=[Column(name, long_text()) for name in CONFORMANCE_SESSION_COLUMNS],
        **names,
    )


@pytest.fixture(scope="session")
def run_isolated() -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    """Run a coroutine on its own event loop in its own thread (for class-scoped setup)."""
    return _run_isolated


@pytest.fixture(scope="session")
def make_tables() -> Callable[..., LuciaTables]:
    """:func:`conformance_tables`, for test modules (which cannot import this one)."""
    return conformance_tables


@dataclass
class Stack:
    """An engine on a test database, the adapter on it and Lucia on the adapter."""

    engine: AsyncEngine
    adapter: SQLAlchemyAdapter
    auth: Lucia


@pytest.fixture
async def stack_factory() -> AsyncIterator[Callable[..., Awaitable[Stack]]]:
    """Build a :class:`Stack` on a database (tables created); engines are disposed after the test."""
    engines: list[AsyncEngine] = []

    async def build(database: Database, **adapter_options: Any) -> Stack:
        engine = database.engine(pool_pre_ping=True)
        engines.append(engine)
        adapter = SQLAlchemyAdapter(engine, tables=conformance_tables(), **adapter_options)
        await adapter.create_schema()
        return Stack(engine, adapter, Lucia(adapter=adapter, password_hasher=fast_password_hasher()))

    try:
        yield build
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.fixture
async def stack(database: Database, stack_factory: Callable[..., Awaitable[Stack]]) -> Stack:
    """Lucia on the adapter on a fresh database of each kind."""
    return await stack_factory(database)


@pytest.fixture
async def server_stack(server_database: Database, stack_factory: Callable[..., Awaitable[Stack]]) -> Stack:
    """Lucia on the adapter on a fresh database of each server."""
    return await stack_factory(server_database)
