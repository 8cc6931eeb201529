"""Races and killed connections, through Lucia, on the real servers (D1, T1)."""

from __future__ import annotations

import dataclasses
import secrets
import subprocess
import sys
from datetime import timedelta
from typing import Any

import anyio
import pytest
from sqlalchemy.exc import DBAPIError

from lucia import LuciaError, StorageUnavailableError, User
from lucia.testing import gather_outcomes
from lucia.testing._harness import session_row

pytestmark = pytest.mark.anyio

#: Users that exist without their primary key: after any fault this must stay empty.
ORPHANS = (
    "SELECT u.id FROM auth_user u WHERE NOT EXISTS "
    "(SELECT 1 FROM auth_key k WHERE k.user_id = u.id AND k.primary_key = TRUE)"
)


def _email_key(email: str) -> dict[str, Any]:
    return {"provider_id": "email", "provider_user_id": email, "password": None}


async def test_d1_50_concurrent_sign_ups_with_one_key_create_one_user(database: Any, stack: Any) -> None:
    """50 concurrent ``create_user`` with one primary key: 1 user, 49 ``AUTH_DUPLICATE_KEY_ID``."""
    email = f"race-{secrets.token_hex(4)}@example.com"
    results = await gather_outcomes(
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
    results = await gather_outcomes(20, lambda: auth.use_key("otp", token, None))
    assert sum(1 for r in results if not isinstance(r, Exception)) == 1, results
    assert {r.code for r in results if isinstance(r, LuciaError)} == {"AUTH_INVALID_KEY_ID"}
    assert await database.rows("SELECT id FROM auth_key") == []


# -- a server kills the adapter's connections mid-workload ------------------------------


async def _server_id(database: Any, conn: Any) -> int:
    sql = "SELECT pg_backend_pid()" if database.kind == "postgresql" else "SELECT CONNECTION_ID()"
    return int((await database.fetch(conn, sql))[0][0])


async def _lock_waiters(database: Any, conn: Any, statement: str = "INSERT") -> list[int]:
    """The connections to the database whose statement (an INSERT, say) waits on a row lock."""
    if database.kind == "postgresql":
        sql = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = %s AND query LIKE %s"
        params: tuple[Any, ...] = (database.name, "Lock", f"{statement}%")
    else:  # MariaDB's INNODB_TRX is a cached view; the process list is current
        sql = (
            "SELECT ID FROM information_schema.PROCESSLIST "
            "WHERE DB = %s AND ID <> CONNECTION_ID() AND COMMAND = %s AND INFO LIKE %s"
        )
        params = (database.name, "Query", f"{statement}%")
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
    """A connection killed mid-``create_user`` raises ``StorageUnavailableError``; later calls succeed; no orphan."""
    database, auth = server_database, server_stack.auth
    # A workload first, so the pool holds several connections that the kill will hit too.
    users = await gather_outcomes(
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
    assert isinstance(outcome["error"], StorageUnavailableError), outcome["error"]
    assert isinstance(outcome["error"].__cause__, DBAPIError)  # the driver's error, for the logs
    later = await gather_outcomes(
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


async def test_a_write_chosen_as_a_deadlock_victim_runs_again(server_database: Any, server_stack: Any) -> None:
    """A revocation the database rolls back to break a deadlock is retried: the call succeeds, nothing survives."""
    database, auth, adapter = server_database, server_stack.auth, server_stack.adapter
    user = await auth.create_user(primary_key=None, attributes={"username": "victim"})
    other = await auth.create_user(primary_key=None, attributes={"username": "bystander"})
    # Ids in this order whatever index a scan uses: the revocation locks "aaa..." before "bbb...".
    first, second = (dataclasses.replace(session_row(user.user_id), id=c * 64) for c in "ab")
    bystanders = [dataclasses.replace(session_row(other.user_id), id=f"z{n:063d}") for n in range(50)]
    for row in (first, second, *bystanders):
        await adapter.set_session(row)
    outcome: dict[str, Any] = {}

    async def revoke() -> None:
        try:
            await adapter.delete_sessions_by_user_id(user.user_id)  # locks "aaa..." then waits on "bbb..."
            outcome["done"] = True
        except Exception as exc:
            outcome["error"] = exc

    touch = "UPDATE auth_session SET idle_expires = idle_expires + 1 WHERE "
    async with database.raw() as holder, database.raw() as watcher:
        await database.fetch(holder, "BEGIN")
        await database.fetch(holder, touch + "id >= %s", ("z",))  # 50 bystander rows: the heavier transaction
        await database.fetch(holder, touch + "id = %s", (second.id,))
        async with anyio.create_task_group() as group:
            group.start_soon(revoke)
            for _ in range(1000):  # wait (bounded) until the revocation waits on the holder's row
                if await _lock_waiters(database, watcher, "DELETE"):
                    break
                await anyio.sleep(0.01)
            else:
                pytest.fail("the revocation never waited on the holder's lock")
            await database.fetch(holder, touch + "id = %s", (first.id,))  # the cycle: one of the two must go
            await database.fetch(holder, "COMMIT")
    assert outcome == {"done": True}, outcome
    assert await adapter.get_sessions_by_user_id(user.user_id) == []


_FORKED_WORKER = """
import os, sys
from lucia import Lucia, SyncLucia
from lucia_sqlalchemy import SQLAlchemyAdapter

adapter = SQLAlchemyAdapter.from_url({url!r})
sync = SyncLucia(Lucia(adapter=adapter))
sync.call(adapter.create_schema)                  # the pool holds connections before the fork
user = sync.create_user(primary_key=None, attributes={{}})
pid = os.fork()
if pid == 0:                                      # the worker (gunicorn --preload)
    try:
        for _ in range(3):
            session = sync.create_session(user.user_id)
            assert sync.validate_session(session.token).user_id == user.user_id
    except BaseException as exc:
        print("worker:", repr(exc), file=sys.stderr)
        os._exit(1)
    os._exit(0)
_, status = os.waitpid(pid, 0)
session = sync.create_session(user.user_id)       # the parent's connections still work too
assert sync.validate_session(session.token).user_id == user.user_id
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.parametrize("database", ["postgresql", "mariadb", "sqlite"], indirect=True)
def test_a_worker_forked_after_start_up_gets_its_own_connections(database: Any) -> None:
    """``gunicorn --preload``: the engine's pool used before ``fork()`` is not shared with the worker (#19.1)."""
    script = _FORKED_WORKER.format(url=database.url.render_as_string(hide_password=False))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
