"""The conformance suites over MySQLAdapter: its own pool, a pool you own, and the MySQL 8 path."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import aiomysql
import pytest
from pymysql.constants import CLIENT

from lucia import ConfigurationError, Lucia, LuciaError
from lucia.testing import (
    CONFORMANCE_SESSION_COLUMNS,
    CONFORMANCE_USER_COLUMNS,
    AdapterTests,
    PasskeyStoreTests,
    SyncPathTests,
    ThrottleStoreTests,
    fast_password_hasher,
)
from lucia.testing._throttle_suite import StoreRecipe
from lucia_mysql import MySQLAdapter

#: Every table, children before parents (the order a cleanup deletes them in).
TABLES = (
    "auth_session",
    "auth_key",
    "auth_passkey",
    "auth_passkey_challenge",
    "auth_throttle",
    "auth_throttle_event",
    "auth_user",
)


async def raw_connection(url: str) -> aiomysql.Connection:
    """A separate plain connection to the test database."""
    parts = urlsplit(url)
    return await aiomysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        db=parts.path.lstrip("/"),
        autocommit=True,
        charset="utf8mb4",
    )


@asynccontextmanager
async def own_pool(url: str, **options: Any) -> AsyncIterator[aiomysql.Pool]:
    """A pool the application creates itself (by default as the adapter asks: autocommit, FOUND_ROWS)."""
    parts = urlsplit(url)
    settings = {"autocommit": True, "charset": "utf8mb4", "client_flag": CLIENT.FOUND_ROWS, **options}
    pool = await aiomysql.create_pool(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        db=parts.path.lstrip("/"),
        **settings,
    )
    try:
        yield pool
    finally:
        pool.close()
        await pool.wait_closed()


async def dump(url: str) -> str:
    """Every row of the three tables, read with a separate raw connection."""
    conn = await raw_connection(url)
    try:
        rows: list[object] = []
        async with conn.cursor() as cursor:
            for table in TABLES:
                await cursor.execute(f"SELECT * FROM {table}")
                rows += await cursor.fetchall()
        return repr(rows)
    finally:
        conn.close()


async def empty_tables(url: str) -> None:
    """Remove every row, so each test starts on empty tables."""
    conn = await raw_connection(url)
    try:
        async with conn.cursor() as cursor:
            for table in TABLES:
                await cursor.execute(f"DELETE FROM {table}")
    finally:
        conn.close()


async def create_schema(adapter: MySQLAdapter) -> None:
    """The conformance suites' columns on the user and session tables."""
    await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS, session_columns=CONFORMANCE_SESSION_COLUMNS)


class TestMySQLAdapterOwnPool(AdapterTests, PasskeyStoreTests):
    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[MySQLAdapter]:
        async with MySQLAdapter(database_url, pool_options={"maxsize": 20}) as adapter:
            await create_schema(adapter)
            await empty_tables(database_url)
            yield adapter

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url)

    async def test_mariadb_is_detected_and_uses_delete_returning(self, adapter: MySQLAdapter) -> None:
        """On MariaDB the adapter consumes single-use keys with ``DELETE ... RETURNING``."""
        assert adapter.uses_delete_returning


class TestMySQLAdapterLockingPath(AdapterTests, PasskeyStoreTests):
    """The MySQL 8 path (no ``RETURNING``: lock, then delete), forced on the server at hand."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[MySQLAdapter]:
        async with MySQLAdapter(database_url, pool_options={"maxsize": 20}, delete_returning=False) as adapter:
            await create_schema(adapter)
            await empty_tables(database_url)
            assert not adapter.uses_delete_returning
            yield adapter

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url)


class TestMySQLBlockingTwin(AdapterTests, PasskeyStoreTests):
    """The blocking twin (PyMySQL) passes the suite of the adapter it mirrors."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[Any]:
        async with MySQLAdapter(database_url, pool_options={"maxsize": 20}) as origin:
            await create_schema(origin)
            await empty_tables(database_url)
            twin = origin.blocking_twin()
            assert twin is not None and origin.blocking_twin() is twin
            yield twin

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url)


class TestMySQLSyncPath(SyncPathTests):
    """SyncLucia over MySQLAdapter: PyMySQL in the calling thread, under real threads."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[MySQLAdapter]:
        async with MySQLAdapter(database_url, pool_options={"maxsize": 20}) as adapter:
            await create_schema(adapter)
            await empty_tables(database_url)
            yield adapter


class TestMySQLAdapterGivenPool(AdapterTests, PasskeyStoreTests):
    """A pool the application owns."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[MySQLAdapter]:
        async with own_pool(database_url, maxsize=20) as pool:
            adapter = MySQLAdapter(pool)
            await create_schema(adapter)
            await empty_tables(database_url)
            yield adapter
            await adapter.close()
            assert not pool.closed, "the adapter must leave a pool it was given open"

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url)


class TestMySQLThrottleStore(ThrottleStoreTests):
    """The throttle store in MariaDB/MySQL, shared by processes."""

    @pytest.fixture
    async def throttle_store(self, database_url: str) -> AsyncIterator[object]:
        async with MySQLAdapter(database_url) as adapter:
            await adapter.create_schema()
            yield adapter.throttle_store()

    @pytest.fixture
    def throttle_store_recipe(self, database_url: str, throttle_store: object) -> StoreRecipe:
        return ("lucia_mysql:MySQLAdapter", {"pool": database_url}, "throttle_store")


@pytest.mark.anyio
async def test_a_unique_column_of_the_application_raises_the_driver_error(database_url: str) -> None:
    """Only Lucia's own constraints are translated: a unique ``email`` of the app propagates unchanged."""
    async with MySQLAdapter(database_url) as adapter:
        await adapter.create_schema(user_columns={**CONFORMANCE_USER_COLUMNS, "email": "string"})
        await empty_tables(database_url)
        conn = await raw_connection(database_url)
        try:
            async with conn.cursor() as cursor:
                await cursor.execute("CREATE UNIQUE INDEX auth_user_email ON auth_user (email)")
        finally:
            conn.close()
        auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
        key = {"provider_id": "email", "provider_user_id": "a@example.com", "password": None}
        await auth.create_user(primary_key=key, attributes={"email": "a@example.com"})
        other = {**key, "provider_user_id": "b@example.com"}
        with pytest.raises(aiomysql.IntegrityError) as info:
            await auth.create_user(primary_key=other, attributes={"email": "a@example.com"})
        assert not isinstance(info.value, LuciaError)
        assert await adapter.get_key("email:b@example.com") is None
        conn = await raw_connection(database_url)
        try:
            async with conn.cursor() as cursor:
                await cursor.execute("ALTER TABLE auth_user DROP INDEX auth_user_email, DROP COLUMN email")
        finally:
            conn.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("options", "missing"),
    [({"autocommit": False}, "autocommit"), ({"client_flag": 0}, "FOUND_ROWS")],
    ids=["transactional", "changed-rows"],
)
async def test_a_pool_that_cannot_work_is_refused(database_url: str, options: dict[str, Any], missing: str) -> None:
    """Transactional connections (hidden writes) or UPDATEs counting changed rows only: refused up front."""
    async with own_pool(database_url, **options) as pool:
        with pytest.raises(ValueError, match=missing):
            await MySQLAdapter(pool).get_user("someone")


def test_urls_and_options_are_checked_and_the_password_never_printed() -> None:
    """A non-MySQL URL and ``pool_options`` with a given pool are refused; ``repr`` hides the password."""
    with pytest.raises(ValueError, match=r"mysql:// or mariadb://"):
        MySQLAdapter("postgresql://root@127.0.0.1/db")
    adapter = MySQLAdapter("mysql://app:s3cr%40t@db.internal:3307/app")
    assert "s3cr" not in repr(adapter) and "db.internal:3307" in repr(adapter)
    with pytest.raises(TypeError):
        MySQLAdapter(object(), pool_options={"maxsize": 2})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"pool_options": {"minsize": 5, "maxsize": 2}},
        {"pool_options": {"maxsize": 0}},
        {"pool_options": {"minsize": -1}},
        {"pool_options": {"connect_timeout": 3}},
        {"pool_options": {"pool_recycle": 0}},
        {"connect_timeout": 0},
        {"pool_timeout": -1},
        {"statement_timeout": 0},
        {"statement_timeout": float("nan")},
        {"pool_timeout": True},
    ],
    ids=repr,
)
def test_options_that_cannot_work_are_refused_at_construction(options: dict[str, Any]) -> None:
    """A pool smaller than its minimum, or a zero, negative or endless timeout, is a ``ValueError`` at once."""
    with pytest.raises(ValueError):
        MySQLAdapter("mysql://root@127.0.0.1/test", **options)


@pytest.mark.anyio
async def test_a_pool_you_opened_before_a_fork_is_refused_in_the_child(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A given pool seen from another process (a forked worker) is never used: a ``ConfigurationError`` says why."""
    async with own_pool(database_url) as pool:
        adapter = MySQLAdapter(pool)
        await create_schema(adapter)
        monkeypatch.setattr(os, "getpid", lambda: -1)  # what the adapter sees in a forked child
        with pytest.raises(ConfigurationError, match=r"before os\.fork\(\)"):
            await adapter.get_user("someone")
        assert not pool.closed, "the parent's pool must not be closed from the child"
