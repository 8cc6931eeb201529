"""A combined deployment: users and keys in SQLite, sessions and the throttle in Redis.

The session half of the conformance suite (with its renewal and revocation races) runs
with a SQLite user store, and the core flows (sign-up, sign-in, throttled sign-in,
sessions, sign-out everywhere, user deletion) run end to end across both stores.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from lucia import InvalidPasswordError, Lucia, LuciaError, LuciaRequest, TooManyRequestsError
from lucia.testing import (
    CONFORMANCE_USER_COLUMNS,
    FakeClock,
    LuciaSessionTests,
    SessionAdapterTests,
    fast_password_hasher,
)
from lucia.testing.services import unique_name
from lucia.throttle import Throttle
from lucia_redis import RedisSessionAdapter, RedisThrottleStore
from lucia_sqlite import SQLiteAdapter
from lucia_testkit import redis_server_url

pytestmark = pytest.mark.anyio


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    """A client of the test Redis server (checked to answer first)."""
    client = Redis.from_url(redis_server_url())
    yield client
    close = getattr(client, "aclose", None) or client.close
    await close()


@pytest.fixture
async def sessions(redis_client: Redis) -> AsyncIterator[RedisSessionAdapter]:
    """Sessions under a fresh key prefix, deleted afterwards."""
    adapter = RedisSessionAdapter(redis_client, key_prefix=unique_name("lucia_test") + ":")
    yield adapter
    async for key in redis_client.scan_iter(match=f"{adapter.key_prefix}*"):
        await redis_client.delete(key)


@pytest.fixture
async def users(tmp_path: Path) -> AsyncIterator[SQLiteAdapter]:
    adapter = SQLiteAdapter(tmp_path / "users.db")
    await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
    yield adapter
    await adapter.close()


async def _dump(redis_client: Redis, prefix: str) -> str:
    """Every key under ``prefix`` with its value: session hashes field by field, indexes with members."""
    values = []
    async for key in redis_client.scan_iter(match=f"{prefix}*"):
        kind = await redis_client.type(key)
        value = await redis_client.hgetall(key) if kind == b"hash" else await redis_client.zrange(key, 0, -1)
        values.append((key, value))
    return repr(values)


class TestRedisSessionsWithSQLiteUsers(SessionAdapterTests, LuciaSessionTests):
    """The session suite: Redis stores sessions, SQLite the users they point at."""

    capabilities = frozenset({"session_policy_columns"})

    @pytest.fixture
    def adapter(self, sessions: RedisSessionAdapter) -> RedisSessionAdapter:
        return sessions

    @pytest.fixture
    def user_adapter(self, users: SQLiteAdapter) -> SQLiteAdapter:
        return users

    @pytest.fixture
    def raw_dump(self, redis_client: Redis, sessions: RedisSessionAdapter) -> Callable[[], Awaitable[str]]:
        return lambda: _dump(redis_client, sessions.key_prefix)


@pytest.fixture
def auth(users: SQLiteAdapter, sessions: RedisSessionAdapter, clock: FakeClock) -> Lucia:
    return Lucia(adapter={"user": users, "session": sessions}, clock=clock, password_hasher=fast_password_hasher())


async def test_sign_up_sign_in_and_validate_across_both_stores(auth: Lucia) -> None:
    """A user signed up in SQLite signs in and gets a Redis session that validates with its user."""
    user = await auth.create_user(
        primary_key={"provider_id": "email", "provider_user_id": "ada@example.com", "password": "correct horse"},
        attributes={"username": "ada"},
    )
    key = await auth.use_key("email", "ada@example.com", "correct horse")
    session = await auth.create_session(key.user_id)
    validated, got = await auth.validate_session_user(session.token or "")
    assert validated.session_id == session.session_id and got == user
    cookie = auth.create_session_cookie(session).serialize()
    request = LuciaRequest(method="GET", url="http://127.0.0.1/", headers={"Cookie": cookie.split(";")[0]})
    assert auth.parse_request_headers(request) == session.token


async def test_idle_session_is_rotated_and_sign_out_everywhere_works(auth: Lucia, clock: FakeClock) -> None:
    """An idle Redis session is renewed with its SQLite user; signing out everywhere ends every session."""
    user = await auth.create_user(primary_key=None, attributes={"username": "bob"})
    first = await auth.create_session(user.user_id)
    second = await auth.create_session(user.user_id)
    clock.advance(timedelta(days=1, minutes=1))
    renewed, got = await auth.validate_session_user(first.token or "")
    assert renewed.fresh and got.user_id == user.user_id
    listed = {s.session_id for s in await auth.get_all_user_sessions(user.user_id)}
    assert listed == {renewed.session_id, second.session_id}
    await auth.invalidate_all_user_sessions(user.user_id, except_session_id=renewed.session_id)
    assert [s.session_id for s in await auth.get_all_user_sessions(user.user_id)] == [renewed.session_id]
    await auth.invalidate_all_user_sessions(user.user_id)
    with pytest.raises(LuciaError):
        await auth.validate_session(renewed.token or "")


async def test_deleting_a_user_deletes_its_redis_sessions(auth: Lucia, sessions: RedisSessionAdapter) -> None:
    """``delete_user`` removes the SQLite user and every Redis session of it."""
    user = await auth.create_user(primary_key=None, attributes={"username": "gone"})
    session = await auth.create_session(user.user_id)
    await auth.delete_user(user.user_id)
    assert await sessions.get_session(session.session_id) is None
    assert await sessions.get_sessions_by_user_id(user.user_id) == []
    with pytest.raises(LuciaError):
        await auth.validate_session_user(session.token or "")


async def test_a_session_whose_user_is_gone_authenticates_nobody(
    auth: Lucia, users: SQLiteAdapter, sessions: RedisSessionAdapter
) -> None:
    """A Redis session left behind by a user deleted only in SQLite does not authenticate."""
    user = await auth.create_user(primary_key=None, attributes={"username": "orphan"})
    session = await auth.create_session(user.user_id)
    await users.delete_user(user.user_id)
    with pytest.raises(LuciaError) as info:
        await auth.validate_session_user(session.token or "")
    assert info.value.code == "AUTH_INVALID_SESSION_ID"


async def test_b4_sign_in_is_throttled_through_redis_for_every_instance(
    users: SQLiteAdapter, sessions: RedisSessionAdapter, redis_client: Redis, clock: FakeClock
) -> None:
    """Two ``Lucia`` instances (two workers) on one ``RedisThrottleStore``: failures on one throttle the other."""
    store = RedisThrottleStore(redis_client, key_prefix=sessions.key_prefix)
    workers = [
        Lucia(
            adapter={"user": users, "session": sessions},
            clock=clock,
            password_hasher=fast_password_hasher(),
            throttle=Throttle(store=store, max_failures=3),
        )
        for _ in range(2)
    ]
    await workers[0].create_user(
        primary_key={"provider_id": "email", "provider_user_id": "eve@example.com", "password": "right"},
        attributes={"username": "eve"},
    )
    for _ in range(3):
        with pytest.raises(InvalidPasswordError):
            await workers[0].use_key("email", "eve@example.com", "wrong")
    with pytest.raises(TooManyRequestsError) as info:
        await workers[1].use_key("email", "eve@example.com", "right")
    assert 0 < info.value.retry_after <= 1
    clock.advance(timedelta(seconds=1))
    key = await workers[1].use_key("email", "eve@example.com", "right")
    session = await workers[1].create_session(key.user_id)
    assert (await workers[0].validate_session(session.token or "")).user_id == key.user_id
    await store.delete_expired(int(clock() * 1000) + 10**10)
