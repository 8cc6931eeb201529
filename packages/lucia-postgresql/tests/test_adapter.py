"""The conformance suites over PostgresAdapter: its own pool, a pool you own, schema-qualified tables."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from lucia import ConfigurationError, Lucia
from lucia.adapters.sql import TableNames
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
from lucia_postgresql import PostgresAdapter

#: Every table, children before parents (the order TRUNCATE and a dump read them in).
TABLES = (
    "auth_session",
    "auth_key",
    "auth_passkey",
    "auth_passkey_challenge",
    "auth_throttle",
    "auth_throttle_event",
    "auth_user",
)


async def dump(url: str, schema: str = "public") -> str:
    """Every row of every table, read with a separate raw connection."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        rows: list[object] = []
        for table in TABLES:
            rows += await (await conn.execute(f"SELECT * FROM {schema}.{table}")).fetchall()
        return repr(rows)


async def empty_tables(url: str, schema: str = "public") -> None:
    """Remove every row, so each test starts on empty tables."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f"TRUNCATE {', '.join(f'{schema}.{table}' for table in TABLES)}")


async def create_schema(adapter: PostgresAdapter) -> None:
    """The conformance suites' columns on the user and session tables."""
    await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS, session_columns=CONFORMANCE_SESSION_COLUMNS)


class TestPostgresAdapterOwnPool(AdapterTests, PasskeyStoreTests):
    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[PostgresAdapter]:
        async with PostgresAdapter(database_url, pool_options={"max_size": 20}) as adapter:
            await create_schema(adapter)
            await empty_tables(database_url)
            yield adapter

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url)


class TestPostgresBlockingTwin(AdapterTests, PasskeyStoreTests):
    """The blocking twin (psycopg's ConnectionPool) passes the suite of the adapter it mirrors."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[Any]:
        async with PostgresAdapter(database_url, pool_options={"max_size": 20}) as origin:
            await create_schema(origin)
            await empty_tables(database_url)
            twin = origin.blocking_twin()
            assert twin is not None and origin.blocking_twin() is twin
            yield twin

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url)


class TestPostgresSyncPath(SyncPathTests):
    """SyncLucia over PostgresAdapter: psycopg's sync pool in the calling thread, under real threads."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[PostgresAdapter]:
        async with PostgresAdapter(database_url, pool_options={"max_size": 20}) as adapter:
            await create_schema(adapter)
            await empty_tables(database_url)
            yield adapter


class TestPostgresAdapterGivenPool(AdapterTests, PasskeyStoreTests):
    """A pool the application owns, with transactional (non-autocommit) connections."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[PostgresAdapter]:
        async with AsyncConnectionPool(database_url, min_size=1, max_size=20, open=False) as pool:
            adapter = PostgresAdapter(pool)
            await create_schema(adapter)
            await empty_tables(database_url)
            yield adapter
            await adapter.close()
            assert not pool.closed, "the adapter must leave a pool it was given open"

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url)


SCHEMA_TABLES = TableNames(
    user="lucia.auth_user",
    session="lucia.auth_session",
    key="lucia.auth_key",
    throttle="lucia.auth_throttle",
    throttle_event="lucia.auth_throttle_event",
    passkey="lucia.auth_passkey",
    passkey_challenge="lucia.auth_passkey_challenge",
)


class TestPostgresAdapterSchemaQualifiedTables(AdapterTests, PasskeyStoreTests):
    """Tables in a schema of their own, under the names the application chose."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[PostgresAdapter]:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("CREATE SCHEMA IF NOT EXISTS lucia")
        async with PostgresAdapter(database_url, tables=SCHEMA_TABLES) as adapter:
            await create_schema(adapter)
            await empty_tables(database_url, "lucia")
            yield adapter

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url, "lucia")


class TestPostgresThrottleStore(ThrottleStoreTests):
    """The throttle store in PostgreSQL, shared by processes."""

    @pytest.fixture
    async def throttle_store(self, database_url: str) -> AsyncIterator[object]:
        async with PostgresAdapter(database_url) as adapter:
            await adapter.create_schema()
            yield adapter.throttle_store()

    @pytest.fixture
    def throttle_store_recipe(self, database_url: str, throttle_store: object) -> StoreRecipe:
        return ("lucia_postgresql:PostgresAdapter", {"pool": database_url}, "throttle_store")


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
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("DROP INDEX auth_user_email")
            await conn.execute("ALTER TABLE auth_user DROP COLUMN email")


@pytest.mark.anyio
async def test_a_user_column_added_while_running_is_picked_up(database_url: str) -> None:
    """Prepared ``SELECT *`` statements survive ``ALTER TABLE``: the new column shows, nothing fails."""
    async with PostgresAdapter(database_url) as adapter:
        await create_schema(adapter)
        auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
        user = await auth.create_user(primary_key=None, attributes={"username": "migrated"})
        token = (await auth.create_session(user.user_id)).token or ""
        for _ in range(3):  # every pooled connection has the statements prepared by now
            await auth.validate_session_user(token)
            await auth.get_user(user.user_id)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as raw:
            await raw.execute("ALTER TABLE auth_user ADD COLUMN email TEXT")
            try:
                for _ in range(3):
                    _, got = await auth.validate_session_user(token)
                    assert got.attributes == {"username": "migrated", "email": None}
                    assert (await auth.get_user(user.user_id)).attributes == {"username": "migrated", "email": None}
            finally:
                await raw.execute("ALTER TABLE auth_user DROP COLUMN email")


def test_pool_options_with_a_given_pool_are_refused() -> None:
    """``pool_options`` configure the adapter's own pool; with your pool they are an error."""
    pool = AsyncConnectionPool("postgresql://nobody@127.0.0.1:1/none", open=False)
    with pytest.raises(TypeError):
        PostgresAdapter(pool, pool_options={"max_size": 3})


@pytest.mark.parametrize(
    "options",
    [
        {"pool_options": {"min_size": 5, "max_size": 2}},
        {"pool_options": {"max_size": 0}},
        {"pool_options": {"min_size": -1}},
        {"pool_options": {"timeout": 3}},
        {"pool_options": {"max_idle": 0}},
        {"connect_timeout": 0},
        {"pool_timeout": -1},
        {"statement_timeout": 0},
        {"statement_timeout": float("inf")},
        {"pool_timeout": True},
    ],
    ids=repr,
)
def test_options_that_cannot_work_are_refused_at_construction(options: dict[str, Any]) -> None:
    """A pool smaller than its minimum, or a zero, negative or endless timeout, is a ``ValueError`` at once."""
    with pytest.raises(ValueError):
        PostgresAdapter("postgresql://postgres@127.0.0.1/test", **options)


@pytest.mark.parametrize("url", ["mysql://root@127.0.0.1/test", "postgresql+psycopg://u@h/db", "redis://h"])
def test_a_url_of_another_database_names_the_expected_scheme(url: str) -> None:
    """Another scheme is refused with a message that names ``postgresql://``."""
    with pytest.raises(ValueError, match=r"postgresql://"):
        PostgresAdapter(url)


@pytest.mark.anyio
async def test_a_pool_you_opened_before_a_fork_is_refused_in_the_child(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A given pool seen from another process (a forked worker) is never used: a ``ConfigurationError`` says why."""
    async with AsyncConnectionPool(database_url, min_size=1, max_size=2, open=False) as pool:
        adapter = PostgresAdapter(pool)
        await create_schema(adapter)
        monkeypatch.setattr(os, "getpid", lambda: -1)  # what the adapter sees in a forked child
        with pytest.raises(ConfigurationError, match=r"before os\.fork\(\)"):
            await adapter.get_user("someone")
        assert not pool.closed, "the parent's pool must not be closed from the child"
