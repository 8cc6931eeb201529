"""The conformance suite over SQLiteAdapter, on a file database and on a given connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from lucia import ConfigurationError, InvalidSessionError, Lucia, SessionExpiresIn
from lucia.testing import (
    CONFORMANCE_SESSION_COLUMNS,
    CONFORMANCE_USER_COLUMNS,
    AdapterTests,
    FakeClock,
    PasskeyStoreTests,
    SyncPathTests,
    ThrottleStoreTests,
    fast_password_hasher,
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


LUCIA_JS_DDL = (
    "CREATE TABLE auth_user (id TEXT NOT NULL PRIMARY KEY, username TEXT)",
    "CREATE TABLE auth_session (id TEXT NOT NULL PRIMARY KEY, user_id TEXT NOT NULL REFERENCES auth_user(id), "
    "active_expires INTEGER NOT NULL, idle_expires INTEGER NOT NULL)",
    "CREATE TABLE auth_key (id TEXT NOT NULL PRIMARY KEY, user_id TEXT NOT NULL REFERENCES auth_user(id), "
    "primary_key INTEGER NOT NULL, hashed_password TEXT, expires INTEGER)",
)


@pytest.mark.anyio
async def test_a_lucia_js_four_column_session_table_keeps_working(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """On Lucia-JS 1.x tables: grace off (logged once), no invented created_at, renewal replaces at once."""
    path = tmp_path / "lucia-js.db"
    async with aiosqlite.connect(path) as conn:
        for statement in LUCIA_JS_DDL:
            await conn.execute(statement)
        await conn.commit()
    clock = FakeClock()
    async with SQLiteAdapter(path) as adapter:
        await adapter.create_schema()  # neither alters the Lucia-JS tables nor fails
        auth = Lucia(adapter=adapter, clock=clock, hash_session_ids=False, password_hasher=fast_password_hasher())
        await auth.connect()
        assert "renewal grace is off" in caplog.text
        user = await auth.create_user(primary_key=None, attributes={"username": "node"})
        session = await auth.create_session(user.user_id)
        assert session.created_at is None
        clock.advance(86_401)
        renewed = await auth.validate_session(session.token or "")
        assert renewed.fresh
        with pytest.raises(InvalidSessionError):  # no grace on a table that cannot record it
            await auth.validate_session(session.token or "")
        strict = Lucia(adapter=adapter, session_expires_in=SessionExpiresIn(absolute_period=timedelta(days=30)))
        with pytest.raises(ConfigurationError, match="created_at"):
            await strict.connect()
        with pytest.raises(ConfigurationError, match="persistent"):
            await auth.create_session(user.user_id, persistent=False)


class TestSyncPath(SyncPathTests):
    """SyncLucia over a SQLite file: the native path, under real threads."""

    @pytest.fixture
    async def adapter(self, tmp_path: Path) -> AsyncIterator[SQLiteAdapter]:
        async with SQLiteAdapter(tmp_path / "sync.db") as adapter:
            await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
            yield adapter


class TestBlockingTwin(AdapterTests, PasskeyStoreTests):
    """The blocking twin (``sqlite3``) passes the same suite as the async adapter it mirrors."""

    @pytest.fixture
    async def adapter(self, tmp_path: Path) -> AsyncIterator[object]:
        async with SQLiteAdapter(tmp_path / "twin.db") as origin:
            await origin.create_schema(
                user_columns=CONFORMANCE_USER_COLUMNS, session_columns=CONFORMANCE_SESSION_COLUMNS
            )
            twin = origin.blocking_twin()
            assert twin is not None and origin.blocking_twin() is twin
            yield twin

    @pytest.fixture
    def raw_dump(self, tmp_path: Path) -> Callable[[], Awaitable[str]]:
        return lambda: _dump(str(tmp_path / "twin.db"))
