"""What brute-force protection adds to a successful sign-in, next to the password hash.

A successful ``use_key`` with the throttle on does two things more than without it:
``Throttle.attempt`` (the per-client event and the per-key ``hit``, one round trip each)
and ``Attempt.succeeded`` (the key's state deleted, the client's event taken back). This
script times exactly that pair on each store — in memory, PostgreSQL's table
(``PostgresAdapter.throttle_store()``), Redis (``RedisThrottleStore``, one Lua script per
call) — and sets it next to one Argon2id verification at the defaults, which every
sign-in pays. Issue #14's target: the throttle costs < 2 % of the sign-in.

Then, end to end on the in-memory stores: ``use_key`` with the real Argon2id hasher, the
throttle on and off, interleaved; the difference drowns in the hash's own spread, which is
the point.

Run with ``nox -s bench -- throttle``.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from lucia import Lucia, PrimaryKey
from lucia.adapters.memory import MemoryAdapter
from lucia.passwords import Argon2idHasher
from lucia.testing.services import service_url, unique_name
from lucia.throttle import MemoryThrottleStore, Throttle, ThrottleStore

POSTGRES_URL = service_url("LUCIA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = service_url("LUCIA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
THROTTLE_CALLS = 2_000
SIGN_INS = 40
TARGET_PERCENT = 2.0
CLIENT = "203.0.113.7"


async def per_call_us(call: Callable[[], Awaitable[object]], count: int) -> tuple[float, float]:
    """Median and 90th percentile of ``call``'s wall time in µs, one call at a time, after a warm-up."""
    for _ in range(min(count // 10, 200)):
        await call()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.9)]


def argon2_verify_us() -> float:
    """Median µs of one Argon2id verification at the defaults (what every sign-in pays)."""
    hasher = Argon2idHasher()
    stored = hasher.hash("correct horse battery staple")
    times = []
    for _ in range(15):
        started = time.perf_counter()
        assert hasher.verify(stored, "correct horse battery staple")
        times.append((time.perf_counter() - started) * 1e6)
    return statistics.median(times)


async def throttle_cost(store: ThrottleStore) -> tuple[float, float]:
    """µs (median, p90) of what a successful sign-in adds: ``attempt`` then ``succeeded``."""
    throttle = Throttle(store=store, per_client_limit=1_000_000)
    subjects = iter(range(10**9))

    async def sign_in_bookkeeping() -> None:
        attempt = await throttle.attempt(
            f"email:user{next(subjects) % 1000}@example.com", client=CLIENT, now=time.time()
        )
        await attempt.succeeded()

    return await per_call_us(sign_in_bookkeeping, THROTTLE_CALLS)


async def postgres_store() -> tuple[ThrottleStore, Callable[[], Awaitable[None]]] | str:
    import psycopg
    from psycopg.conninfo import make_conninfo

    from lucia_postgresql import PostgresAdapter

    try:
        admin = await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        return f"skipped, cannot connect to {POSTGRES_URL}: {exc}"
    name = unique_name("lucia_bench")
    await admin.execute(f"CREATE DATABASE {name}")
    adapter = PostgresAdapter(make_conninfo(POSTGRES_URL, dbname=name))
    await adapter.create_schema()

    async def cleanup() -> None:
        await adapter.close()
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()

    return adapter.throttle_store(), cleanup


async def redis_store() -> tuple[ThrottleStore, Callable[[], Awaitable[None]]] | str:
    from redis.exceptions import RedisError

    from lucia_redis import RedisThrottleStore

    store = RedisThrottleStore.from_url(REDIS_URL, key_prefix=unique_name("lucia_bench") + ":")
    try:
        await store.get_state("ping")
    except (RedisError, OSError) as exc:
        await store.close()
        return f"skipped, cannot reach {REDIS_URL}: {exc}"
    return store, store.close


async def end_to_end() -> tuple[float, float]:
    """Median ms of a successful ``use_key`` with Argon2id, throttle on and off, interleaved."""
    adapter = MemoryAdapter()
    password = "correct horse battery staple"
    on = Lucia(adapter=adapter, throttle=Throttle(store=MemoryThrottleStore()))
    off = Lucia(adapter=adapter, throttle=None)
    await on.create_user(primary_key=PrimaryKey("email", "ada@example.com", password), attributes={})
    times: dict[str, list[float]] = {"on": [], "off": []}
    for index in range(SIGN_INS):
        pair = (("on", on), ("off", off)) if index % 2 else (("off", off), ("on", on))
        for side, auth in pair:
            started = time.perf_counter()
            await auth.use_key("email", "ada@example.com", password, client=CLIENT)
            times[side].append((time.perf_counter() - started) * 1e3)
    return statistics.median(times["on"]), statistics.median(times["off"])


async def main() -> None:
    print(f"Throttle cost of a successful sign-in, Python {sys.version.split()[0]}")
    hash_us = argon2_verify_us()
    print(f"  one Argon2id verification at the defaults: {hash_us / 1000:.1f} ms (what every sign-in pays)")
    stores: list[tuple[str, Callable[[], Awaitable[tuple[ThrottleStore, Callable[[], Awaitable[None]]] | str]]]] = [
        ("memory", lambda: _memory()),
        ("PostgreSQL table", postgres_store),
        ("Redis (Lua)", redis_store),
    ]
    for label, open_store in stores:
        opened = await open_store()
        if isinstance(opened, str):
            print(f"  {label:<18} {opened}")
            continue
        store, cleanup = opened
        try:
            median, p90 = await throttle_cost(store)
        finally:
            await cleanup()
        percent = median / (hash_us + median) * 100
        verdict = "ok" if percent < TARGET_PERCENT else "ABOVE TARGET"
        print(
            f"  {label:<18} attempt + succeeded: median {median:7.0f} µs, p90 {p90:7.0f} µs"
            f"  = {percent:4.2f} % of a sign-in (target < {TARGET_PERCENT} %: {verdict})"
        )
    with_throttle, without = await end_to_end()
    print(
        f"  end to end (memory, Argon2id, {SIGN_INS} each, interleaved): use_key median "
        f"{with_throttle:.1f} ms with the throttle, {without:.1f} ms without"
    )


async def _memory() -> tuple[ThrottleStore, Callable[[], Awaitable[None]]]:
    async def nothing() -> None:
        return None

    return MemoryThrottleStore(), nothing


if __name__ == "__main__":
    asyncio.run(main())
