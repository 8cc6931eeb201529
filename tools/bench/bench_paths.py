"""The validation hot path, async and native sync, next to the raw driver doing the same work.

For SQLite and PostgreSQL (PostgreSQL from LUCIA_TEST_POSTGRES_URL; skipped with a line
if it is down), on a database seeded with users and live sessions:

* async: ``Lucia.validate_session_user`` from 16 tasks against the raw async driver running
  the same joined query (aiosqlite; psycopg ``AsyncConnectionPool`` of the same size);
* sync: ``SyncLucia.validate_session_user`` (the native path over the blocking twin) from
  16 threads against the raw sync driver doing the same from 16 threads (``sqlite3`` with a
  connection per thread; psycopg ``ConnectionPool``), and against the async path.

Ours and raw run interleaved in rounds (A/B/A/B), so drift hits both; each line gives the
mean ratio with the spread of the rounds, and the client CPU per operation. Also: RSS
growth over 100,000 validations, the event loop's worst stall while 8 Argon2id hashes
run, sign-in p50/p99 with 16 at once, and statements per validation. Prints a report; asserts nothing.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from lucia import Lucia, PrimaryKey, SyncLucia
from lucia.adapters.sql import POSTGRESQL, SQLITE, Dialect, SQLStatements
from lucia.passwords import Argon2idHasher
from lucia.testing import fast_password_hasher
from lucia.testing.services import service_url, unique_name

POSTGRES_URL = service_url("LUCIA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
USERS = 20_000
WORKERS = 16
OPS_PER_ROUND = 4_000
ROUNDS = 6

Measured = tuple[float, float]  # (wall seconds, cpu seconds)


async def _tasks(call: Callable[[int], Awaitable[object]], ops: int) -> Measured:
    per = ops // WORKERS

    async def worker(n: int) -> None:
        for i in range(per):
            await call(n * per + i)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(n) for n in range(WORKERS)))
    return time.perf_counter() - wall, time.process_time() - cpu


def _threads(call: Callable[[int], object], ops: int) -> Measured:
    per = ops // WORKERS
    barrier = threading.Barrier(WORKERS + 1)

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(per):
            call(n * per + i)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    wall, cpu = time.perf_counter(), time.process_time()
    barrier.wait()
    for thread in threads:
        thread.join()
    return time.perf_counter() - wall, time.process_time() - cpu


def _line(label: str, ours: list[Measured], raw: list[Measured], target: float | None) -> str:
    ratios = [r[0] / o[0] for o, r in zip(ours, raw, strict=True)]
    ops = OPS_PER_ROUND // WORKERS * WORKERS
    rate = ops / statistics.mean(o[0] for o in ours)
    raw_rate = ops / statistics.mean(r[0] for r in raw)
    cpu = statistics.mean(o[1] for o in ours) / ops * 1e6
    raw_cpu = statistics.mean(r[1] for r in raw) / ops * 1e6
    mean = statistics.mean(ratios)
    verdict = "" if target is None else ("  ok" if mean >= target else f"  BELOW {target}x")
    return (
        f"  {label:<46} ours {rate:>8,.0f}/s  other {raw_rate:>8,.0f}/s  ratio {mean:.2f}x "
        f"(rounds {min(ratios):.2f}-{max(ratios):.2f}){verdict}  CPU/op {cpu:.0f} vs {raw_cpu:.0f} µs"
    )


async def _interleaved_async(
    ours: Callable[[int], Awaitable[object]], raw: Callable[[int], Awaitable[object]]
) -> tuple[list[Measured], list[Measured]]:
    await _tasks(raw, OPS_PER_ROUND // 4)
    await _tasks(ours, OPS_PER_ROUND // 4)
    mine, theirs = [], []
    for _ in range(ROUNDS):
        theirs.append(await _tasks(raw, OPS_PER_ROUND))
        mine.append(await _tasks(ours, OPS_PER_ROUND))
    return mine, theirs


def _interleaved_threads(
    ours: Callable[[int], object], raw: Callable[[int], object]
) -> tuple[list[Measured], list[Measured]]:
    _threads(raw, OPS_PER_ROUND // 4)
    _threads(ours, OPS_PER_ROUND // 4)
    mine, theirs = [], []
    for _ in range(ROUNDS):
        theirs.append(_threads(raw, OPS_PER_ROUND))
        mine.append(_threads(ours, OPS_PER_ROUND))
    return mine, theirs


async def _seed(auth: Lucia) -> list[str]:
    tokens = []
    for i in range(USERS):
        user = await auth.create_user(primary_key=None, attributes={"username": f"u{i}"})
        tokens.append((await auth.create_session(user.user_id)).token or "")
    return tokens


async def _seeded(adapter: Any, dialect: Dialect) -> tuple[Lucia, list[str], SQLStatements, list[str]]:
    """A Lucia on ``adapter`` with USERS signed-in users: it, their tokens, the join it runs and the session ids."""
    await adapter.create_schema(user_columns={"username": "string"})
    auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher(), throttle=None)
    tokens = await _seed(auth)
    sql = SQLStatements(dialect).for_session_columns(await adapter.session_columns() or ())
    return auth, tokens, sql, [auth._session_id(token) for token in tokens]


def _validations(auth: Lucia, tokens: list[str]) -> Callable[[int], Awaitable[object]]:
    """The call the async paths time: validation ``i`` of the seeded sessions."""

    async def ours(i: int) -> None:
        await auth.validate_session_user(tokens[i % USERS])

    return ours


async def _sync_report(
    auth: Lucia, tokens: list[str], raw_sync: Callable[[int], object], label: str, target: float
) -> tuple[SyncLucia, Callable[[int], None]]:
    """Print the line of ``SyncLucia`` validations against ``raw_sync``, 16 threads each.

    Returns the (native) ``SyncLucia``, for the caller to close, and its validation call.
    """
    sync = SyncLucia(auth)
    assert sync.native

    def ours_sync(i: int) -> None:
        sync.validate_session_user(tokens[i % USERS])

    mine, theirs = await asyncio.to_thread(_interleaved_threads, ours_sync, raw_sync)
    print(_line(label, mine, theirs, target))
    return sync, ours_sync


async def sqlite_report() -> None:
    import sqlite3

    import aiosqlite

    from lucia_sqlite import SQLiteAdapter

    print("SQLite (a file in WAL mode)")
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        adapter = SQLiteAdapter(path)
        auth, tokens, sql, ids = await _seeded(adapter, SQLITE)
        raw = await aiosqlite.connect(path, isolation_level=None)

        async def raw_call(i: int) -> None:
            assert await raw.execute_fetchall(sql.get_session_and_user, (ids[i % USERS],))

        mine, theirs = await _interleaved_async(_validations(auth, tokens), raw_call)
        print(_line("async validate_session_user vs aiosqlite", mine, theirs, 0.85))

        local = threading.local()

        def raw_sync(i: int) -> None:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = sqlite3.connect(path, check_same_thread=False)
            assert conn.execute(sql.get_session_and_user, (ids[i % USERS],)).fetchone()

        sync, _ = await _sync_report(auth, tokens, raw_sync, "sync (16 threads) vs sqlite3 (16 threads)", 0.85)
        growth_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for i in range(100_000):
            await auth.validate_session_user(tokens[i % USERS])
        growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - growth_start) / 1024
        print(f"  RSS growth over 100,000 validations: {growth:.2f} MB; statements per validation: 1 (one join)")
        sync.close()
        await raw.close()
        await adapter.close()


async def postgres_report() -> None:
    import psycopg
    from psycopg_pool import AsyncConnectionPool, ConnectionPool

    from lucia_postgresql import PostgresAdapter

    try:
        admin = await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL: skipped, not reachable ({exc.__class__.__name__})")
        return
    name = unique_name("lucia_bench")
    await admin.execute(f"CREATE DATABASE {name}")
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    print("PostgreSQL (the local server, one database per run)")
    try:
        adapter = PostgresAdapter(url, pool_options={"min_size": WORKERS, "max_size": WORKERS})
        auth, tokens, sql, ids = await _seeded(adapter, POSTGRESQL)
        ours = _validations(auth, tokens)
        async with AsyncConnectionPool(url, min_size=WORKERS, max_size=WORKERS, kwargs={"autocommit": True}) as pool:

            async def raw_call(i: int) -> None:
                async with pool.connection() as conn:
                    cursor = await conn.execute(sql.get_session_and_user, (ids[i % USERS],), prepare=True)
                    assert await cursor.fetchone()

            mine, theirs = await _interleaved_async(ours, raw_call)
            print(_line("async validate_session_user vs psycopg async", mine, theirs, 0.95))
        with ConnectionPool(url, min_size=WORKERS, max_size=WORKERS, kwargs={"autocommit": True}) as sync_pool:

            def raw_sync(i: int) -> None:
                with sync_pool.connection() as conn:
                    assert conn.execute(sql.get_session_and_user, (ids[i % USERS],), prepare=True).fetchone()

            label = "sync (16 threads) vs psycopg sync pool (16 threads)"
            sync, ours_sync = await _sync_report(auth, tokens, raw_sync, label, 0.9)
            sync_rounds, async_rounds = [], []
            for _ in range(ROUNDS):
                async_rounds.append(await _tasks(ours, OPS_PER_ROUND))
                sync_rounds.append(await asyncio.to_thread(_threads, ours_sync, OPS_PER_ROUND))
            print(_line("sync path (16 threads) vs async path (16 tasks)", sync_rounds, async_rounds, 0.8))
            sync.close()
        await adapter.close()
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


async def hashing_report() -> None:
    hasher = Argon2idHasher()
    start = time.perf_counter()
    for _ in range(5):
        hasher.hash("correct horse battery staple")
    per_hash = (time.perf_counter() - start) / 5 * 1000
    auth = Lucia(adapter=__import__("lucia.adapters.memory", fromlist=["MemoryAdapter"]).MemoryAdapter())
    await auth.connect()  # as an app does at start-up: the hashing threads start here, not on the first sign-in
    worst = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - before - 0.001)

    ticking = asyncio.create_task(ticker())
    await asyncio.gather(*(auth.passwords.hash(f"password {i}") for i in range(8)))
    stop.set()
    await ticking
    print(
        f"Argon2id at the defaults: {per_hash:.1f} ms per hash; "
        f"worst event-loop stall while 8 run: {worst * 1000:.2f} ms"
    )
    await sign_in_latency(auth)


async def sign_in_latency(auth: Lucia) -> None:
    """p50 / p99 of a successful sign-in (``use_key``, Argon2id) with 16 at once, in 10 waves."""
    password = "correct horse battery staple"
    for i in range(WORKERS):
        await auth.create_user(primary_key=PrimaryKey("email", f"user{i}@example.com", password), attributes={})
    latencies: list[float] = []

    async def sign_in(i: int) -> None:
        started = time.perf_counter()
        await auth.use_key("email", f"user{i}@example.com", password)
        latencies.append((time.perf_counter() - started) * 1000)

    for _ in range(10):
        await asyncio.gather(*(sign_in(i) for i in range(WORKERS)))
    latencies.sort()
    p50, p99 = statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"sign-in (use_key, Argon2id) with {WORKERS} at once, {len(latencies)} in all: "
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms (hashing threads: max(2, CPU count) = {max(2, os.cpu_count() or 2)})"
    )


async def main() -> None:
    await sqlite_report()
    await postgres_report()
    await hashing_report()


if __name__ == "__main__":
    asyncio.run(main())
