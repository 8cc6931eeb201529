"""PostgreSQL and MariaDB adapters next to their raw drivers doing the same work.

For each server: a fresh database seeded with 100,000 users, each with a primary key and a
session (so the indexes matter), then

* ``validate_session_user`` (one joined query through ``PostgresAdapter`` / ``MySQLAdapter``)
  against the raw driver running the same join on the same pool settings, sequentially and
  from 16 concurrent tasks;
* ``create_user`` with a primary key and ``password=None`` (no hashing) against the raw
  driver inserting the user and the key in one transaction.

Servers come from LUCIA_TEST_POSTGRES_URL / LUCIA_TEST_MYSQL_URL (default: the local ones);
a missing server is reported and its part skipped. Ours and raw are timed call by call,
interleaved, so load from other processes hits both alike. The databases are dropped at
the end. Prints a report; asserts nothing.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio

sys.path.insert(0, str(Path(__file__).parent))
from _report import rate, row

from lucia import Lucia
from lucia._crypto import generate_random_id, generate_token, hash_token
from lucia.adapters.sql import MYSQL, POSTGRESQL, SQLStatements
from lucia.testing import fast_password_hasher
from lucia.testing.services import unique_name
from lucia_testkit import MYSQL_URL, POSTGRES_URL, mysql_connect_args

BASE_SESSION_COLUMNS = ("id", "user_id", "active_expires", "idle_expires")

SEED_USERS = 100_000
SAMPLE_TOKENS = 5_000
VALIDATE_COUNT = 2_000
VALIDATE_CONCURRENT_COUNT = 4_000
CREATE_COUNT = 300
CONCURRENCY = 16
POOL_SIZE = CONCURRENCY
TARGET = 0.9
DAY_MS = 86_400_000


def seed_rows() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[str]]:
    """Users, primary keys and live sessions for SEED_USERS users; the tokens of a sample."""
    expires = int(time.time() * 1000) + DAY_MS
    users, keys, sessions, tokens = [], [], [], []
    for index in range(SEED_USERS):
        user_id = f"seed{index:011d}"
        token = generate_token()
        users.append((user_id, f"user {index}"))
        keys.append((f"email:seed{index}@example.com", user_id, True, None, None))
        sessions.append((hash_token(token), user_id, expires, expires + 13 * DAY_MS))
        if index % (SEED_USERS // SAMPLE_TOKENS) == 0:
            tokens.append(token)
    return users, keys, sessions, tokens


async def compare(
    label: str,
    ours: Callable[[], Awaitable[object]],
    raw: Callable[[], Awaitable[object]],
    total: int,
    concurrency: int,
) -> str:
    """Ours and raw measured call by call, interleaved, from ``concurrency`` tasks.

    Each task alternates one call of ours and one raw call (swapping the order every
    time) and adds up the time each side took. Both sides thus run under the same load,
    whatever else the machine is doing; a side's rate is its calls over the time spent in
    them (per task, times the number of tasks). Sequentially, the client CPU per call is
    measured the same way.
    """
    spent = {"ours": 0.0, "raw": 0.0}
    cpu = {"ours": 0.0, "raw": 0.0}
    per_task = total // concurrency

    async def timed(side: str, call: Callable[[], Awaitable[object]]) -> None:
        wall, started_cpu = time.perf_counter(), time.process_time()
        await call()
        spent[side] += time.perf_counter() - wall
        cpu[side] += time.process_time() - started_cpu

    async def worker() -> None:
        for index in range(per_task):
            pair = (("ours", ours), ("raw", raw)) if index % 2 else (("raw", raw), ("ours", ours))
            for side, call in pair:
                await timed(side, call)

    await rate(ours, min(total, 200), concurrency=concurrency)  # warm-up: pools, prepared statements
    await rate(raw, min(total, 200), concurrency=concurrency)
    async with anyio.create_task_group() as group:
        for _ in range(concurrency):
            group.start_soon(worker)
    calls = per_task * concurrency
    line = row(label, calls * concurrency / spent["ours"], calls * concurrency / spent["raw"], TARGET)
    if concurrency == 1:
        line += (
            f"\n  {'':<44} client CPU per call: ours {cpu['ours'] / calls * 1e6:.0f} us,"
            f" raw {cpu['raw'] / calls * 1e6:.0f} us"
        )
    return line


def cycling(items: list[str]) -> Callable[[], str]:
    position = count()
    return lambda: items[next(position) % len(items)]


async def run_suite(
    name: str,
    auth: Lucia,
    tokens: list[str],
    raw_join: Callable[[str], Awaitable[object]],
    raw_create: Callable[[str, str], Awaitable[object]],
) -> list[str]:
    lines = [f"{name}:"]
    ours_token, raw_token = cycling(tokens), cycling(tokens)

    async def ours_validate() -> object:
        return await auth.validate_session_user(ours_token())

    async def raw_validate() -> object:
        return await raw_join(hash_token(raw_token()))

    lines.append(await compare("validate_session_user, sequential", ours_validate, raw_validate, VALIDATE_COUNT, 1))
    lines.append(
        await compare(
            f"validate_session_user, {CONCURRENCY} tasks",
            ours_validate,
            raw_validate,
            VALIDATE_CONCURRENT_COUNT,
            CONCURRENCY,
        )
    )
    run = secrets.token_hex(4)
    serial = count()

    async def ours_create() -> object:
        n = next(serial)
        return await auth.create_user(
            primary_key={"provider_id": "email", "provider_user_id": f"o{run}{n}@example.com", "password": None},
            attributes={"username": f"ours {n}"},
        )

    async def raw_create_user() -> object:
        n = next(serial)
        # The same random user ids as Lucia's default generator: InnoDB and B-trees care.
        return await raw_create(generate_random_id(), f"email:r{run}{n}@example.com")

    lines.append(
        await compare(
            "create_user (primary key, no password), sequential", ours_create, raw_create_user, CREATE_COUNT, 1
        )
    )
    lines.append(
        await compare(
            f"create_user (primary key, no password), {CONCURRENCY} tasks",
            ours_create,
            raw_create_user,
            CREATE_COUNT * 3,
            CONCURRENCY,
        )
    )
    return lines


# -- PostgreSQL --------------------------------------------------------------------------


async def bench_postgresql() -> list[str]:
    import psycopg
    from psycopg.conninfo import make_conninfo
    from psycopg_pool import AsyncConnectionPool

    from lucia_postgresql import PostgresAdapter

    try:
        admin = await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        return [f"PostgreSQL: skipped, cannot connect to {POSTGRES_URL}: {exc}"]
    name = unique_name("lucia_bench")
    await admin.execute(f"CREATE DATABASE {name}")
    url = make_conninfo(POSTGRES_URL, dbname=name)
    try:
        pool_options = {"min_size": POOL_SIZE, "max_size": POOL_SIZE}
        async with (
            PostgresAdapter(url, pool_options=pool_options) as adapter,
            AsyncConnectionPool(url, open=False, kwargs={"autocommit": True}, **pool_options) as raw_pool,
        ):
            await adapter.create_schema(user_columns={"username": "text"})
            started = time.perf_counter()
            users, keys, sessions, tokens = seed_rows()
            async with await psycopg.AsyncConnection.connect(url) as conn:
                cursor = conn.cursor()
                for table, columns, rows in (
                    ("auth_user", "id, username", users),
                    ("auth_key", "id, user_id, primary_key, hashed_password, expires", keys),
                    ("auth_session", "id, user_id, active_expires, idle_expires", sessions),
                ):
                    async with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for record in rows:
                            await copy.write_row(record)
                await conn.commit()
                await conn.execute("ANALYZE")
            seeded = f"  seeded {SEED_USERS:,} users, keys and sessions in {time.perf_counter() - started:.1f}s"
            await raw_pool.wait()
            sql = SQLStatements(POSTGRESQL)
            auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())

            async def raw_join(session_id: str) -> object:
                async with raw_pool.connection() as conn:
                    cursor = await conn.execute(sql.get_session_and_user, (session_id,))
                    return await cursor.fetchone()

            async def raw_create(user_id: str, key_id: str) -> object:
                async with raw_pool.connection() as conn, conn.transaction():
                    await conn.execute(sql.insert_user(["username"]), (user_id, "raw"))
                    await conn.execute(sql.insert_key, (key_id, user_id, True, None, None))
                return None

            lines = await run_suite("PostgreSQL (psycopg 3, AsyncConnectionPool)", auth, tokens, raw_join, raw_create)
            return [lines[0], seeded, *lines[1:]]
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


# -- MariaDB / MySQL -----------------------------------------------------------------------


async def bench_mysql() -> list[str]:
    import aiomysql

    from lucia_mysql import MySQLAdapter

    parts = urlsplit(MYSQL_URL)
    connect = {**mysql_connect_args(MYSQL_URL), "autocommit": True, "charset": "utf8mb4"}
    try:
        admin = await aiomysql.connect(**connect, connect_timeout=5)
    except aiomysql.OperationalError as exc:
        return [f"MariaDB/MySQL: skipped, cannot connect to {MYSQL_URL}: {exc}"]
    name = unique_name("lucia_bench")
    async with admin.cursor() as cursor:
        await cursor.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        await cursor.execute("SELECT VERSION()")
        (version,) = await cursor.fetchone()
    raw_pool = None
    try:
        url = urlunsplit(parts._replace(path=f"/{name}"))
        async with MySQLAdapter(url, pool_options={"minsize": POOL_SIZE, "maxsize": POOL_SIZE}) as adapter:
            raw_pool = await aiomysql.create_pool(**connect, db=name, minsize=POOL_SIZE, maxsize=POOL_SIZE)
            await adapter.create_schema(user_columns={"username": "text"})
            started = time.perf_counter()
            users, keys, sessions, tokens = seed_rows()
            sql = SQLStatements(MYSQL)
            async with raw_pool.acquire() as conn, conn.cursor() as cursor:
                for statement, rows in (
                    (sql.insert_user(["username"]), users),
                    (sql.insert_key, keys),
                    (sql.insert_session(BASE_SESSION_COLUMNS), sessions),
                ):
                    for start in range(0, len(rows), 5_000):
                        await cursor.executemany(statement, rows[start : start + 5_000])
                await cursor.execute("ANALYZE TABLE auth_user, auth_key, auth_session")
                await cursor.fetchall()
            seeded = f"  seeded {SEED_USERS:,} users, keys and sessions in {time.perf_counter() - started:.1f}s"
            auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())

            async def raw_join(session_id: str) -> object:
                async with raw_pool.acquire() as conn, conn.cursor() as cursor:
                    await cursor.execute(sql.get_session_and_user, (session_id,))
                    return await cursor.fetchone()

            async def raw_create(user_id: str, key_id: str) -> object:
                async with raw_pool.acquire() as conn, conn.cursor() as cursor:
                    await conn.begin()
                    try:
                        await cursor.execute(sql.insert_user(["username"]), (user_id, "raw"))
                        await cursor.execute(sql.insert_key, (key_id, user_id, True, None, None))
                        await conn.commit()
                    except BaseException:
                        await conn.rollback()
                        raise
                return None

            lines = await run_suite(f"MariaDB {version} (aiomysql pool)", auth, tokens, raw_join, raw_create)
            return [lines[0], seeded, *lines[1:]]
    finally:
        if raw_pool is not None:
            raw_pool.close()
            await raw_pool.wait_closed()
        async with admin.cursor() as cursor:
            await cursor.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


async def main() -> None:
    print(f"SQL servers: lucia adapters vs the raw driver, same server, same pool size ({POOL_SIZE})")
    for part in (bench_postgresql, bench_mysql):
        for line in await part():
            print(line, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
