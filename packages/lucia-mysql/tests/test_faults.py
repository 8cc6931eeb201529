"""Concurrency, server faults and the security promises, on the real MariaDB/MySQL server."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiomysql
import anyio
import pytest

from lucia import Lucia, LuciaError
from lucia.testing import CONFORMANCE_USER_COLUMNS, fast_password_hasher
from lucia_mysql import MySQLAdapter

from .test_adapter import empty_tables, raw_connection

pytestmark = pytest.mark.anyio

AWKWARD = (
    "o'brien\"; DROP TABLE auth_user; --",
    "%s %% ? $1 :name \\ {curly} `tick`",
    "emoji 🧑‍💻🔐 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "שלום עולם مرحبا",
)


@pytest.fixture
async def adapter(database_url: str) -> AsyncIterator[MySQLAdapter]:
    async with MySQLAdapter(database_url, pool_options={"maxsize": 20}) as adapter:
        await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
        await empty_tables(database_url)
        yield adapter


@pytest.fixture
def auth(adapter: MySQLAdapter) -> Lucia:
    return Lucia(adapter=adapter, password_hasher=fast_password_hasher())


@pytest.fixture
async def raw(database_url: str) -> AsyncIterator[aiomysql.Connection]:
    """A separate connection, as an administrator would have."""
    conn = await raw_connection(database_url)
    yield conn
    conn.close()


async def query(conn: aiomysql.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    async with conn.cursor() as cursor:
        await cursor.execute(sql, params)
        return list(await cursor.fetchall())


async def users_without_primary_key(conn: aiomysql.Connection) -> int:
    rows = await query(
        conn,
        "SELECT count(*) FROM auth_user u WHERE NOT EXISTS "
        "(SELECT 1 FROM auth_key k WHERE k.user_id = u.id AND k.primary_key)",
    )
    return int(rows[0][0])


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


async def waiting_threads(conn: aiomysql.Connection, table: str, count: int) -> list[int]:
    """The ids of ``count`` connections of this database waiting on ``table`` (waits until there are that many)."""
    with anyio.fail_after(20):
        while True:
            rows = await query(
                conn,
                "SELECT id FROM information_schema.PROCESSLIST WHERE db = DATABASE() AND id <> CONNECTION_ID() "
                "AND state LIKE '%%lock%%' AND info LIKE %s ORDER BY id",
                (f"%`{table}`%",),
            )
            if len(rows) >= count:
                return [row[0] for row in rows]
            await anyio.sleep(0.02)


async def test_d1_50_concurrent_sign_ups_with_one_key_have_one_winner(auth: Lucia, raw: aiomysql.Connection) -> None:
    """50 concurrent ``create_user`` with one primary key: 1 user, 49 ``AUTH_DUPLICATE_KEY_ID``."""
    key = {"provider_id": "email", "provider_user_id": "race@example.com", "password": None}
    results = await gather([lambda: auth.create_user(primary_key=key, attributes={"username": "r"})] * 50)
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(results) - len(errors) == 1
    assert len(errors) == 49 and all(isinstance(e, LuciaError) for e in errors)
    assert {e.code for e in errors} == {"AUTH_DUPLICATE_KEY_ID"}
    assert (await query(raw, "SELECT count(*) FROM auth_user"))[0][0] == 1
    assert await users_without_primary_key(raw) == 0


@pytest.mark.parametrize("delete_returning", [True, False], ids=["mariadb-returning", "mysql8-locking"])
async def test_t1_20_concurrent_use_key_on_a_single_use_key_have_one_winner(
    database_url: str, delete_returning: bool
) -> None:
    """20 concurrent ``use_key`` on one single-use key: exactly one succeeds, on both code paths."""
    async with MySQLAdapter(database_url, pool_options={"maxsize": 20}, delete_returning=delete_returning) as adapter:
        await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS)
        auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
        user = await auth.create_user(primary_key=None, attributes={"username": "otp"})
        provider_user_id = f"otp-{delete_returning}-{user.user_id}"
        await auth.create_key(
            user.user_id,
            provider_id="otp",
            provider_user_id=provider_user_id,
            password=None,
            expires_in=timedelta(minutes=5),
        )
        results = await gather([lambda: auth.use_key("otp", provider_user_id, None)] * 20)
        assert sum(1 for r in results if not isinstance(r, Exception)) == 1
        assert {r.code for r in results if isinstance(r, LuciaError)} == {"AUTH_INVALID_KEY_ID"}


async def test_d1_killed_connection_mid_sign_up_leaves_no_user_without_its_key(
    auth: Lucia, raw: aiomysql.Connection
) -> None:
    """``KILL CONNECTION`` mid-``create_user``: that call raises, the others and later ones succeed."""

    def sign_up(provider_user_id: str) -> Callable[[], Awaitable[Any]]:
        key = {"provider_id": "email", "provider_user_id": provider_user_id, "password": None}
        return lambda: auth.create_user(primary_key=key, attributes={"username": provider_user_id})

    outcome: list[Any] = []

    async def workload() -> None:
        calls = [sign_up(f"a{index}@example.com") for index in range(9)]
        outcome.extend(await gather([sign_up("z-killed@example.com"), *calls]))

    # A committed row between the two groups of ids keeps InnoDB's gap locks of the waiting
    # insert away from the others; the open transaction holds the id the victim will insert.
    await query(raw, "INSERT INTO auth_user (id) VALUES ('blocker')")
    await query(raw, "INSERT INTO auth_key VALUES ('email:m', 'blocker', TRUE, NULL, NULL)")
    await query(raw, "BEGIN")
    await query(raw, "INSERT INTO auth_key VALUES ('email:z-killed@example.com', 'blocker', FALSE, NULL, NULL)")
    async with anyio.create_task_group() as group:
        group.start_soon(workload)
        with anyio.fail_after(20):
            # The victim has written its user row and now waits on its key.
            while not (victim := await query(raw, VICTIM_QUERY)):
                await anyio.sleep(0.02)
        await query(raw, f"KILL CONNECTION {int(victim[0][0])}")
        await query(raw, "ROLLBACK")
    await query(raw, "DELETE FROM auth_key WHERE user_id = 'blocker'")
    await query(raw, "DELETE FROM auth_user WHERE id = 'blocker'")
    assert isinstance(outcome[0], aiomysql.OperationalError), outcome[0]
    assert not [r for r in outcome[1:] if isinstance(r, Exception)], outcome
    assert await users_without_primary_key(raw) == 0
    assert (await query(raw, "SELECT count(*) FROM auth_user"))[0][0] == 9
    later = await gather([sign_up(f"later{index}@example.com") for index in range(20)])
    assert not [r for r in later if isinstance(r, Exception)], later
    session = await auth.create_session(later[0].user_id)
    assert (await auth.validate_session(session.token or "")).user_id == later[0].user_id
    assert await users_without_primary_key(raw) == 0


#: The connection whose key insert waits on the row lock (InnoDB reports the wait as "Update").
VICTIM_QUERY = (
    "SELECT id FROM information_schema.PROCESSLIST WHERE db = DATABASE() AND id <> CONNECTION_ID() "
    "AND state = 'Update' AND info LIKE 'INSERT INTO `auth_key`%%z-killed@%%'"
)


async def test_d2_a_connection_killed_during_validation_never_authenticates(
    auth: Lucia, raw: aiomysql.Connection
) -> None:
    """A validation whose connection is killed raises a driver error, never returns a session."""
    user = await auth.create_user(primary_key=None, attributes={"username": "d2"})
    session = await auth.create_session(user.user_id)
    token = session.token or ""
    outcome: list[Any] = []

    async def validate() -> None:
        try:
            outcome.append(await auth.validate_session_user(token))
        except Exception as exc:
            outcome.append(exc)

    await query(raw, "LOCK TABLES auth_session WRITE")
    async with anyio.create_task_group() as group:
        group.start_soon(validate)
        (thread_id,) = await waiting_threads(raw, "auth_session", 1)
        await query(raw, f"KILL CONNECTION {int(thread_id)}")
        await query(raw, "UNLOCK TABLES")
    assert len(outcome) == 1 and isinstance(outcome[0], aiomysql.OperationalError), outcome
    assert (await auth.validate_session_user(token))[1].user_id == user.user_id


async def test_d2_a_missing_table_during_validation_never_authenticates(auth: Lucia, raw: aiomysql.Connection) -> None:
    """With the session table gone, validation raises the driver error instead of authenticating."""
    user = await auth.create_user(primary_key=None, attributes={"username": "d2"})
    session = await auth.create_session(user.user_id)
    await query(raw, "RENAME TABLE auth_session TO auth_session_away")
    try:
        with pytest.raises(aiomysql.ProgrammingError):
            await auth.validate_session_user(session.token or "")
        with pytest.raises(aiomysql.ProgrammingError):
            await auth.validate_session(session.token or "")
    finally:
        await query(raw, "RENAME TABLE auth_session_away TO auth_session")


async def test_d3_bad_input_is_refused_before_any_query(database_url: str) -> None:
    """Oversized, empty, NUL-bearing and malformed arguments fail without a pool ever being created."""
    adapter = MySQLAdapter(database_url)
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
    assert adapter.pool is None, "a query was attempted: the pool was created"


async def test_s2_the_stored_session_id_is_the_sha256_of_the_token(auth: Lucia, raw: aiomysql.Connection) -> None:
    """The session table holds SHA-256(token) and nowhere the token itself."""
    user = await auth.create_user(primary_key=None, attributes={"username": "s2"})
    session = await auth.create_session(user.user_id)
    token = session.token or ""
    assert await query(raw, "SELECT id FROM auth_session") == [(hashlib.sha256(token.encode()).hexdigest(),)]
    dump = repr(await query(raw, "SELECT * FROM auth_session, auth_user, auth_key"))
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
