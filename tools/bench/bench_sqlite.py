"""SQLite hot paths next to raw aiosqlite doing the same work, on the same database file.

Also: Argon2id hash time at the defaults, the event loop's worst stall while 8 hashes
run at once, and RSS growth over 100,000 validations. Prints a report; asserts nothing.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

import aiosqlite

sys.path.insert(0, str(Path(__file__).parent))
from _report import compare, row

from lucia import Lucia
from lucia._crypto import generate_token, hash_token
from lucia.adapters.sql import SQLITE, SQLStatements
from lucia.passwords import Argon2idHasher
from lucia_sqlite import SQLiteAdapter

USERS = 10_000
SEQUENTIAL = 20_000
CONCURRENT = 32_000


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main() -> None:
    sql = SQLStatements(SQLITE)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench.db")
        adapter = SQLiteAdapter(path)
        await adapter.create_schema(user_columns={"username": "string"})
        auth = Lucia(adapter=adapter)
        tokens = []
        for i in range(USERS):
            user = await auth.create_user(primary_key=None, attributes={"username": f"user{i}"})
            tokens.append((await auth.create_session(user.user_id)).token or "")
        raw = await aiosqlite.connect(path, isolation_level=None)
        await raw.execute("PRAGMA journal_mode = WAL")
        token = tokens[USERS // 2]
        session_id = hash_token(token)

        async def ours_validate() -> None:
            await auth.validate_session_user(token)

        async def raw_validate() -> None:
            rows = await raw.execute_fetchall(sql.get_session_and_user, (session_id,))
            assert rows

        user_id = (await auth.validate_session_user(token))[1].user_id

        async def ours_create() -> None:
            await auth.create_session(user_id)

        async def raw_create() -> None:
            new = generate_token()
            await raw.execute(sql.insert_session, (hash_token(new), user_id, 1, 2))

        print(f"SQLite ({USERS:,} users with sessions, one file, WAL), Python {sys.version.split()[0]}")
        for label, ours, baseline, count, concurrency in (
            ("validate_session_user, sequential", ours_validate, raw_validate, SEQUENTIAL, 1),
            ("validate_session_user, 16 concurrent tasks", ours_validate, raw_validate, CONCURRENT, 16),
            ("create_session vs raw insert, sequential", ours_create, raw_create, SEQUENTIAL // 2, 1),
        ):
            ours_rate, raw_rate, extra_cpu = await compare(ours, baseline, count, concurrency=concurrency)
            print(row(label, ours_rate, raw_rate, 0.8, extra_cpu))

        before = rss_mb()
        for _ in range(100_000):
            await auth.validate_session_user(token)
        print(f"  RSS growth over 100,000 validations: {rss_mb() - before:.2f} MB (target < 5 MB)")

        hasher = Argon2idHasher()
        start = time.perf_counter()
        for _ in range(5):
            hasher.hash("correct horse battery staple")
        print(f"  Argon2id hash at defaults (m=19456 KiB, t=2, p=1): {(time.perf_counter() - start) / 5 * 1000:.1f} ms")

        worst = 0.0
        done = False

        async def ticker() -> None:
            nonlocal worst
            last = time.perf_counter()
            while not done:
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                worst = max(worst, now - last - 0.001)
                last = now

        tick = asyncio.create_task(ticker())
        await asyncio.gather(*(auth._hash("correct horse battery staple") for _ in range(8)))
        done = True
        await tick
        print(f"  worst event-loop stall while 8 hashes run: {worst * 1000:.2f} ms (target < 10 ms)")
        await raw.close()
        await adapter.close()


if __name__ == "__main__":
    asyncio.run(main())
