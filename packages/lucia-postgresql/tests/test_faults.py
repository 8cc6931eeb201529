"""Concurrency, server faults and the security promises, on the real PostgreSQL server."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import anyio
import psycopg
import pytest

from lucia import Lucia, LuciaError
from lucia.testing import CONFORMANCE_USER_COLUMNS, fast_password_hasher
from lucia_postgresql import PostgresAdapter

pytestmark = pytest.mark.anyio

AWKWARD = (
    "o'brien\"; DROP TABLE auth_user; --",
    "%s %% ? $1 :name \\ {curly} `tick`",
    "emoji 🧑‍💻🔐 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "שלום עולם مرحبا",
)


@pytest.fixture
async def adapter(database_url: str) -> AsyncIterator[PostgresAdapter]:
    async with PostgresAdapter(database_url, pool_options={"min_size": 2, "max_size": 20}) as adapter:
        await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            await conn.execute("TRUNCATE auth_session, auth_key, auth_user")
        yield adapter


@pytest.fixture
def auth(adapter: PostgresAdapter) -> Lucia:
    return Lucia(adapter=adapter, password_hasher=fast_password_hasher())


@pytest.fixture
async def raw(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A separate connection, as an administrator would have."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        yield conn


async def scalar(conn: psycopg.AsyncConnection[Any], query: str) -> Any:
    row = await (await conn.execute(query)).fetchone()
    assert row is not None
    return row[0]


async def users_without_primary_key(conn: psycopg.AsyncConnection[Any]) -> int:
    count: int = await scalar(
        conn,
        "SELECT count(*) FROM auth_user u WHERE NOT EXISTS "
        "(SELECT 1 FROM auth_key k WHERE k.user_id = u.id AND k.primary_key)",
    )
    return count


async def gather(calls: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Run the calls concurrently; return each result or exception."""
    results: list[Any] = [None] * len(calls)

    async def one(index: int) -> None:
        try:
            results[index] = await calls[index]()
        except Exception as exc:
            results[index] = exc

    async with anyio.create_task_group() as group:
        for index in range(len(calls)):
            group.start_soon(one, index)
    return results


async def waiting_backends(conn: psycopg.AsyncConnection[Any], count: int) -> list[int]:
    """The pids of ``count`` backends of this database blocked on a lock (waits until there are that many)."""
    with anyio.fail_after(20):
        while True:
            # Inside a transaction pg_stat_activity is a snapshot: take a new one each time.
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            cursor = await conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() ORDER BY pid"
            )
            pids = [row[0] for row in await cursor.fetchall()]
            if len(pids) >= count:
                return pids
            await anyio.sleep(0.02)


async def test_d1_50_concurrent_sign_ups_with_one_key_have_one_winner(
    auth: Lucia, raw: psycopg.AsyncConnection[Any]
) -> None:
    """50 concurrent ``create_user`` with one primary key: 1 user, 49 ``AUTH_DUPLICATE_KEY_ID``."""
    key = {"provider_id": "email", "provider_user_id": "race@example.com", "password": None}
    results = await gather([lambda: auth.create_user(primary_key=key, attributes={"username": "r"})] * 50)
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(results) - len(errors) == 1
    assert len(errors) == 49 and all(isinstance(e, LuciaError) for e in errors)
    assert {e.code for e in errors} == {"AUTH_DUPLICATE_KEY_ID"}
    assert await scalar(raw, "SELECT count(*) FROM auth_user") == 1
    assert await users_without_primary_key(raw) == 0


async def test_t1_20_concurrent_use_key_on_a_single_use_key_have_one_winner(auth: Lucia) -> None:
    """20 concurrent ``use_key`` on one single-use key: exactly one succeeds."""
    user = await auth.create_user(primary_key=None, attributes={"username": "otp"})
    await auth.create_key(
        user.user_id, provider_id="otp", provider_user_id="123456", password=None, expires_in=timedelta(minutes=5)
    )
    results = await gather([lambda: auth.use_key("otp", "123456", None)] * 20)
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1
    assert {r.code for r in results if isinstance(r, LuciaError)} == {"AUTH_INVALID_KEY_ID"}


async def test_d1_killed_connections_mid_sign_up_leave_no_user_without_its_key(
    auth: Lucia, adapter: PostgresAdapter, raw: psycopg.AsyncConnection[Any]
) -> None:
    """``pg_terminate_backend`` mid-``create_user``: those calls raise, the rest and later ones succeed."""

    def sign_up(index: int) -> Callable[[], Awaitable[Any]]:
        key = {"provider_id": "email", "provider_user_id": f"kill{index}@example.com", "password": None}
        return lambda: auth.create_user(primary_key=key, attributes={"username": f"k{index}"})

    outcome: list[Any] = []

    async def workload() -> None:
        outcome.extend(await gather([sign_up(i) for i in range(10)]))

    await raw.execute("BEGIN")
    # Every key insert now waits: each sign-up is in flight, its user row already written.
    await raw.execute("LOCK TABLE auth_key IN EXCLUSIVE MODE")
    async with anyio.create_task_group() as group:
        group.start_soon(workload)
        pids = await waiting_backends(raw, 10)
        for pid in pids[:5]:
            await raw.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await raw.execute("COMMIT")
    failures = [r for r in outcome if isinstance(r, Exception)]
    assert len(failures) == 5
    assert all(isinstance(f, psycopg.OperationalError) for f in failures), failures
    assert await users_without_primary_key(raw) == 0
    assert await scalar(raw, "SELECT count(*) FROM auth_user") == 5
    later = await gather([sign_up(i) for i in range(10, 30)])
    assert not [r for r in later if isinstance(r, Exception)], later
    session = await auth.create_session(later[0].user_id)
    assert (await auth.validate_session(session.token or "")).user_id == later[0].user_id
    assert await users_without_primary_key(raw) == 0


async def test_d2_a_connection_killed_during_validation_never_authenticates(
    auth: Lucia, raw: psycopg.AsyncConnection[Any]
) -> None:
    """A validation whose connection is terminated raises a driver error, never returns a session."""
    user = await auth.create_user(primary_key=None, attributes={"username": "d2"})
    session = await auth.create_session(user.user_id)
    token = session.token or ""
    outcome: list[Any] = []

    async def validate() -> None:
        try:
            outcome.append(await auth.validate_session_user(token))
        except Exception as exc:
            outcome.append(exc)

    await raw.execute("BEGIN")
    await raw.execute("LOCK TABLE auth_session IN ACCESS EXCLUSIVE MODE")
    async with anyio.create_task_group() as group:
        group.start_soon(validate)
        (pid,) = await waiting_backends(raw, 1)
        await raw.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await raw.execute("COMMIT")
    assert len(outcome) == 1 and isinstance(outcome[0], psycopg.OperationalError), outcome
    assert (await auth.validate_session_user(token))[1].user_id == user.user_id


async def test_d2_a_missing_table_during_validation_never_authenticates(
    auth: Lucia, raw: psycopg.AsyncConnection[Any]
) -> None:
    """With the session table gone, validation raises the driver error instead of authenticating."""
    user = await auth.create_user(primary_key=None, attributes={"username": "d2"})
    session = await auth.create_session(user.user_id)
    await raw.execute("ALTER TABLE auth_session RENAME TO auth_session_away")
    try:
        with pytest.raises(psycopg.errors.UndefinedTable):
            await auth.validate_session_user(session.token or "")
        with pytest.raises(psycopg.errors.UndefinedTable):
            await auth.validate_session(session.token or "")
    finally:
        await raw.execute("ALTER TABLE auth_session_away RENAME TO auth_session")


async def test_d3_bad_input_is_refused_before_any_query(database_url: str) -> None:
    """Oversized, empty, NUL-bearing and malformed arguments fail without the pool ever opening."""
    adapter = PostgresAdapter(database_url)
    auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
    too_long = "x" * 256
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: auth.get_user(""),
        lambda: auth.get_user(too_long),
        lambda: auth.get_user("nul\x00id"),
        lambda: auth.create_user(primary_key=None, attributes={"bad name; --": 1}),
        lambda: auth.create_user(
            primary_key={"provider_id": "e:mail", "provider_user_id": "a", "password": None}, attributes={}
        ),
        lambda: auth.create_user(
            primary_key={"provider_id": "email", "provider_user_id": too_long, "password": None}, attributes={}
        ),
        lambda: auth.use_key("email", "a@example.com", "p" * 5000),
        lambda: auth.create_session(too_long),
        lambda: auth.validate_session("not a token"),
        lambda: auth.validate_session_user("x" * 10_000),
        lambda: auth.invalidate_all_user_sessions(""),
    ]
    for call in calls:
        with pytest.raises(LuciaError) as info:
            await call()
        assert info.value.code in {"AUTH_INVALID_INPUT", "AUTH_INVALID_SESSION_ID"}
    assert adapter.pool.closed, "a query was attempted: the pool was opened"


async def test_s2_the_stored_session_id_is_the_sha256_of_the_token(
    auth: Lucia, raw: psycopg.AsyncConnection[Any]
) -> None:
    """The session table holds SHA-256(token) and nowhere the token itself."""
    user = await auth.create_user(primary_key=None, attributes={"username": "s2"})
    session = await auth.create_session(user.user_id)
    token = session.token or ""
    rows = await (await raw.execute("SELECT id FROM auth_session")).fetchall()
    assert rows == [(hashlib.sha256(token.encode()).hexdigest(),)]
    dump = repr(await (await raw.execute("SELECT * FROM auth_session, auth_user, auth_key")).fetchall())
    assert token not in dump


async def test_unicode_large_and_metacharacter_values_round_trip_through_lucia(auth: Lucia) -> None:
    """Emoji, right-to-left text, SQL metacharacters and 100 KB values survive every call exactly."""
    for index, text in enumerate((*AWKWARD, "🔐" + "x" * 100_000 + "√")):
        provider_user_id = f"{text[:200]}{index}"
        password = text[:1000]
        user = await auth.create_user(
            primary_key={"provider_id": "email", "provider_user_id": provider_user_id, "password": password},
            attributes={"username": text},
        )
        assert (await auth.get_user(user.user_id)).attributes["username"] == text
        key = await auth.use_key("email", provider_user_id, password)
        assert (key.provider_user_id, key.user_id) == (provider_user_id, user.user_id)
        updated = await auth.update_user_attributes(user.user_id, {"username": text[::-1]})
        assert updated.attributes["username"] == text[::-1]
        session, got = await auth.validate_session_user((await auth.create_session(user.user_id)).token or "")
        assert got.attributes["username"] == text[::-1] and session.user_id == user.user_id


async def test_a_user_column_added_while_running_is_picked_up(auth: Lucia, raw: psycopg.AsyncConnection[Any]) -> None:
    """Prepared ``SELECT *`` statements survive ``ALTER TABLE``: the new column shows, nothing fails."""
    user = await auth.create_user(primary_key=None, attributes={"username": "migrated"})
    token = (await auth.create_session(user.user_id)).token or ""
    for _ in range(3):  # every pooled connection has the statements prepared by now
        await auth.validate_session_user(token)
        await auth.get_user(user.user_id)
    await raw.execute("ALTER TABLE auth_user ADD COLUMN email TEXT")
    try:
        for _ in range(3):
            assert (await auth.validate_session_user(token))[1].attributes == {"username": "migrated", "email": None}
            assert (await auth.get_user(user.user_id)).attributes == {"username": "migrated", "email": None}
    finally:
        await raw.execute("ALTER TABLE auth_user DROP COLUMN email")
