"""The MySQL / MariaDB adapter: thin aiomysql calls around :mod:`lucia.adapters.sql`."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import aiomysql
import anyio

from lucia import StorageError, StorageTimeoutError
from lucia.adapters import TableRole, constraint_error
from lucia.adapters._lifecycle import ServerSQLAdapter, positive_seconds
from lucia.adapters.sql import MARIADB, MYSQL, SQLStatements, TableNames
from lucia_mysql._blocking import BlockingMySQLAdapter
from lucia_mysql._shared import _FOUND_ROWS, DeadlockRetries, raise_storage_error

__all__ = ["MySQLAdapter"]

_T = TypeVar("_T")
_Cursor = Any  # aiomysql.Cursor (aiomysql ships no type hints)


class MySQLAdapter(DeadlockRetries, ServerSQLAdapter):
    """Users, keys, sessions, throttling and passkeys in MySQL 8 or MariaDB 10.6+, on aiomysql.

    ::

        adapter = MySQLAdapter("mysql://app:secret@127.0.0.1:3306/app", statement_timeout=5)
        await adapter.create_schema(user_columns={"username": "string"})
        auth = Lucia(adapter=adapter)
        ...
        await adapter.close()

    Give it a URL (``mysql://user:password@host:3306/db``, or ``mariadb://``) and the
    adapter creates its own pool on first use; close it with :meth:`close` or use the
    adapter as an async context manager. Give it an :class:`aiomysql.Pool` created with
    ``autocommit=True``, ``client_flag=pymysql.constants.CLIENT.FOUND_ROWS`` (an ``UPDATE``
    then reports the rows it matched, as on the other databases) and ``charset="utf8mb4"``,
    and you own the pool: :meth:`close` leaves it alone.

    The server is detected on the first connection. Single-use keys are consumed with one
    ``DELETE ... RETURNING`` on MariaDB; MySQL 8 has none, so there the adapter locks the
    row (``SELECT ... FOR UPDATE``) and deletes it in one transaction.

    Timeouts: every call fails within ``pool_timeout + statement_timeout + 1`` seconds
    (9 s with the defaults), also against a server that stopped answering, with
    :class:`lucia.StorageTimeoutError`; a server that refuses or drops connections gives
    :class:`lucia.StorageUnavailableError`. The driver's error is the ``__cause__``. A
    statement that times out or is cancelled closes its connection (aiomysql does not
    know where the protocol stands), so no connection in an unknown state is reused.

    Processes: a pool opened before ``os.fork()`` (``gunicorn --preload``) is left to the
    parent (the child notices the new process id and never uses nor closes it); the child
    opens its own on first use. A pool you passed in cannot be
    replaced: using it in a forked child raises :class:`lucia.ConfigurationError`.

    Args:
        pool: A ``mysql://`` or ``mariadb://`` URL for a pool the adapter owns, or a pool
            you manage.
        tables: Table names (default ``auth_user``, ``auth_session``, ``auth_key``, ...).
        pool_options: Keyword arguments for the pool the adapter creates (``minsize``,
            ``maxsize``, ``pool_recycle``, ``ssl``, ...). Not allowed with a pool; the
            timeouts are the arguments below.
        delete_returning: Force (``True``) or forbid (``False``) ``DELETE ... RETURNING``
            instead of detecting it, e.g. behind a proxy that hides the server's name.
        connect_timeout: Seconds to open a TCP connection to the server.
        pool_timeout: Seconds a call waits for a pooled (or a new) connection.
        statement_timeout: Seconds a statement may run. The server enforces it on the
            adapter's own connections (MariaDB ``max_statement_time``; lock waits via
            ``innodb_lock_wait_timeout`` on both, in whole seconds), unless you give an
            ``init_command`` in ``pool_options``; one second later the client gives up on
            a server that does not answer at all.

    Raises:
        ValueError: A URL of another database, a timeout that is not a positive number,
            or pool options that cannot work (``maxsize`` below ``minsize``, ...).
    """

    def __init__(
        self,
        pool: aiomysql.Pool | str,
        *,
        tables: TableNames | None = None,
        pool_options: Mapping[str, Any] | None = None,
        delete_returning: bool | None = None,
        connect_timeout: float = 5.0,
        pool_timeout: float = 3.0,
        statement_timeout: float = 5.0,
    ) -> None:
        self._start(connect_timeout, pool_timeout, statement_timeout)
        self._pool: aiomysql.Pool | None
        if isinstance(pool, str):
            self._pool = None
            self._connect_options = _pool_settings(pool, pool_options, self._connect_timeout, self._statement_timeout)
        elif isinstance(pool, aiomysql.Pool):
            if pool_options is not None:
                raise TypeError("pool_options configures a pool the adapter creates; configure your own pool yourself")
            self._pool = pool
            self._connect_options = {}
        else:
            raise TypeError("MySQLAdapter takes a mysql:// or mariadb:// URL, or an aiomysql pool")
        self._owns_pool = self._pool is None
        self._forced_returning = delete_returning
        self._mariadb = False
        self._ready = False
        self._connect_lock = asyncio.Lock()
        self._sql = SQLStatements(MYSQL, tables)
        self._twin: BlockingMySQLAdapter | None = None

    def __repr__(self) -> str:
        if self._owns_pool:
            where = f"{self._connect_options.get('host')}:{self._connect_options.get('port')}"
            return f"MySQLAdapter({where!r}, db={self._connect_options.get('db')!r})"
        return "MySQLAdapter(<pool>)"

    @property
    def pool(self) -> aiomysql.Pool | None:
        """The connection pool (``None`` until an adapter-owned pool is first opened)."""
        return self._pool

    @property
    def uses_delete_returning(self) -> bool:
        """Whether single-use keys are consumed with ``DELETE ... RETURNING`` (known once connected)."""
        return self._sql.dialect.delete_returning

    # -- lifecycle -------------------------------------------------------------------

    async def connect(self) -> None:
        """Create the adapter's own pool and detect the server (done on first use)."""
        self._enter_process()
        async with self._connect_lock:
            if self._ready:
                return
            if self._pool is None:
                # Not aiomysql.create_pool(): it would connect right here, where a timeout
                # could only abandon a half-open connection. The first acquire connects.
                options = dict(self._connect_options)
                sizes = {name: options.pop(name) for name in ("minsize", "maxsize", "pool_recycle", "echo")}
                self._pool = aiomysql.Pool(loop=asyncio.get_running_loop(), **sizes, **options)
            pool, conn = await self._acquire_from_pool()
            try:
                if not conn.get_autocommit():
                    raise ValueError(
                        "MySQLAdapter needs an autocommit pool: aiomysql.create_pool(..., autocommit=True)"
                    )
                if not conn.client_flag & _FOUND_ROWS:
                    raise ValueError(
                        "MySQLAdapter needs a pool whose UPDATEs report the rows they match: aiomysql.create_pool"
                        "(..., client_flag=pymysql.constants.CLIENT.FOUND_ROWS)"
                    )
                self._mariadb = "mariadb" in str(conn.get_server_info()).lower()
            finally:
                pool.release(conn)
            # RETURNING arrived in MariaDB 10.5; MySQL 8 has none.
            dialect = MARIADB if self._mariadb else MYSQL
            if self._forced_returning is not None:
                dialect = replace(dialect, delete_returning=self._forced_returning)
            columns = self._sql.session_columns if self._inspected else None
            self._sql = SQLStatements(dialect, self._sql.tables, columns)
            self._ready = True

    def blocking_twin(self) -> BlockingMySQLAdapter | None:
        """The same server and settings through PyMySQL, for :class:`lucia.SyncLucia`'s native path.

        ``None`` for a pool you gave the adapter (its connection settings are its own).
        """
        if self._twin is None and self._owns_pool:
            self._twin = BlockingMySQLAdapter(self)
        return self._twin

    async def close(self) -> None:
        """Close the pool if the adapter created it (and the blocking twin's connections); a given pool stays open."""
        if self._twin is not None:
            await self._twin.close()
        if self._owns_pool and self._pool is not None:
            pool, self._pool = self._pool, None
            self._ready = False
            pool.close()
            await pool.wait_closed()

    def _forget_inherited_pool(self) -> None:
        """In a forked child: leave the parent's pool alone (never use nor close it here) and start afresh.

        Keeping the pool referenced keeps its connections from being finalised (closed) here.
        """
        self._pid = os.getpid()
        self._connect_lock = asyncio.Lock()
        self._ready = False
        if self._pool is None or self._pool.closed:
            return
        self._inherited.append(self._pool)
        if self._owns_pool:
            self._pool = None

    # -- bounded, cancellation-safe driver calls ----------------------------------------

    async def _acquire(self) -> tuple[aiomysql.Pool, aiomysql.Connection]:
        """A pooled connection (and its pool, to give it back to) within ``pool_timeout``."""
        if not self._ready or self._pid != os.getpid():
            await self.connect()
        return await self._acquire_from_pool()

    async def _acquire_from_pool(self) -> tuple[aiomysql.Pool, aiomysql.Connection]:
        """Acquire in a task of its own, which a caller that stops waiting leaves to finish.

        aiomysql opens new connections inside ``acquire()``; cancelling it there would
        leak the half-open connection. A connection that arrives late goes back to the pool.
        """
        pool = self._pool
        assert pool is not None
        getting = asyncio.ensure_future(_acquire_from(pool))
        try:
            await asyncio.wait((getting,), timeout=self._pool_timeout)
        except asyncio.CancelledError:
            getting.add_done_callback(lambda task: _release_when_acquired(pool, task))
            raise
        if not getting.done():
            getting.add_done_callback(lambda task: _release_when_acquired(pool, task))
            raise StorageTimeoutError(
                None, f"no MySQL connection within pool_timeout ({self._pool_timeout:g} s)"
            ) from TimeoutError()
        try:
            conn: aiomysql.Connection = getting.result()
        except (aiomysql.Error, OSError) as exc:
            raise_storage_error(exc)
        return pool, conn

    async def _statement(self, conn: aiomysql.Connection, run: Callable[[_Cursor], Awaitable[_T]]) -> _T:
        """Run one statement within the statement bound; translate storage errors."""
        try:
            async with _time_limit(self._statement_limit), conn.cursor() as cursor:
                return await run(cursor)
        except BaseException as exc:
            if not isinstance(exc, Exception) or isinstance(exc, TimeoutError):
                # Cancelled or timed out: aiomysql may be mid-packet. Never reuse this connection.
                conn.close()
            if isinstance(exc, (aiomysql.Error, OSError, TimeoutError)):
                raise_storage_error(exc)
            raise

    async def _call(self, run: Callable[[_Cursor], Awaitable[_T]]) -> _T:
        pool, conn = await self._acquire()
        try:
            return await self._statement(conn, run)
        finally:
            # A closed connection leaves the pool; one still in a transaction is closed by it.
            pool.release(conn)

    async def _one(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        async def run(cursor: _Cursor) -> tuple[Any, ...] | None:
            await _execute(cursor, query, params)
            row: tuple[Any, ...] | None = await cursor.fetchone()
            return row

        return await self._call(run)

    async def _one_with_names(self, query: str, params: Sequence[Any]) -> tuple[list[str], tuple[Any, ...]] | None:
        async def run(cursor: _Cursor) -> tuple[list[str], tuple[Any, ...]] | None:
            await _execute(cursor, query, params)
            row: tuple[Any, ...] | None = await cursor.fetchone()
            return None if row is None else ([column[0] for column in cursor.description], row)

        return await self._call(run)

    async def _all(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        async def run(cursor: _Cursor) -> list[tuple[Any, ...]]:
            await _execute(cursor, query, params)
            return list(await cursor.fetchall())

        return await self._call(run)

    async def _write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        write = _writer(query, params, table)
        return await self._retrying(lambda: self._call(write))

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_Transaction]:
        pool, conn = await self._acquire()
        try:
            await self._statement(conn, lambda _: conn.begin())
            yield _Transaction(self, conn)
            await self._statement(conn, lambda _: conn.commit())
        except BaseException as exc:
            await self._abort(conn, exc)
            raise
        finally:
            pool.release(conn)

    async def _abort(self, conn: aiomysql.Connection, exc: BaseException) -> None:
        """Roll back after an error the server reported; otherwise drop the connection (the server rolls back)."""
        if conn.closed:
            return
        if isinstance(exc, Exception) and not isinstance(exc, StorageError):
            with contextlib.suppress(Exception):  # a failed rollback closes the connection below
                await self._statement(conn, lambda _: conn.rollback())
                return
        conn.close()

    async def _column_names(self, query: str) -> list[str] | None:
        async def run(cursor: _Cursor) -> list[str] | None:
            try:
                await cursor.execute(query)
            except aiomysql.ProgrammingError as exc:
                if exc.args and exc.args[0] == 1146:  # table doesn't exist
                    return None
                raise
            return [column[0] for column in cursor.description]

        return await self._call(run)

    def _ddl_statements(self) -> SQLStatements:
        return SQLStatements(MARIADB if self._mariadb else MYSQL, self._sql.tables)

    async def _run_ddl(self, statements: Sequence[str]) -> None:
        async def run(cursor: _Cursor) -> None:
            # "Table already exists" notes would surface as Python warnings.
            await cursor.execute("SET @@SESSION.sql_notes = 0")
            try:
                for statement in statements:
                    await cursor.execute(statement)
            finally:
                await cursor.execute("SET @@SESSION.sql_notes = 1")

        await self._call(run)


class _Transaction:
    """Statements inside :meth:`MySQLAdapter._transaction`, each bounded like a call."""

    __slots__ = ("adapter", "conn")

    def __init__(self, adapter: MySQLAdapter, conn: aiomysql.Connection) -> None:
        self.adapter = adapter
        self.conn = conn

    async def one(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        async def run(cursor: _Cursor) -> tuple[Any, ...] | None:
            await _execute(cursor, query, params)
            row: tuple[Any, ...] | None = await cursor.fetchone()
            return row

        return await self.adapter._statement(self.conn, run)

    async def all(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        async def run(cursor: _Cursor) -> list[tuple[Any, ...]]:
            await _execute(cursor, query, params)
            return list(await cursor.fetchall())

        return await self.adapter._statement(self.conn, run)

    async def write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        return await self.adapter._statement(self.conn, _writer(query, params, table))


def _writer(query: str, params: Sequence[Any], table: TableRole | None) -> Callable[[_Cursor], Awaitable[int]]:
    """A write whose constraint violations (of an insert into ``table``) become Lucia's errors."""

    async def run(cursor: _Cursor) -> int:
        try:
            count = await _execute(cursor, query, params)
        except aiomysql.IntegrityError as exc:
            error = None if table is None else constraint_error(table, MYSQL.violation(exc))
            if error is None:
                raise
            raise error from exc
        return count

    return run


async def _execute(cursor: _Cursor, query: str, params: Sequence[Any]) -> int:
    """``cursor.execute``, spelling out binary parameters itself.

    aiomysql escapes ``bytes`` with a PyMySQL helper that PyMySQL 1.2 turned into a
    placeholder string, so a ``bytes`` parameter (a passkey's public key) is written here
    as the ``_binary X'..'`` literal PyMySQL itself uses; every other value is escaped by
    the connection, exactly as ``cursor.execute(query, params)`` would.
    """
    if not any(isinstance(value, (bytes, bytearray)) for value in params):
        count: int = await cursor.execute(query, params)
        return count
    conn = cursor.connection
    literals = tuple(
        f"_binary X'{bytes(value).hex()}'" if isinstance(value, (bytes, bytearray)) else conn.escape(value)
        for value in params
    )
    count = await cursor.execute(query % literals)
    return count


async def _acquire_from(pool: aiomysql.Pool) -> aiomysql.Connection:
    conn: aiomysql.Connection = await pool.acquire()
    return conn


def _release_when_acquired(pool: aiomysql.Pool, task: asyncio.Future[aiomysql.Connection]) -> None:
    """Give back a connection that arrived after its caller stopped waiting."""
    if not task.cancelled() and task.exception() is None:
        pool.release(task.result())


if sys.version_info >= (3, 11):
    _time_limit = asyncio.timeout  # the cheapest correct deadline on a task (TimeoutError)
else:

    @asynccontextmanager
    async def _time_limit(seconds: float) -> AsyncIterator[None]:
        with anyio.fail_after(seconds):
            yield


def _pool_settings(
    url: str, pool_options: Mapping[str, Any] | None, connect_timeout: float, statement_timeout: float
) -> dict[str, Any]:
    """The ``aiomysql.create_pool`` keywords for a URL, the options and the timeouts; refuses what cannot work."""
    parts = urlsplit(url)
    if parts.scheme not in {"mysql", "mariadb"}:
        raise ValueError(
            f"MySQLAdapter takes a mysql:// or mariadb:// URL (or an aiomysql pool), not {parts.scheme or url!r}"
        )
    options = {"minsize": 1, "maxsize": 10, "pool_recycle": -1, "echo": False, **(pool_options or {})}
    for taken in ("connect_timeout", "autocommit", "loop"):
        if taken in (pool_options or {}):
            raise ValueError(f"pool_options may not set {taken!r}: the adapter manages it")
    for size in ("minsize", "maxsize"):
        value = options[size]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"pool_options[{size!r}] must be a whole number of connections, not {value!r}")
    if options["maxsize"] < max(options["minsize"], 1):
        raise ValueError(
            f"pool_options: maxsize ({options['maxsize']}) must be at least minsize ({options['minsize']}) and 1"
        )
    if "pool_recycle" in options and options["pool_recycle"] != -1:
        positive_seconds("pool_options['pool_recycle']", options["pool_recycle"])
    # The server stops a statement that runs too long (MariaDB; both bound lock waits).
    # /*M! ... */ is run by MariaDB only: MySQL 8 has no max_statement_time.
    seconds = f"{statement_timeout:.3f}".rstrip("0").rstrip(".")
    init = f"SET SESSION innodb_lock_wait_timeout = {max(1, math.ceil(statement_timeout))}"
    init += f"/*M!100108 , SESSION max_statement_time = {seconds}*/"
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "db": unquote(parts.path.lstrip("/")) or None,
        "charset": "utf8mb4",
        "client_flag": _FOUND_ROWS,
        "init_command": init,
        **options,
        "connect_timeout": connect_timeout,
        "autocommit": True,
    }
