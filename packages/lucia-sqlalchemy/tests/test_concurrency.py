"""Races and killed connections, through Lucia, on the real servers (D1, T1)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import anyio
import pytest
from sqlalchemy.exc import DBAPIError

from lucia import LuciaError, User

pytestmark = pytest.mark.anyio

#: Users that exist without their primary key: after any fault this must stay empty.
ORPHANS = (
    "SELECT u.id FROM auth_user u WHERE NOT EXISTS "
    "(SELECT 1 FROM auth_key k WHERE k.user_id = u.id AND k.primary_key = TRUE)"
)


async def _gather(count: int, call: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Run ``call`` ``count`` times concurrently; each result or exception, in order."""
    results: list[Any] = [None] * count

    async def one(index: int) -> None:
        try:
            results[index] = await call()
        except Exception as exc:
            results[index] = exc

    async with anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(one, index)
    return results


def _email_key(email: str) -> dict[str, Any]:
    return {"provider_id": "email", "provider_user_id": email, "password": None}


async def test_d1_50_concurrent_sign_ups_with_one_key_create_one_user(database: Any, stack: Any) -> None:
    """50 concurrent ``create_user`` with one primary key: 1 user, 49 ``AUTH_DUPLICATE_KEY_ID``."""
    email = f"race-{secrets.token_hex(4)}@example.com"
    results = await _gather(
        50, lambda: stack.auth.create_user(primary_key=_email_key(email), attributes={"username": "racer"})
    )
    winners = [r for r in results if isinstance(r, User)]
    errors = [r for r in results if isinstance(r, LuciaError)]
    assert len(winners) == 1, results
    assert len(errors) == 49 and {e.code for e in errors} == {"AUTH_DUPLICATE_KEY_ID"}
    assert await database.rows("SELECT id FROM auth_user") == [(winners[0].user_id,)]
    assert await database.rows("SELECT user_id FROM auth_key") == [(winners[0].user_id,)]


@pytest.mark.parametrize("delete_returning", [None, False], ids=["dialect-default", "select-for-update"])
async def test_t1_20_concurrent_use_key_on_one_single_use_key_one_success(
    database: Any, stack_factory: Any, delete_returning: bool | None
) -> None:
    """20 concurrent ``use_key`` on one single-use key: exactly one succeeds, the key is gone."""
    auth = (await stack_factory(database, delete_returning=delete_returning)).auth
    user = await auth.create_user(primary_key=None, attributes={"username": "otp"})
    token = secrets.token_hex(8)
    await auth.create_key(
        user.user_id, provider_id="otp", provider_user_id=token, password=None, expires_in=timedelta(hours=1)
    )
    results = await _gather(20, lambda: auth.use_key("otp", token, None))
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1, results
    assert {r.code for r in results if isinstance(r, LuciaError)} == {"AUTH_INVALID_KEY_ID"}
    assert await database.rows("SELECT id FROM auth_key") == []


# -- a server kills the adapter's connections mid-workload ------------------------------


async def _server_id(database: Any, conn: Any) -> int:
    sql = "SELECT pg_backend_pid()" if database.kind == "postgresql" else "SELECT CONNECTION_ID()"
    return int((await database.fetch(conn, sql))[0][0])


async def _lock_waiters(database: Any, conn: Any) -> list[int]:
    """The connections to the database whose statement waits on a row lock."""
    if database.kind == "postgresql":
        sql = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = %s"
        params: tuple[Any, ...] = (database.name, "Lock")
    else:  # MariaDB's INNODB_TRX is a cached view; the process list is current
        sql = (
            "SELECT ID FROM information_schema.PROCESSLIST "
            "WHERE DB = %s AND ID <> CONNECTION_ID() AND COMMAND = %s AND INFO LIKE %s"
        )
        params = (database.name, "Query", "INSERT%")
    return [int(row[0]) for row in await database.fetch(conn, sql, params)]


async def _kill_all_but(database: Any, conn: Any, spared: int) -> int:
    """Kill every connection to the database except ``spared`` and ``conn``; return how many."""
    if database.kind == "postgresql":
        sql = (
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid() AND pid <> %s"
        )
        return len(await database.fetch(conn, sql, (database.name, spared)))
    sql = "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID() AND ID <> %s"
    ids = [int(row[0]) for row in await database.fetch(conn, sql, (database.name, spared))]
    for thread_id in ids:
        await database.fetch(conn, f"KILL CONNECTION {thread_id}")
    return len(ids)


async def test_d1_killed_connection_fails_the_call_in_flight_and_the_pool_recovers(
    server_database: Any, server_stack: Any
) -> None:
    """A connection killed by the server mid-``create_user`` raises; later calls succeed; no orphan user."""
    database, auth = server_database, server_stack.auth
    # A workload first, so the pool holds several connections that the kill will hit too.
    users = await _gather(
        8,
        lambda: auth.create_user(
            primary_key=_email_key(f"warm-{secrets.token_hex(4)}@example.com"), attributes={"username": "warm"}
        ),
    )
    assert all(isinstance(u, User) for u in users), users
    victim_email = f"victim-{secrets.token_hex(4)}@example.com"
    outcome: dict[str, Any] = {}

    async def victim() -> None:
        try:
            outcome["user"] = await auth.create_user(
                primary_key=_email_key(victim_email), attributes={"username": "victim"}
            )
        except Exception as exc:
            outcome["error"] = exc

    async with database.raw() as blocker, database.raw() as killer:
        # The blocker holds the victim's key id in an open transaction, so the adapter's
        # insert waits on the server: the call is in flight when its connection dies.
        await database.fetch(blocker, "BEGIN")
        await database.fetch(blocker, "INSERT INTO auth_user (id, username) VALUES ('blocker', 'b')")
        await database.fetch(
            blocker,
            "INSERT INTO auth_key (id, user_id, primary_key) VALUES (%s, 'blocker', TRUE)",
            (f"email:{victim_email}",),
        )
        blocker_id = await _server_id(database, blocker)
        async with anyio.create_task_group() as group:
            group.start_soon(victim)
            for _ in range(1000):  # wait (bounded) until the victim's insert is blocked
                if await _lock_waiters(database, killer):
                    break
                await anyio.sleep(0.01)
            else:
                pytest.fail("the adapter's insert never waited on the blocker's lock")
            assert await _kill_all_but(database, killer, blocker_id) >= 1
        await database.fetch(blocker, "ROLLBACK")

    assert "user" not in outcome, "a killed call must not report success"
    assert isinstance(outcome["error"], DBAPIError) and not isinstance(outcome["error"], LuciaError)
    later = await _gather(
        20,
        lambda: auth.create_user(
            primary_key=_email_key(f"after-{secrets.token_hex(4)}@example.com"), attributes={"username": "after"}
        ),
    )
    assert all(isinstance(u, User) for u in later), later
    retried = await auth.create_user(primary_key=_email_key(victim_email), attributes={"username": "victim"})
    session = await auth.create_session(retried.user_id)
    assert (await auth.validate_session_user(session.token or ""))[1].user_id == retried.user_id
    assert await database.rows(ORPHANS) == []
    assert len(await database.rows("SELECT id FROM auth_user")) == 8 + 20 + 1
