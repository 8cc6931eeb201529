"""Migration from Node: databases created with the Lucia-JS 1.x DDL work unchanged.

Each class creates the three tables exactly as the Lucia-JS 1.x adapter docs give them for
its database (plus a ``username`` column), never through our ``create_schema()``, and runs
the conformance suite with ``hash_session_ids=False`` (session ids are the tokens, as
Lucia-JS stores them) and Lucia-JS-shaped user ids (15 characters of ``[a-z0-9]``).

- PostgreSQL and SQLite: the whole suite (adapter contract and ``Lucia`` flows).
- MariaDB/MySQL: the Lucia-JS DDL declares ``auth_user.id VARCHAR(15)``; the adapter-level
  suite classes write 21-character ids of their own, which that column cannot hold, so on
  MySQL only the ``Lucia``-level flows run (their user ids come from ``generate_user_id``).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from lucia import Lucia, LuciaError
from lucia.testing import AdapterTests, FakeClock, LuciaTests, fast_password_hasher
from lucia_testkit import LUCIA_JS_DDL, fresh_mysql_database, fresh_postgres_database, lucia_js_user_id

TABLES = ("auth_user", "auth_session", "auth_key")


class _MigrationMode:
    """``Lucia`` as a project migrating from Node configures it.

    A Lucia-JS 1.x session table has only its four columns: the session-policy features
    that need more (grace, absolute lifetime, caps, remember-me, attributes) are off, and
    their suite tests are skipped for the undeclared capability. The renewal races (S7)
    run: renewal still replaces the row in place.
    """

    capabilities = frozenset({"get_session_and_user", "user_foreign_key"})

    @pytest.fixture
    def auth(self, adapter: Any, clock: FakeClock) -> Lucia:
        return Lucia(
            adapter=adapter,
            clock=clock,
            hash_session_ids=False,
            generate_user_id=lucia_js_user_id,
            password_hasher=fast_password_hasher(),
        )

    # S2 (hashed session ids) is what migration mode gives up on purpose: Lucia-JS 1.x stored
    # the token as the session id. The test below pins that behaviour instead.
    test_s2_raw_storage_never_holds_the_token = None

    async def test_migration_mode_stores_the_token_as_the_session_id(self, auth: Lucia) -> None:
        """With ``hash_session_ids=False`` the stored id is the token, as Lucia-JS 1.x expects."""
        user = await auth.create_user(primary_key=None, attributes={"username": "node"})
        assert len(user.user_id) == 15
        session = await auth.create_session(user.user_id)
        assert session.session_id == session.token
        assert session.session_id != hashlib.sha256((session.token or "").encode()).hexdigest()
        validated, validated_user = await auth.validate_session_user(session.token or "")
        assert validated.session_id == session.session_id and validated_user.user_id == user.user_id

    async def test_hash_session_ids_false_stores_the_token_as_id(self, auth: Lucia) -> None:
        """A session created on the Lucia-JS tables validates by its token."""
        user = await auth.create_user(primary_key=None, attributes={"username": "js"})
        session = await auth.create_session(user.user_id)
        assert session.session_id == session.token
        assert (await auth.validate_session(session.token or "")).user_id == user.user_id


# -- PostgreSQL --------------------------------------------------------------------------


@pytest.fixture(scope="class")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database holding the Lucia-JS 1.x tables."""
    pytest.importorskip("psycopg")
    with fresh_postgres_database("lucia_js", ddl=LUCIA_JS_DDL["postgresql"]) as url:
        yield url


async def _postgres_rows(url: str, *, empty: bool = False) -> str:
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        if empty:
            await conn.execute("TRUNCATE auth_session, auth_key, auth_user")
            return ""
        rows: list[Any] = []
        for table in TABLES:
            rows += await (await conn.execute(f"SELECT * FROM {table}")).fetchall()
        return repr(rows)


class TestLuciaJSSchemaOnPostgreSQL(_MigrationMode, AdapterTests):
    @pytest.fixture
    async def adapter(self, postgres_database: str) -> AsyncIterator[Any]:
        from lucia_postgresql import PostgresAdapter

        await _postgres_rows(postgres_database, empty=True)
        async with PostgresAdapter(postgres_database, pool_options={"max_size": 20}) as adapter:
            yield adapter

    @pytest.fixture
    def raw_dump(self, postgres_database: str) -> Callable[[], Awaitable[str]]:
        return lambda: _postgres_rows(postgres_database)


# -- MariaDB / MySQL -----------------------------------------------------------------------


@pytest.fixture(scope="class")
def mysql_database() -> Iterator[str]:
    """A fresh MariaDB/MySQL database (utf8mb4, as MySQL 8 defaults) holding the Lucia-JS 1.x tables."""
    pytest.importorskip("pymysql")
    with fresh_mysql_database("lucia_js", ddl=LUCIA_JS_DDL["mysql"]) as url:
        yield url


class TestLuciaJSSchemaOnMySQL(_MigrationMode, LuciaTests):
    @pytest.fixture
    async def adapter(self, mysql_database: str) -> AsyncIterator[Any]:
        from lucia_mysql import MySQLAdapter

        async with MySQLAdapter(mysql_database, pool_options={"maxsize": 20}) as adapter:
            pool = adapter.pool
            assert pool is not None
            async with pool.acquire() as conn, conn.cursor() as cursor:
                for table in ("auth_session", "auth_key", "auth_user"):
                    await cursor.execute(f"DELETE FROM {table}")
            yield adapter

    @pytest.fixture
    def raw_dump(self, adapter: Any) -> Callable[[], Awaitable[str]]:
        async def dump() -> str:
            rows: list[Any] = []
            async with adapter.pool.acquire() as conn, conn.cursor() as cursor:
                for table in TABLES:
                    await cursor.execute(f"SELECT * FROM {table}")
                    rows += await cursor.fetchall()
            return repr(rows)

        return dump

    async def test_create_session_for_unknown_user_fails(self, auth: Lucia) -> None:
        """No session for an unknown user (an id that fits ``VARCHAR(15)``; longer ones are a DataError)."""
        with pytest.raises(LuciaError) as info:
            await auth.create_session(lucia_js_user_id())
        assert info.value.code == "AUTH_INVALID_USER_ID"


# -- SQLite ------------------------------------------------------------------------------


class TestLuciaJSSchemaOnSQLite(_MigrationMode, AdapterTests):
    @pytest.fixture
    async def adapter(self, tmp_path: Path) -> AsyncIterator[Any]:
        from lucia_sqlite import SQLiteAdapter

        path = tmp_path / "lucia-js.db"
        async with aiosqlite.connect(path) as conn:
            for statement in LUCIA_JS_DDL["sqlite"]:
                await conn.execute(statement)
            await conn.commit()
        adapter = SQLiteAdapter(path)
        yield adapter
        await adapter.close()

    @pytest.fixture
    def raw_dump(self, tmp_path: Path) -> Callable[[], Awaitable[str]]:
        async def dump() -> str:
            async with aiosqlite.connect(tmp_path / "lucia-js.db") as conn:
                rows: list[Any] = []
                for table in TABLES:
                    rows += await conn.execute_fetchall(f"SELECT * FROM {table}")
                return repr([tuple(row) for row in rows])

        return dump
