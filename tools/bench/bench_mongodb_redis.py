"""Session validation on Redis (+ SQLite users) and on MongoDB, next to the raw drivers.

* Redis sessions, SQLite users: ``validate_session_user`` against one raw ``HGETALL`` of the
  session key plus the raw user ``SELECT`` on aiosqlite.
* MongoDB: ``validate_session_user`` against the raw PyMongo ``$lookup`` aggregation.

Redis comes from LUCIA_TEST_REDIS_URL (default the local server); MongoDB from
LUCIA_TEST_MONGODB_URL, else a SecantusDB server started here on a free loopback port.
A missing service is reported and its part skipped. Prints a report; asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiosqlite

sys.path.insert(0, str(Path(__file__).parent))
from _report import rate, row

from lucia import Lucia
from lucia._crypto import hash_token
from lucia.adapters.sql import SQLITE, SQLStatements
from lucia.testing import fast_password_hasher
from lucia.testing.services import free_port, unique_name
from lucia_testkit import stop_process, wait_for_port

USERS = 2_000
REDIS_COUNT = 20_000
MONGO_COUNT = 2_000
TARGET = 0.85
ROUNDS = 6


async def compare(label: str, ours: Any, raw: Any, count: int, concurrency: int) -> None:
    """Alternate short rounds of raw and ours; report the best round of each (a shared machine is noisy).

    The second line gives this process's CPU time per operation (event loop plus driver
    threads), which other load on the machine disturbs far less than wall-clock rates.
    """
    await rate(raw, max(count // 10, 100), concurrency=concurrency)  # warm up
    await rate(ours, max(count // 10, 100), concurrency=concurrency)
    best = {"raw": 0.0, "ours": 0.0}
    cpu = {"raw": 0.0, "ours": 0.0}
    per_round = count // ROUNDS
    for index in range(ROUNDS):
        order = (("raw", raw), ("ours", ours))
        for name, call in order if index % 2 == 0 else order[::-1]:  # alternate who runs first
            start = time.process_time()
            best[name] = max(best[name], await rate(call, per_round, concurrency=concurrency))
            cpu[name] += time.process_time() - start
    print(row(label, best["ours"], best["raw"], TARGET))
    ours_us, raw_us = (cpu[name] / (per_round * ROUNDS) * 1e6 for name in ("ours", "raw"))
    print(f"  {'':<44} CPU  ours {ours_us:>7.0f} us/op  raw {raw_us:>7.0f} us/op  ratio {raw_us / ours_us:4.2f}x")


async def bench_redis() -> None:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from lucia_redis import RedisSessionAdapter
    from lucia_sqlite import SQLiteAdapter

    url = os.environ.get("LUCIA_TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
    client = Redis.from_url(url)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        print(f"Redis: skipped, cannot reach {url}: {exc}")
        return
    prefix = unique_name("lucia_bench") + ":"
    sql = SQLStatements(SQLITE)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "users.db"
        users = SQLiteAdapter(path)
        await users.create_schema(user_columns={"username": "string"})
        sessions = RedisSessionAdapter(client, key_prefix=prefix)
        auth = Lucia(adapter={"user": users, "session": sessions}, password_hasher=fast_password_hasher())
        tokens = []
        for i in range(USERS):
            user = await auth.create_user(primary_key=None, attributes={"username": f"user{i}"})
            tokens.append((await auth.create_session(user.user_id)).token or "")
        raw_sqlite = await aiosqlite.connect(path, isolation_level=None)
        token = tokens[USERS // 2]
        session_key = sessions.session_key(hash_token(token))

        async def ours() -> None:
            await auth.validate_session_user(token)

        async def raw() -> None:
            session = json.loads((await client.hgetall(session_key))[b"row"])
            rows = await raw_sqlite.execute_fetchall(sql.get_user, (session["user_id"],))
            assert rows

        print(f"Redis sessions ({url.rsplit('@', 1)[-1]}) + SQLite users ({USERS:,} users with sessions)")
        session_id = hash_token(token)

        async def ours_get() -> None:
            await sessions.get_session(session_id)

        async def raw_get() -> None:
            json.loads((await client.hgetall(session_key))[b"row"])

        await compare("adapter get_session vs raw HGETALL, sequential", ours_get, raw_get, REDIS_COUNT, 1)
        await compare("validate_session_user, sequential", ours, raw, REDIS_COUNT, 1)
        await compare("validate_session_user, 16 concurrent tasks", ours, raw, REDIS_COUNT, 16)
        await raw_sqlite.close()
        await users.close()
    async for key in client.scan_iter(match=f"{prefix}*", count=1000):
        await client.delete(key)
    await client.aclose() if hasattr(client, "aclose") else await client.close()


def start_secantus() -> tuple[subprocess.Popen[bytes] | None, str | None]:
    configured = os.environ.get("LUCIA_TEST_MONGODB_URL")
    if configured:
        return None, configured
    beside = Path(sys.executable).with_name("secantusd-py")
    exe = str(beside) if beside.exists() else shutil.which("secantusd-py")
    if exe is None:
        return None, None
    port = free_port()
    process = subprocess.Popen(
        [exe, "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:", "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if wait_for_port("127.0.0.1", port, 60, process=process):
        return process, f"mongodb://127.0.0.1:{port}/?directConnection=true"
    stop_process(process)
    return None, None


async def bench_mongodb() -> None:
    from pymongo import AsyncMongoClient

    from lucia_mongodb import MongoDBAdapter

    process, url = start_secantus()
    if url is None:
        print("MongoDB: skipped, no LUCIA_TEST_MONGODB_URL and secantusd-py could not start")
        return
    server = "LUCIA_TEST_MONGODB_URL" if process is None else "SecantusDB, started here"
    client: AsyncMongoClient[Any] = AsyncMongoClient(url)
    name = unique_name("lucia_bench")
    try:
        database = client[name]
        adapter = MongoDBAdapter(database)
        await adapter.create_indexes()
        auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
        tokens = []
        for i in range(USERS // 4):
            user = await auth.create_user(primary_key=None, attributes={"username": f"user{i}"})
            tokens.append((await auth.create_session(user.user_id)).token or "")
        token = tokens[len(tokens) // 2]
        session_id = hash_token(token)
        sessions = database["auth_session"]
        pipeline = [
            {"$match": {"_id": session_id}},
            {"$limit": 1},
            {"$lookup": {"from": "auth_user", "localField": "user_id", "foreignField": "_id", "as": "user"}},
        ]

        async def ours() -> None:
            await auth.validate_session_user(token)

        async def raw() -> None:
            docs = await (await sessions.aggregate(pipeline)).to_list(length=None)
            assert docs and docs[0]["user"]

        print(f"MongoDB ({server}; {len(tokens):,} users with sessions)")
        await compare("validate_session_user ($lookup), sequential", ours, raw, MONGO_COUNT, 1)
        await compare("validate_session_user ($lookup), 16 tasks", ours, raw, MONGO_COUNT, 16)
    finally:
        await client.drop_database(name)
        await client.close()
        if process is not None:
            stop_process(process)


async def main() -> None:
    print(f"Python {sys.version.split()[0]}")
    await bench_redis()
    await bench_mongodb()


if __name__ == "__main__":
    asyncio.run(main())
