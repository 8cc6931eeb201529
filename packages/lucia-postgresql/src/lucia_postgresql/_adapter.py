"""The PostgreSQL adapter: thin psycopg 3 calls around :mod:`lucia.adapters.sql`."""

from __future__ import annotations

import asyncio
import functools
import math
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from lucia import StorageError, StorageTimeoutError, StorageUnavailableError
from lucia.adapters import KeyRow, TableRole, UserRow, constraint_error
from lucia.adapters._lifecycle import ServerSQLAdapter, positive_seconds
from lucia.adapters.sql import POSTGRESQL, SQLStatements, TableNames, key_params
from lucia_postgresql._blocking import BlockingPostgresAdapter
from lucia_postgresql._errors import result_names, storage_error

__all__ = ["PostgresAdapter"]

_T = TypeVar("_T")
_Op = Callable[[AsyncConnection[Any]], Awaitable[_T]]

#: A ``scheme://`` prefix, to refuse another database's URL with a clear message.
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
#: psycopg_pool's ``reconnect_timeout`` for the adapter's own pool (its default is 5 minutes).
_RECONNECT_TIMEOUT = 10.0
#: How long a call waits for a pooled connection while the server refuses new ones.
_REFUSED_WAIT = 0.25


class PostgresAdapter(ServerSQLAdapter):
    """Users, keys, sessions, throttling and passkeys in PostgreSQL, on psycopg 3's async API.

    ::

        adapter = PostgresAdapter("postgresql://app@127.0.0.1/app", statement_timeout=5)
        await adapter.create_schema(user_columns={"username": "string"})
        auth = Lucia(adapter=adapter)
        ...
        await adapter.close()

    Give it a conninfo string (``"postgresql://user@host/db"`` or ``"host=... dbname=..."``)
    and the adapter opens its own pool of autocommit connections on first use; close it
    with :meth:`close` or use the adapter as an async context manager. Give it an
    :class:`psycopg_pool.AsyncConnectionPool` and you own the pool: open it before use
    and close it yourself (:meth:`close` leaves it alone).

    Every query is a prepared statement; validation (:meth:`get_session_and_user`) is one
    round trip and sign-up with a primary key one statement.

    Timeouts: every call fails within ``pool_timeout + statement_timeout + 1`` seconds
    (9 s with the defaults), also against a server that stopped answering, with
    :class:`lucia.StorageTimeoutError`; a server that refuses or drops connections gives
    :class:`lucia.StorageUnavailableError`. The driver's error is the ``__cause__``. A
    call that times out or is cancelled (an application's own ``asyncio.wait_for``, a
    cancel scope) closes its connection instead of waiting for a cancel round trip, so
    the caller gets control back at once and no connection in an unknown state goes back
    to the pool. Once the server is back, calls succeed again: the pool reconnects.

    Processes: a pool opened before ``os.fork()`` (``gunicorn --preload``) is left to the
    parent (the child notices the new process id and never uses nor closes it); the child
    opens its own pool on first use. A pool you passed in cannot be
    replaced: using it in a forked child raises :class:`lucia.ConfigurationError`.

    Args:
        pool: A conninfo string for a pool the adapter owns, or an open pool you manage.
        tables: Table names (default ``auth_user``, ``auth_session``, ``auth_key``, ...);
            schema-qualified names (``"auth.user"``) are allowed.
        pool_options: Keyword arguments for the pool the adapter creates (``min_size``,
            ``max_size``, ``max_idle``, ``kwargs``, ...). Not allowed with a pool; the
            timeouts are the arguments below.
        connect_timeout: Seconds to open a connection (PostgreSQL counts whole seconds,
            at least 2).
        pool_timeout: Seconds a call waits for a pooled connection.
        statement_timeout: Seconds a statement may run: PostgreSQL's ``statement_timeout``
            on the adapter's own connections, and, one second later, the client gives up
            on a server that does not answer at all (with a pool you pass in, only the
            client side applies: set ``statement_timeout`` on your connections yourself).

    Raises:
        ValueError: A URL of another database, a timeout that is not a positive number,
            or pool options that cannot work (``max_size`` below ``min_size``, ...).
    """

    def __init__(
        self,
        pool: AsyncConnectionPool[Any] | str,
        *,
        tables: TableNames | None = None,
        pool_options: Mapping[str, Any] | None = None,
        connect_timeout: float = 5.0,
        pool_timeout: float = 3.0,
        statement_timeout: float = 5.0,
    ) -> None:
        self._start(connect_timeout, pool_timeout, statement_timeout)
        self._health = _Health()
        if isinstance(pool, str):
            self._conninfo = pool
            self._pool_options = _checked_pool_options(pool, pool_options)
            self._owns_pool = True
            self._pool: AsyncConnectionPool[Any] = self._new_pool()
        elif isinstance(pool, AsyncConnectionPool):
            if pool_options is not None:
                raise TypeError("pool_options configures a pool the adapter creates; configure your own pool yourself")
            self._conninfo = ""
            self._pool_options = {}
            self._pool = pool
            self._owns_pool = False
        else:
            raise TypeError("PostgresAdapter takes a conninfo string or a psycopg_pool.AsyncConnectionPool")
        self._opened = not self._owns_pool
        self._sql = SQLStatements(POSTGRESQL, tables)
        self._twin: BlockingPostgresAdapter | None = None
        names = self._sql.tables
        roles: tuple[tuple[str, TableRole], ...] = (
            (names.user, "user"),
            (names.session, "session"),
            (names.key, "key"),
            (names.passkey, "passkey"),
        )
        #: Bare table name (as the server reports it in errors) to its role.
        self._tables_by_name = {name.rsplit(".", 1)[-1]: role for name, role in roles}

    def __repr__(self) -> str:
        return f"PostgresAdapter(pool={self._pool.name!r}, owns_pool={self._owns_pool})"

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        """The connection pool (the adapter's own, or the one it was given)."""
        return self._pool

    # -- lifecycle -------------------------------------------------------------------

    def pool_settings(self) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
        """``(conninfo, connection kwargs, pool options)`` of the pool: the same for the blocking twin.

        ``None`` for a pool you gave whose conninfo or kwargs are computed by callables.
        """
        if not self._owns_pool:
            pool = self._pool
            if not isinstance(pool.conninfo, str) or not isinstance(pool.kwargs or {}, dict):
                return None
            given: dict[str, Any] = dict(pool.kwargs or {})  # type: ignore[arg-type]
            return pool.conninfo, given, {"min_size": pool.min_size, "max_size": pool.max_size}
        options = dict(self._pool_options)
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(2, math.ceil(self._connect_timeout)),
            **options.pop("kwargs", {}),
        }
        # The server cancels a statement that runs too long (the connection stays usable).
        setting = f"-c statement_timeout={math.ceil(self._statement_timeout * 1000)}"
        existing = kwargs.get("options") or conninfo_to_dict(self._conninfo).get("options")
        kwargs["options"] = f"{existing} {setting}" if existing else setting
        # psycopg_pool retries a failed connection with a doubling delay until
        # reconnect_timeout runs out; afterwards the next waiting call starts afresh. Kept
        # short, so that the first calls after an outage do not wait for a long back-off.
        defaults = {"min_size": 1, "max_size": 10, "reconnect_timeout": _RECONNECT_TIMEOUT}
        return self._conninfo, kwargs, {**defaults, **options}

    def _new_pool(self) -> AsyncConnectionPool[Any]:
        settings = self.pool_settings()
        assert settings is not None  # the adapter's own pool
        conninfo, kwargs, options = settings
        return AsyncConnectionPool(
            conninfo,
            open=False,
            kwargs=kwargs,
            connection_class=_observed_connection_class(self._health),
            timeout=self._pool_timeout,
            **options,
        )

    def blocking_twin(self) -> BlockingPostgresAdapter | None:
        """The same database and settings through psycopg's synchronous ``ConnectionPool``.

        :class:`lucia.SyncLucia` validates through it in the calling thread (no event loop,
        no thread hop). It opens its own pool on first use and is closed with this adapter.
        """
        if self._twin is None and self.pool_settings() is not None:
            self._twin = BlockingPostgresAdapter(self)
        return self._twin

    async def connect(self) -> None:
        """Open the adapter's own pool (done on first use; a given pool is left alone)."""
        self._enter_process()
        if not self._opened:
            await self._pool.open(wait=False)
            self._opened = True

    async def close(self) -> None:
        """Close the pool if the adapter created it (and its blocking twin's); a pool you passed in stays open."""
        if self._twin is not None:
            await self._twin.close()
        if self._owns_pool and self._opened:
            self._opened = False
            await self._pool.close()

    def _forget_inherited_pool(self) -> None:
        """In a forked child: leave the parent's pool alone (never use nor close it here) and start afresh.

        psycopg never closes a connection of another process when it is garbage-collected,
        and keeping the pool referenced keeps its objects from being finalised at all.
        """
        self._pid = os.getpid()
        if self._owns_pool:
            if self._opened:
                self._inherited.append(self._pool)
                self._health = _Health()
                self._pool = self._new_pool()
                self._opened = False
        elif not self._pool.closed:
            self._inherited.append(self._pool)
            self._opened = False

    # -- bounded, cancellation-safe calls -----------------------------------------------

    async def _run(self, op: _Op[_T]) -> _T:
        """Check out a connection, run ``op`` on it, return the connection: bounded and cancellation-safe."""
        if not self._opened or self._pid != os.getpid():
            await self.connect()
        call = _Call(self)
        return await call.guard(call.checked_out(op), checkout=True)

    async def _checkout(self, pool: AsyncConnectionPool[Any]) -> AsyncConnection[Any]:
        health = self._health
        timeout = min(self._pool_timeout, _REFUSED_WAIT) if health.refused is not None else self._pool_timeout
        try:
            conn: AsyncConnection[Any] = await pool.getconn(timeout=timeout)
            return conn
        except PoolTimeout as exc:
            refused = health.refused
            if refused is not None:
                # The pool's last connection attempt failed (refused, or timed out): say so at once.
                error = storage_error(refused) or StorageUnavailableError(None, "PostgreSQL refuses connections")
                raise error from refused
            raise StorageTimeoutError(
                None, f"no PostgreSQL connection became free within pool_timeout ({self._pool_timeout:g} s)"
            ) from exc
        except psycopg.Error as exc:
            raise storage_error(exc) or exc from exc

    async def _one(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        async def op(conn: AsyncConnection[Any]) -> tuple[Any, ...] | None:
            cursor = await conn.execute(query, params, prepare=True)
            row: tuple[Any, ...] | None = await cursor.fetchone()
            return row

        return await self._run(op)

    async def _one_with_names(self, query: str, params: Sequence[Any]) -> tuple[list[str], tuple[Any, ...]] | None:
        async def op(conn: AsyncConnection[Any]) -> tuple[list[str], tuple[Any, ...]] | None:
            try:
                cursor = await conn.execute(query, params, prepare=True)
            except psycopg.errors.FeatureNotSupported as exc:
                # A `SELECT *` prepared before the user table gained or lost a column: the
                # server refuses the stale statement ("cached plan must not change result
                # type"). Forget this connection's prepared statements and run it again.
                if "cached plan" not in str(exc):
                    raise
                if not conn.autocommit:
                    await conn.rollback()
                await conn.execute("DEALLOCATE ALL")
                cursor = await conn.execute(query, params, prepare=True)
            row: tuple[Any, ...] | None = await cursor.fetchone()
            if row is None:
                return None
            return self._names_of(query, len(row), lambda: result_names(cursor, conn)), row

        return await self._run(op)

    async def _all(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        async def op(conn: AsyncConnection[Any]) -> list[tuple[Any, ...]]:
            cursor = await conn.execute(query, params, prepare=True)
            rows: list[tuple[Any, ...]] = await cursor.fetchall()
            return rows

        return await self._run(op)

    async def _write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        async def op(conn: AsyncConnection[Any]) -> int:
            return await self._execute_write(conn, query, params, table)

        return await self._run(op)

    async def _execute_write(
        self, conn: AsyncConnection[Any], query: str, params: Sequence[Any], table: TableRole | None
    ) -> int:
        """Run a write; constraint errors of inserts are translated, all others propagate.

        The server names the violated table itself, so ``table`` only says "an insert" —
        which is also how the one-statement user-and-key insert tells its halves apart.
        """
        try:
            cursor = await conn.execute(query, params, prepare=True)
        except psycopg.IntegrityError as exc:
            error = None if table is None else self._constraint_error(exc)
            if error is None:
                raise
            raise error from exc
        return cursor.rowcount

    def _constraint_error(self, exc: psycopg.IntegrityError) -> Exception | None:
        role = self._tables_by_name.get(exc.diag.table_name or "")
        return None if role is None else constraint_error(role, POSTGRESQL.violation(exc))

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_Transaction]:
        if not self._opened or self._pid != os.getpid():
            await self.connect()
        pool = self._pool
        # Not in a child task: the pool hands a cancelled waiter's connection back itself.
        conn = await self._checkout(pool)
        tx = _Transaction(self, conn)
        try:
            if conn.autocommit:  # a given pool's transactional connection is in a transaction already
                await tx.run(lambda c: c.execute("BEGIN"))
            yield tx
            await tx.run(lambda c: c.commit())
        except BaseException as exc:
            await tx.abort(exc)
            raise
        finally:
            await _return(pool, conn)

    async def _column_names(self, query: str) -> list[str] | None:
        async def op(conn: AsyncConnection[Any]) -> list[str] | None:
            try:
                cursor = await conn.execute(query)
            except psycopg.errors.UndefinedTable:
                return None
            return [column.name for column in cursor.description or ()]

        return await self._run(op)

    async def _run_ddl(self, statements: Sequence[str]) -> None:
        async def op(conn: AsyncConnection[Any]) -> None:
            async with conn.transaction():
                for statement in statements:
                    await conn.execute(statement)

        await self._run(op)

    # -- users -----------------------------------------------------------------------

    async def set_user(self, user: UserRow, key: KeyRow | None) -> None:
        """Insert a user and its primary key atomically, in one statement and one round trip.

        With a key this is one ``WITH new_user AS (INSERT ...) INSERT ...`` statement: a
        failing key insert leaves no user, and no ``BEGIN``/``COMMIT`` round trips are spent.
        """
        columns = list(user.attributes)
        if key is None:
            await self._write(self._sql.insert_user(columns), (user.id, *user.attributes.values()), "user")
        else:
            params = (user.id, *user.attributes.values(), *key_params(key))
            await self._write(self._sql.insert_user_with_key(columns), params, "user")


class _Health:
    """Whether the pool's last attempt to open a connection failed (and with which error)."""

    __slots__ = ("refused",)

    def __init__(self) -> None:
        self.refused: psycopg.Error | None = None


def _observed_connection_class(health: _Health) -> type[AsyncConnection[Any]]:
    """A connection class for the adapter's pool that reports to ``health`` how connecting went."""

    class ObservedConnection(AsyncConnection[Any]):
        @classmethod
        async def connect(cls, conninfo: str = "", **kwargs: Any) -> Any:
            try:
                conn = await super().connect(conninfo, **kwargs)
            except psycopg.Error as exc:
                health.refused = exc
                raise
            health.refused = None
            return conn

    return ObservedConnection


class _Call:
    """One bounded call: its driver work runs in a task of its own, which the caller can always stop.

    psycopg answers a cancelled query with a cancel request and then waits for the
    server, up to 10 s against a server that does not answer. So the work runs in a
    child task; when the caller is cancelled or the time is up, the child is cancelled
    again until it stops, which makes psycopg close that connection at once (it is then
    discarded by the pool, never reused in an unknown state).
    """

    __slots__ = ("adapter", "checked_out_at", "deadline", "limit", "returning", "started", "waiter")

    def __init__(self, adapter: PostgresAdapter) -> None:
        self.adapter = adapter
        #: Set while the child gives its connection back: that step is left to finish.
        self.returning = False
        #: When the child got its connection (``None`` while it waits for one).
        self.checked_out_at: float | None = None

    async def guard(self, work: Coroutine[Any, Any, _T], *, checkout: bool) -> _T:
        """Run ``work`` in a child task: a statement gets ``statement_timeout + 1`` s after its connection."""
        adapter = self.adapter
        loop = asyncio.get_running_loop()
        self.started = loop.time()
        if not checkout:
            self.checked_out_at = self.started
        child = loop.create_task(work)
        # A plain future that the child's end or the deadline resolves: cancelling the
        # caller cancels only this future, never the child (unlike awaiting the child).
        self.waiter: asyncio.Future[None] = loop.create_future()
        child.add_done_callback(functools.partial(_wake, self.waiter))
        self.limit = adapter._statement_limit
        self.deadline = loop.call_later(self.limit, self.on_deadline)
        try:
            await self.waiter
        except asyncio.CancelledError:
            self.deadline.cancel()
            await self.stop(child)
            raise
        self.deadline.cancel()
        if not child.done():
            await self.stop(child)
            raise StorageTimeoutError(
                None, f"PostgreSQL did not answer within {self.limit:g} s (statement_timeout + 1 s)"
            ) from TimeoutError()
        return child.result()

    def on_deadline(self) -> None:
        """Time is up, unless the connection came late: then the statement still gets its full time."""
        loop = asyncio.get_running_loop()
        if self.checked_out_at is None:  # the pool's own timeout ends the wait for a connection
            end = self.started + self.adapter._pool_timeout + self.limit
        else:
            end = self.checked_out_at + self.limit
        if loop.time() < end:
            self.deadline = loop.call_at(end, self.on_deadline)
        else:
            _wake(self.waiter)

    async def stop(self, child: asyncio.Task[Any]) -> None:
        interrupted = False
        for _ in range(200):
            if child.done():
                break
            if not self.returning:
                child.cancel()
            try:
                await asyncio.wait((child,), timeout=0.005)
            except asyncio.CancelledError:  # cancelled again (a cancel scope repeats itself)
                interrupted = True
        child.add_done_callback(_retrieve)
        if interrupted:
            raise asyncio.CancelledError

    async def checked_out(self, op: _Op[_T]) -> _T:
        adapter = self.adapter
        pool = adapter._pool
        conn = await adapter._checkout(pool)
        self.checked_out_at = asyncio.get_running_loop().time()
        try:
            result = await op(conn)
            if not conn.autocommit:  # a given pool's transactional connection
                await conn.commit()
            adapter._health.refused = None  # the server answers: no more fast failures
            return result
        except psycopg.Error as exc:
            raise storage_error(exc) or exc from exc
        finally:
            self.returning = True
            await pool.putconn(conn)


class _Transaction:
    """Statements inside :meth:`PostgresAdapter._transaction`, each bounded like a call."""

    __slots__ = ("adapter", "conn")

    def __init__(self, adapter: PostgresAdapter, conn: AsyncConnection[Any]) -> None:
        self.adapter = adapter
        self.conn = conn

    async def run(self, op: _Op[_T]) -> _T:
        async def statement() -> _T:
            try:
                return await op(self.conn)
            except psycopg.Error as exc:
                raise storage_error(exc) or exc from exc

        return await _Call(self.adapter).guard(statement(), checkout=False)

    async def one(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        async def op(conn: AsyncConnection[Any]) -> tuple[Any, ...] | None:
            row: tuple[Any, ...] | None = await (await conn.execute(query, params, prepare=True)).fetchone()
            return row

        return await self.run(op)

    async def all(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        async def op(conn: AsyncConnection[Any]) -> list[tuple[Any, ...]]:
            rows: list[tuple[Any, ...]] = await (await conn.execute(query, params, prepare=True)).fetchall()
            return rows

        return await self.run(op)

    async def write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        return await self.run(lambda conn: self.adapter._execute_write(conn, query, params, table))

    async def abort(self, exc: BaseException) -> None:
        """End a failed transaction: roll back after an error the server reported, else drop the connection."""
        conn = self.conn
        if conn.closed:
            return
        if isinstance(exc, Exception) and not isinstance(exc, StorageError):
            try:
                await self.run(lambda c: c.rollback())
                return
            except Exception:  # noqa: S110 - the connection is closed below instead
                pass
        # Cancelled or timed out mid-transaction: whatever the server did, this connection
        # is in an unknown state. Closing it makes the server roll back.
        await conn.close()


async def _return(pool: AsyncConnectionPool[Any], conn: AsyncConnection[Any]) -> None:
    """Give a connection back even when the caller is being cancelled (else the pool would lose it)."""
    returning = asyncio.ensure_future(pool.putconn(conn))
    returning.add_done_callback(_retrieve)
    await asyncio.shield(returning)


def _wake(waiter: asyncio.Future[None], *_: object) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark a finished background task's exception as seen (it was already reported or is moot)."""
    if not task.cancelled():
        task.exception()


def _checked_pool_options(conninfo: str, pool_options: Mapping[str, Any] | None) -> dict[str, Any]:
    scheme = _URL_SCHEME.match(conninfo)
    if scheme is not None and scheme.group(1).lower() not in ("postgresql", "postgres"):
        raise ValueError(
            f"PostgresAdapter takes a postgresql:// (or postgres://) URL or a 'key=value' conninfo string, "
            f"not a {scheme.group(1)}:// URL"
        )
    try:
        conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError as exc:
        raise ValueError(f"PostgresAdapter cannot read this conninfo: {exc}") from None
    options = dict(pool_options or {})
    if "timeout" in options:
        raise ValueError("pool_options may not set 'timeout': use PostgresAdapter(..., pool_timeout=...)")
    for taken in ("open", "connection_class"):
        if taken in options:
            raise ValueError(f"pool_options may not set {taken!r}: the adapter manages it")
    for size in ("min_size", "max_size"):
        value = options.get(size)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError(f"pool_options[{size!r}] must be a whole number of connections, not {value!r}")
    min_size, max_size = options.get("min_size", 1), options.get("max_size", 10)
    if max_size is not None and max_size < max(min_size, 1):
        raise ValueError(f"pool_options: max_size ({max_size}) must be at least min_size ({min_size}) and 1")
    for name in ("max_idle", "max_lifetime", "reconnect_timeout"):
        if name in options:
            positive_seconds(f"pool_options[{name!r}]", options[name])
    return options
