"""SECURITY.md promises that depend on the storage, on each database (S2, D2, D3)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from lucia import LuciaError

pytestmark = pytest.mark.anyio


@contextmanager
def recorded_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Collect the SQL statements the engine sends while the block runs."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_s2_raw_rows_hold_the_token_hash_never_the_token(database: Any, stack: Any) -> None:
    """A raw dump holds SHA-256 of each session token and never the token itself."""
    user = await stack.auth.create_user(primary_key=None, attributes={"username": "s2"})
    sessions = [await stack.auth.create_session(user.user_id) for _ in range(3)]
    dump = await database.dump()
    for session in sessions:
        assert session.token is not None and session.token not in dump
        assert hashlib.sha256(session.token.encode()).hexdigest() in dump
        assert (await stack.auth.validate_session(session.token)).session_id == session.session_id


async def test_validate_session_user_is_one_statement(stack: Any) -> None:
    """``validate_session_user`` on an active session runs exactly one SQL statement (a join)."""
    user = await stack.auth.create_user(primary_key=None, attributes={"username": "joined"})
    session = await stack.auth.create_session(user.user_id)
    with recorded_statements(stack.engine) as statements:
        got_session, got_user = await stack.auth.validate_session_user(session.token or "")
    assert (got_session.session_id, got_user.attributes["username"]) == (session.session_id, "joined")
    assert len(statements) == 1 and "JOIN" in statements[0].upper(), statements


async def test_d2_storage_error_during_validation_never_authenticates(database: Any, stack: Any) -> None:
    """When the session table cannot be read, validation raises the driver error: no session, no user."""
    user = await stack.auth.create_user(primary_key=None, attributes={"username": "d2"})
    session = await stack.auth.create_session(user.user_id)
    async with database.raw() as conn:
        await database.fetch(conn, "ALTER TABLE auth_session RENAME TO auth_session_gone")
    for validate in (stack.auth.validate_session_user, stack.auth.validate_session, stack.auth.get_session):
        with pytest.raises(DBAPIError):
            await validate(session.token or "")


@pytest.mark.parametrize(
    "call",
    [
        lambda auth: auth.get_user("u" * 100_000),
        lambda auth: auth.get_key("email", "x" * 100_000),
        lambda auth: auth.use_key("email", "ada@example.com", "p" * 100_000),
        lambda auth: auth.create_key("\x00", provider_id="email", provider_user_id="a", password=None),
        lambda auth: auth.create_user(primary_key=None, attributes={"username": "x" * 10_000_000}),
        lambda auth: auth.update_user_attributes("user", {"bad name": 1}),
    ],
    ids=["long-user-id", "long-key-id", "long-password", "nul-user-id", "huge-attribute", "bad-attribute-name"],
)
async def test_d3_bad_input_is_refused_before_any_statement(stack: Any, call: Any) -> None:
    """Oversized or malformed input raises ``AUTH_INVALID_INPUT`` without a single SQL statement."""
    with recorded_statements(stack.engine) as statements, pytest.raises(LuciaError) as info:
        await call(stack.auth)
    assert info.value.code == "AUTH_INVALID_INPUT"
    assert statements == []


_TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=200)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(provider_user_id=_TEXT, username=_TEXT)
async def test_any_text_round_trips_exactly(stack: Any, provider_user_id: str, username: str) -> None:
    """Arbitrary unicode key ids and attribute values are stored and read back exactly."""
    provider_id = f"p{secrets.token_hex(4)}"  # examples share one database: keep key ids unique
    user = await stack.auth.create_user(
        primary_key={"provider_id": provider_id, "provider_user_id": provider_user_id, "password": None},
        attributes={"username": username},
    )
    key = await stack.auth.get_key(provider_id, provider_user_id)
    assert (key.provider_user_id, key.user_id) == (provider_user_id, user.user_id)
    assert (await stack.auth.get_user(user.user_id)).attributes["username"] == username


@pytest.mark.parametrize(
    "database",
    [
        "postgresql",
        "mariadb",
        "sqlite",
    ],
    indirect=True,
)
async def test_ids_differing_only_by_trailing_space_are_two_keys(stack: Any) -> None:
    """``email:bob`` and ``email:bob `` are two keys: each lookup finds its own user."""
    bob = await stack.auth.create_user(primary_key=_email("bob"), attributes={"username": "bob"})
    spaced = await stack.auth.create_user(primary_key=_email("bob "), attributes={"username": "spaced"})
    assert (await stack.auth.get_key("email", "bob")).user_id == bob.user_id
    assert (await stack.auth.get_key("email", "bob ")).user_id == spaced.user_id


def _email(address: str) -> dict[str, Any]:
    return {"provider_id": "email", "provider_user_id": address, "password": None}
