"""The conformance suite over MySQLAdapter: its own pool, a pool you own, and the MySQL 8 path."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import aiomysql
import pytest

from lucia import Lucia, LuciaError
from lucia.testing import CONFORMANCE_USER_COLUMNS, AdapterTests, fast_password_hasher
from lucia_mysql import MySQLAdapter

TABLES = ("auth_user", "auth_session", "auth_key")


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
            for table in ("auth_session", "auth_key", "auth_user"):
                await cursor.execute(f"DELETE FROM {table}")
    finally:
        conn.close()


class TestMySQLAdapterOwnPool(AdapterTests):
    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[MySQLAdapter]:
        async with MySQLAdapter(database_url, pool_options={"maxsize": 20}) as adapter:
            await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
            await empty_tables(database_url)
            yield adapter

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url)

    async def test_mariadb_is_detected_and_uses_delete_returning(self, adapter: MySQLAdapter) -> None:
        """On MariaDB the adapter consumes single-use keys with ``DELETE ... RETURNING``."""
        assert adapter.uses_delete_returning


class TestMySQLAdapterLockingPath(AdapterTests):
    """The MySQL 8 path (no ``RETURNING``: lock, then delete), forced on the server at hand."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[MySQLAdapter]:
        async with MySQLAdapter(database_url, pool_options={"maxsize": 20}, delete_returning=False) as adapter:
            await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
            await empty_tables(database_url)
            assert not adapter.uses_delete_returning
            yield adapter

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url)


class TestMySQLAdapterGivenPool(AdapterTests):
    """A pool the application owns."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[MySQLAdapter]:
        parts = urlsplit(database_url)
        pool = await aiomysql.create_pool(
            host=parts.hostname,
            port=parts.port or 3306,
            user=parts.username or "root",
            password=parts.password or "",
            db=parts.path.lstrip("/"),
            autocommit=True,
            charset="utf8mb4",
            maxsize=20,
        )
        try:
            adapter = MySQLAdapter(pool)
            await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
            await empty_tables(database_url)
            yield adapter
            await adapter.close()
            assert not pool.closed, "the adapter must leave a pool it was given open"
        finally:
            pool.close()
            await pool.wait_closed()

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url)


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


@pytest.mark.anyio
async def test_a_pool_without_autocommit_is_refused(database_url: str) -> None:
    """A pool of transactional connections would hide writes and pin snapshots: refused up front."""
    parts = urlsplit(database_url)
    pool = await aiomysql.create_pool(
        host=parts.hostname, port=parts.port or 3306, user=parts.username or "root", db=parts.path.lstrip("/")
    )
    try:
        with pytest.raises(ValueError, match="autocommit"):
            await MySQLAdapter(pool).get_user("someone")
    finally:
        pool.close()
        await pool.wait_closed()


def test_urls_and_options_are_checked_and_the_password_never_printed() -> None:
    """A non-MySQL URL and ``pool_options`` with a given pool are refused; ``repr`` hides the password."""
    with pytest.raises(ValueError):
        MySQLAdapter("postgresql://root@127.0.0.1/db")
    adapter = MySQLAdapter("mysql://app:s3cr%40t@db.internal:3307/app")
    assert "s3cr" not in repr(adapter) and "db.internal:3307" in repr(adapter)
    with pytest.raises(TypeError):
        MySQLAdapter(object(), pool_options={"maxsize": 2})  # type: ignore[arg-type]
