"""The session table as the database has it: Lucia-JS 1.x tables, columns added by the application."""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Column, Text

from lucia import ConfigurationError, InvalidInputError, InvalidSessionError, Lucia, SessionExpiresIn
from lucia.adapters.sql import MARIADB, POSTGRESQL, SQLITE, SQLStatements
from lucia.testing import FakeClock, fast_password_hasher
from lucia_sqlalchemy import SQLAlchemyAdapter, lucia_tables

pytestmark = pytest.mark.anyio

_CORE_DIALECTS = {"postgresql": POSTGRESQL, "mariadb": MARIADB, "sqlite": SQLITE}
LUCIA_JS_SESSION_COLUMNS = frozenset({"id", "user_id", "active_expires", "idle_expires"})


async def _lucia_js_tables(database: Any, *, collation: str | None = None) -> None:
    """Lucia-JS 1.x tables: the shared DDL of the user and key tables, a four-column session table."""
    d = _CORE_DIALECTS[database.kind]
    if collation is not None:  # MySQL: the collation a Lucia-JS database was made with
        d = dataclasses.replace(d, table_suffix=f" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={collation}")
    async with database.raw() as conn:
        for statement in SQLStatements(d).schema({"username": "text"}):
            if "auth_session" not in statement:
                await database.fetch(conn, statement)
        await database.fetch(
            conn,
            f"CREATE TABLE auth_session (id {d.session_id_type} NOT NULL PRIMARY KEY, user_id {d.id_type} NOT NULL, "
            f"active_expires {d.bigint_type} NOT NULL, idle_expires {d.bigint_type} NOT NULL, "
            f"FOREIGN KEY (user_id) REFERENCES auth_user (id)){d.table_suffix}",
        )


@pytest.fixture
async def lucia_js_adapter(database: Any, make_tables: Any) -> Any:
    """The adapter with tables that declare every column, on a database whose session table has four."""
    await _lucia_js_tables(database)
    engine = database.engine()
    yield SQLAlchemyAdapter(engine, tables=make_tables())
    await engine.dispose()


async def test_a_lucia_js_session_table_works_with_the_policy_features_off(
    lucia_js_adapter: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """On four columns: sessions work, renewal replaces the token at once (no grace), and that is logged."""
    assert await lucia_js_adapter.session_columns() == LUCIA_JS_SESSION_COLUMNS
    clock = FakeClock()
    auth = Lucia(adapter=lucia_js_adapter, clock=clock, password_hasher=fast_password_hasher())
    with caplog.at_level(logging.WARNING, logger="lucia"):
        await auth.connect()
    assert "renewal grace is off" in caplog.text
    user = await auth.create_user(primary_key=None, attributes={"username": "js"})
    session = await auth.create_session(user.user_id)
    validated = await auth.validate_session(session.token or "")
    assert validated.created_at is None and validated.attributes == {}  # the table cannot hold them
    clock.advance(timedelta(days=1, seconds=1))
    renewed = await auth.validate_session(session.token or "")
    assert renewed.fresh and renewed.user_id == user.user_id
    with pytest.raises(InvalidSessionError):
        await auth.validate_session(session.token or "")
    assert [s.session_id for s in await auth.get_all_user_sessions(user.user_id)] == [renewed.session_id]


async def test_features_a_lucia_js_table_cannot_store_are_refused(lucia_js_adapter: Any) -> None:
    """Remember-me off, session attributes, caps and absolute lifetimes need columns: refused clearly."""
    auth = Lucia(adapter=lucia_js_adapter, password_hasher=fast_password_hasher())
    user = await auth.create_user(primary_key=None, attributes={"username": "js"})
    with pytest.raises(ConfigurationError):
        await auth.create_session(user.user_id, persistent=False)
    with pytest.raises(InvalidInputError):
        await auth.create_session(user.user_id, attributes={"device": "phone"})
    for options in (
        {"max_sessions_per_user": 3},
        {"session_expires_in": SessionExpiresIn(timedelta(hours=1), timedelta(hours=2), timedelta(days=1))},
    ):
        with pytest.raises(ConfigurationError):
            await Lucia(adapter=lucia_js_adapter, **options).connect()  # type: ignore[arg-type]
    assert await auth.get_all_user_sessions(user.user_id) == []


async def test_create_schema_leaves_a_lucia_js_session_table_alone(database: Any) -> None:
    """``create_schema`` on Lucia-JS tables creates the missing tables and neither alters nor fails."""
    await _lucia_js_tables(database)
    engine = database.engine()
    try:
        adapter = SQLAlchemyAdapter(engine, tables=lucia_tables(user_columns=[Column("username", Text())]))
        await adapter.create_schema()
        assert await adapter.session_columns() == LUCIA_JS_SESSION_COLUMNS
        assert set(await database.columns("auth_session")) == LUCIA_JS_SESSION_COLUMNS
        assert await database.columns("auth_passkey")  # the newer tables are there
    finally:
        await engine.dispose()


async def test_create_schema_says_which_declared_column_an_existing_table_lacks(
    lucia_js_adapter: Any,
) -> None:
    """Declared session attribute columns that the existing table lacks are named, not silently missing."""
    with pytest.raises(ConfigurationError) as info:
        await lucia_js_adapter.create_schema()
    assert "ip_address" in str(info.value) and "device" in str(info.value)


async def test_a_four_column_insert_works_on_the_new_table(database: Any, stack: Any) -> None:
    """A Lucia-JS 1.x process inserting four columns into Lucia's table: the row reads as a persistent session."""
    user = await stack.auth.create_user(primary_key=None, attributes={"username": "node"})
    async with database.raw() as conn:
        await database.fetch(
            conn,
            "INSERT INTO auth_session (id, user_id, active_expires, idle_expires) VALUES (%s, %s, %s, %s)",
            ("n" * 40, user.user_id, 4_102_444_800_000, 4_102_444_800_000),
        )
    row = await stack.adapter.get_session("n" * 40)
    assert (row.user_id, row.persistent, row.created_at, row.previous_id) == (user.user_id, True, None, None)


async def test_a_column_added_by_the_application_holds_a_session_attribute(database: Any, stack: Any) -> None:
    """The session table's columns are read from the database: one added by the app's own DDL is writable."""
    async with database.raw() as conn:
        await database.fetch(conn, "ALTER TABLE auth_session ADD COLUMN country VARCHAR(64)")
    adapter = SQLAlchemyAdapter(stack.engine, tables=stack.adapter.tables)  # started after the change
    auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
    user = await auth.create_user(primary_key=None, attributes={"username": "nl"})
    session = await auth.create_session(user.user_id, attributes={"country": "NL"})
    assert (await auth.validate_session(session.token or "")).attributes == {"country": "NL"}
    assert "country" in await adapter.session_columns()


async def test_a_missing_session_table_is_a_configuration_error(sqlite_database: Any) -> None:
    """Before the tables exist, the adapter says how to create them."""
    engine = sqlite_database.engine()
    try:
        with pytest.raises(ConfigurationError) as info:
            await SQLAlchemyAdapter(engine).session_columns()
        assert "create_schema" in str(info.value) and "alembic" in str(info.value)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database", ["mariadb"], indirect=True)
async def test_a_case_insensitive_lucia_js_table_never_finds_another_sessions_token(
    database: Any, make_tables: Any
) -> None:
    """``utf8mb4_general_ci`` would match ``aBc...`` to ``AbC...``: the adapter and Lucia answer "no session"."""
    await _lucia_js_tables(database, collation="utf8mb4_general_ci")
    engine = database.engine()
    try:
        adapter = SQLAlchemyAdapter(engine, tables=make_tables())
        auth = Lucia(adapter=adapter, hash_session_ids=False, password_hasher=fast_password_hasher())
        user = await auth.create_user(primary_key=None, attributes={"username": "js"})
        session = await auth.create_session(user.user_id)
        token = session.token or ""
        assert token != token.swapcase()
        assert (await auth.validate_session_user(token))[1].user_id == user.user_id
        for validate in (auth.validate_session, auth.validate_session_user, auth.get_session):
            with pytest.raises(InvalidSessionError):
                await validate(token.swapcase())
        assert await adapter.get_session(token.swapcase()) is None
        assert await adapter.get_session_and_user(token.swapcase()) is None
    finally:
        await engine.dispose()
