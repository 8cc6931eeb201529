"""The conformance suite over PostgresAdapter: with its own pool, and with a pool you own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from lucia import Lucia
from lucia.adapters.sql import TableNames
from lucia.testing import CONFORMANCE_USER_COLUMNS, AdapterTests, fast_password_hasher
from lucia_postgresql import PostgresAdapter

TABLES = ("auth_user", "auth_session", "auth_key")


async def dump(url: str) -> str:
    """Every row of the three tables, read with a separate raw connection."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        rows: list[object] = []
        for table in TABLES:
            rows += await (await conn.execute(f"SELECT * FROM {table}")).fetchall()
        return repr(rows)


async def empty_tables(url: str) -> None:
    """Remove every row, so each test starts on empty tables."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("TRUNCATE auth_session, auth_key, auth_user")


class TestPostgresAdapterOwnPool(AdapterTests):
    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[PostgresAdapter]:
        async with PostgresAdapter(database_url, pool_options={"max_size": 20}) as adapter:
            await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
            await empty_tables(database_url)
            yield adapter

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url)


class TestPostgresAdapterGivenPool(AdapterTests):
    """A pool the application owns, with transactional (non-autocommit) connections."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[PostgresAdapter]:
        async with AsyncConnectionPool(database_url, min_size=1, max_size=20, open=False) as pool:
            adapter = PostgresAdapter(pool)
            await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
            await empty_tables(database_url)
            yield adapter
            await adapter.close()
            assert not pool.closed, "the adapter must leave a pool it was given open"

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url)


SCHEMA_TABLES = TableNames(user="lucia.auth_user", session="lucia.auth_session", key="lucia.auth_key")


class TestPostgresAdapterSchemaQualifiedTables(AdapterTests):
    """Tables in a schema of their own, under the names the application chose."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[PostgresAdapter]:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("CREATE SCHEMA IF NOT EXISTS lucia")
        async with PostgresAdapter(database_url, tables=SCHEMA_TABLES) as adapter:
            await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
            async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
                await conn.execute("TRUNCATE lucia.auth_session, lucia.auth_key, lucia.auth_user")
            yield adapter

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        async def dump_schema() -> str:
            async with await psycopg.AsyncConnection.connect(database_url) as conn:
                rows: list[object] = []
                for table in TABLES:
                    rows += await (await conn.execute(f"SELECT * FROM lucia.{table}")).fetchall()
                return repr(rows)

        return dump_schema


@pytest.mark.anyio
async def test_a_unique_column_of_the_application_raises_the_driver_error(database_url: str) -> None:
    """Only Lucia's own constraints are translated: a unique ``email`` of the app propagates unchanged."""
    async with PostgresAdapter(database_url) as adapter:
        await adapter.create_schema(user_columns={**CONFORMANCE_USER_COLUMNS, "email": "string"})
        await empty_tables(database_url)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS auth_user_email ON auth_user (email)")
        auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
        key = {"provider_id": "email", "provider_user_id": "a@example.com", "password": None}
        await auth.create_user(primary_key=key, attributes={"email": "a@example.com"})
        other = {**key, "provider_user_id": "b@example.com"}
        with pytest.raises(psycopg.errors.UniqueViolation):
            await auth.create_user(primary_key=other, attributes={"email": "a@example.com"})
        assert await adapter.get_key("email:b@example.com") is None


def test_pool_options_with_a_given_pool_are_refused() -> None:
    """``pool_options`` configure the adapter's own pool; with your pool they are an error."""
    pool = AsyncConnectionPool("postgresql://nobody@127.0.0.1:1/none", open=False)
    with pytest.raises(TypeError):
        PostgresAdapter(pool, pool_options={"max_size": 3})
