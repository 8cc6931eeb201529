"""The Starlette integration and SyncLucia next to doing the same work by hand.

1. Requests per second of a protected Starlette route behind ``LuciaMiddleware``
   (``require_user``), next to the same route reading the cookie and running the one
   session-and-user join query by hand on aiosqlite. Each app runs in its own uvicorn
   process on a free loopback port; an httpx client sends a bounded number of requests.
2. The per-call overhead of :class:`lucia.SyncLucia` over awaiting the same call.

Prints a report; asserts nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from _report import row

from lucia.testing.services import free_port
from lucia_testkit import stop_process, wait_for_port

USERS = 200
REQUESTS = 1_600
CONCURRENCY = 16
ROUNDS = 3
SYNC_CALLS = 600
SYNC_ROUNDS = 5


# -- the two apps (run in a child process: ``bench_integrations.py serve <kind> <port> <db>``)


def ours_app(database: str) -> object:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from lucia import Lucia
    from lucia.integrations.starlette import LuciaMiddleware, require_user
    from lucia_sqlite import SQLiteAdapter

    auth = Lucia(adapter=SQLiteAdapter(database))

    async def me(request: Request) -> JSONResponse:
        _, user = await require_user(request)
        return JSONResponse({"user_id": user.user_id})

    return Starlette(routes=[Route("/me", me)], middleware=[Middleware(LuciaMiddleware, auth=auth)])


def raw_app(database: str) -> object:
    import aiosqlite
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    from lucia.adapters.sql import SQLITE, SQLStatements

    query = SQLStatements(SQLITE).get_session_and_user
    connection: list[aiosqlite.Connection] = []

    async def me(request: Request) -> Response:
        if not connection:
            connection.append(await aiosqlite.connect(database, isolation_level=None))
        token = request.cookies.get("auth_session")
        if not token:
            return PlainTextResponse("Unauthorized", status_code=401)
        rows = list(await connection[0].execute_fetchall(query, (hashlib.sha256(token.encode()).hexdigest(),)))
        if not rows:
            return PlainTextResponse("Unauthorized", status_code=401)
        # The columns: session id, user id, active expiry, idle expiry, then the user's.
        if rows[0][3] <= time.time() * 1000:
            return PlainTextResponse("Unauthorized", status_code=401)
        return JSONResponse({"user_id": rows[0][1]})

    return Starlette(routes=[Route("/me", me)])


def serve(kind: str, port: int, database: str) -> None:
    import uvicorn

    app = ours_app(database) if kind == "ours" else raw_app(database)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)  # type: ignore[arg-type]


# -- the driver --------------------------------------------------------------------------


async def prepare(database: str) -> list[str]:
    from lucia import Lucia
    from lucia_sqlite import SQLiteAdapter

    async with SQLiteAdapter(database) as adapter:
        await adapter.create_schema(user_columns={"username": "string"})
        auth = Lucia(adapter=adapter)
        tokens = []
        for i in range(USERS):
            user = await auth.create_user(primary_key=None, attributes={"username": f"user{i}"})
            tokens.append((await auth.create_session(user.user_id)).token or "")
        return tokens


def start(kind: str, database: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, __file__, "serve", kind, str(port), database])
    if wait_for_port("127.0.0.1", port, 30, process=process):
        return process, f"http://127.0.0.1:{port}"
    stop_process(process)
    raise RuntimeError(f"the {kind} server did not start")


async def load(base_url: str, tokens: list[str]) -> float:
    """Requests per second of ``GET /me`` with valid cookies, every answer checked."""
    per_task = REQUESTS // CONCURRENCY
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base_url, limits=limits) as client:

        async def worker(n: int) -> None:
            for i in range(per_task):
                token = tokens[(n * per_task + i) % len(tokens)]
                response = await client.get("/me", headers={"Cookie": f"auth_session={token}"})
                assert response.status_code == 200, response.status_code

        await asyncio.gather(*(worker(n) for n in range(2)))  # warm-up: connections, caches
        start = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
        return per_task * CONCURRENCY / (time.perf_counter() - start)


def bench_http(database: str, tokens: list[str]) -> None:
    servers = {kind: start(kind, database) for kind in ("ours", "raw")}
    try:
        best = {"ours": 0.0, "raw": 0.0}
        for _ in range(ROUNDS):  # alternate, keep each side's best round
            for kind in ("ours", "raw"):
                best[kind] = max(best[kind], asyncio.run(load(servers[kind][1], tokens)))
    finally:
        for process, _ in servers.values():
            stop_process(process)
    setup = f"{REQUESTS} requests, {CONCURRENCY} concurrent, best of {ROUNDS}"
    print(f"protected Starlette route on uvicorn + SQLite ({setup}):")
    print(row("LuciaMiddleware + require_user vs raw join", best["ours"], best["raw"], 0.9))


def bench_sync(database: str, tokens: list[str]) -> None:
    from lucia import Lucia, SyncLucia
    from lucia_sqlite import SQLiteAdapter

    token = tokens[0]

    def best(run: Callable[[], None]) -> float:
        """Seconds per call: the best of SYNC_ROUNDS rounds (the least disturbed by other load)."""
        times = []
        for _ in range(SYNC_ROUNDS):
            start = time.perf_counter()
            for _ in range(SYNC_CALLS):
                run()
            times.append((time.perf_counter() - start) / SYNC_CALLS)
        return min(times)

    async def async_calls() -> float:
        async with SQLiteAdapter(database) as adapter:
            auth = Lucia(adapter=adapter)
            await auth.validate_session_user(token)
            times = []
            for _ in range(SYNC_ROUNDS):
                start = time.perf_counter()
                for _ in range(SYNC_CALLS):
                    await auth.validate_session_user(token)
                times.append((time.perf_counter() - start) / SYNC_CALLS)
            return min(times)

    async def noop() -> None:
        pass

    per_async = asyncio.run(async_calls())
    adapter = SQLiteAdapter(database)
    with SyncLucia(Lucia(adapter=adapter)) as sync:
        sync.validate_session_user(token)
        per_sync = best(lambda: sync.validate_session_user(token) and None)
        per_noop = best(lambda: sync.call(noop))
        sync.call(adapter.close)
    overhead = (per_sync - per_async) * 1e6
    verdict = "ok" if overhead < 100 else "ABOVE TARGET"
    print(f"SyncLucia (validate_session_user, best of {SYNC_ROUNDS} rounds of {SYNC_CALLS} sequential calls):")
    print(f"  awaited {per_async * 1e6:7.1f} µs/call   SyncLucia {per_sync * 1e6:7.1f} µs/call")
    print(f"  overhead {overhead:6.1f} µs/call (target < 100 µs: {verdict}); an empty call: {per_noop * 1e6:.1f} µs")


def bench_breakdown(database: str, tokens: list[str]) -> None:
    """Where a protected request's time goes, in process (no HTTP), best of several rounds."""
    import aiosqlite

    from lucia import Lucia
    from lucia.adapters.sql import SQLITE, SQLStatements
    from lucia.integrations.asgi import LuciaMiddleware, Message, Receive, Scope, Send
    from lucia_sqlite import SQLiteAdapter

    query = SQLStatements(SQLITE).get_session_and_user

    async def measure() -> dict[str, float]:
        adapter = SQLiteAdapter(database)
        auth = Lucia(adapter=adapter)
        raw = await aiosqlite.connect(database, isolation_level=None)

        async def nothing(scope: Scope, receive: Receive, send: Send) -> None:
            pass

        async def no_receive() -> Message:
            return {}

        middleware = LuciaMiddleware(nothing, auth=auth)
        headers = [(b"host", b"127.0.0.1:8000"), (b"accept", b"*/*"), (b"cookie", f"auth_session={tokens[0]}".encode())]

        async def through_middleware(i: int) -> None:
            scope = {"type": "http", "method": "GET", "scheme": "http", "path": "/me", "headers": headers}
            await middleware(scope, no_receive, nothing_send)

        async def nothing_send(message: Message) -> None:
            pass

        async def validate(i: int) -> None:
            await auth.validate_session_user(tokens[i % len(tokens)])

        async def by_hand(i: int) -> None:
            digest = hashlib.sha256(tokens[i % len(tokens)].encode()).hexdigest()
            await raw.execute_fetchall(query, (digest,))

        results = {}
        for name, step in (("middleware", through_middleware), ("validate", validate), ("raw", by_hand)):
            times = []
            for _ in range(SYNC_ROUNDS):
                start = time.perf_counter()
                for i in range(SYNC_CALLS):
                    await step(i)
                times.append((time.perf_counter() - start) / SYNC_CALLS)
            results[name] = min(times) * 1e6
        await adapter.close()
        await raw.close()
        return results

    r = asyncio.run(measure())
    print("in process, per request (best of rounds):")
    print(f"  LuciaMiddleware alone {r['middleware']:6.1f} µs; validate_session_user {r['validate']:6.1f} µs;")
    print(f"  the raw join query by hand {r['raw']:6.1f} µs")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database = str(Path(tmp) / "bench.db")
        tokens = asyncio.run(prepare(database))
        bench_http(database, tokens)
        bench_breakdown(database, tokens)
        bench_sync(database, tokens)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
