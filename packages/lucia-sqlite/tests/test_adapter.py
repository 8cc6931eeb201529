"""The conformance suite over SQLiteAdapter, on a file database and on a given connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiosqlite
import pytest

from lucia.testing import (
    CONFORMANCE_SESSION_COLUMNS,
    CONFORMANCE_USER_COLUMNS,
    AdapterTests,
    PasskeyStoreTests,
    ThrottleStoreTests,
)
from lucia.testing._throttle_suite import StoreRecipe
from lucia_sqlite import SQLiteAdapter


async def _dump(path: str | aiosqlite.Connection) -> str:
    """Every row of the three tables, read with a separate raw connection."""
    conn = path if isinstance(path, aiosqlite.Connection) else await aiosqlite.connect(path)
    try:
        rows = []
        for table in ("auth_user", "auth_session", "auth_key", "auth_passkey", "auth_passkey_challenge"):
            rows += await conn.execute_fetchall(f"SELECT * FROM {table}")
        return repr([tuple(row) for row in rows])
    finally:
        if conn is not path:
            await conn.close()


class TestSQLiteFile(AdapterTests, PasskeyStoreTests):
    @pytest.fixture
    async def adapter(self, tmp_path: Path) -> AsyncIterator[SQLiteAdapter]:
        adapter = SQLiteAdapter(tmp_path / "auth.db")
        await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS, session_columns=CONFORMANCE_SESSION_COLUMNS)
        yield adapter
        await adapter.close()

    @pytest.fixture
    def raw_dump(self, tmp_path: Path) -> Callable[[], Awaitable[str]]:
        return lambda: _dump(str(tmp_path / "auth.db"))


class TestSQLiteConnection(AdapterTests, PasskeyStoreTests):
    @pytest.fixture
    async def connection(self) -> AsyncIterator[aiosqlite.Connection]:
        async with aiosqlite.connect(":memory:", isolation_level=None) as conn:
            yield conn

    @pytest.fixture
    async def adapter(self, connection: aiosqlite.Connection) -> SQLiteAdapter:
        adapter = SQLiteAdapter(connection)
        await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS, session_columns=CONFORMANCE_SESSION_COLUMNS)
        return adapter

    @pytest.fixture
    def raw_dump(self, connection: aiosqlite.Connection) -> Callable[[], Awaitable[str]]:
        return lambda: _dump(connection)


class TestSQLiteThrottleStore(ThrottleStoreTests):
    """The throttle store in a SQLite file, shared by processes."""

    @pytest.fixture
    def database(self, tmp_path: Path) -> str:
        return str(tmp_path / "throttle.db")

    @pytest.fixture
    async def throttle_store(self, database: str) -> AsyncIterator[object]:
        adapter = SQLiteAdapter(database)
        await adapter.create_schema()
        yield adapter.throttle_store()
        await adapter.close()

    @pytest.fixture
    def throttle_store_recipe(self, database: str, throttle_store: object) -> StoreRecipe:
        return ("lucia_sqlite:SQLiteAdapter", {"database": database}, "throttle_store")
