"""The SQLite adapter: thin driver calls around :mod:`lucia.adapters.sql`."""

from __future__ import annotations

import os
import sqlite3
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from os import PathLike
from typing import Any

import aiosqlite
import anyio

from lucia.adapters import TableRole
from lucia.adapters._lifecycle import AsyncSQLAdapter
from lucia.adapters.sql import SQLITE, SQLStatements, TableNames
from lucia_sqlite._blocking import BlockingSQLiteAdapter
from lucia_sqlite._errors import raise_storage_error, translate_integrity_error

__all__ = ["SQLiteAdapter"]

#: Every adapter with open connections, so a forked child can drop what it inherited.
_open_adapters: weakref.WeakSet[SQLiteAdapter] = weakref.WeakSet()


def _forget_after_fork() -> None:
    # aiosqlite runs each connection on a thread, and threads do not survive fork():
    # the child forgets the inherited connections (without closing the parent's) and
    # opens its own on first use.
    for adapter in list(_open_adapters):
        adapter._forget_connections()
    _open_adapters.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


class SQLiteAdapter(AsyncSQLAdapter):
    """Users, keys and sessions in SQLite.

    ::

        adapter = SQLiteAdapter("app.db")
        await adapter.create_schema(user_columns={"username": "string"})
        auth = Lucia(adapter=adapter)
        ...
        await adapter.close()

    Given a path, the adapter opens two connections on first use: one for reads and
    one for writes, in WAL mode, so reads never wait behind a write transaction. Given
    an open :class:`aiosqlite.Connection` (or ``":memory:"``), it uses that one
    connection for everything: open it in autocommit mode
    (``aiosqlite.connect(path, isolation_level=None)``); the adapter turns foreign keys
    on and sets ``row_factory = sqlite3.Row`` (rows still index like tuples).

    Every write, and every multi-statement transaction, runs under one lock, so
    concurrent tasks never share a transaction by accident. A transaction is
    cancellation-safe: its ``BEGIN``, ``COMMIT`` and ``ROLLBACK`` run shielded, so a
    caller's timeout never leaves the connection inside an open transaction.

    Args:
        database: A file path, ``":memory:"``, or an open aiosqlite connection (you keep
            ownership: :meth:`close` does not close it).
        tables: Table names (default ``auth_user``, ``auth_session``, ``auth_key``, ...).
        busy_timeout_ms: How long a write waits for another process's lock before
            failing with :class:`lucia.StorageTimeoutError`.
    """

    def __init__(
        self,
        database: str | PathLike[str] | aiosqlite.Connection,
        *,
        tables: TableNames | None = None,
        busy_timeout_ms: int = 5000,
    ) -> None:
        if isinstance(busy_timeout_ms, bool) or not isinstance(busy_timeout_ms, int) or busy_timeout_ms <= 0:
            raise ValueError("busy_timeout_ms must be a positive integer")
        self._database = database
        self._sql = SQLStatements(SQLITE, tables)
        self._busy_timeout_ms = busy_timeout_ms
        self._reader: aiosqlite.Connection | None = None
        self._writer: aiosqlite.Connection | None = None
        self._owned: list[aiosqlite.Connection] = []
        self._write_lock = anyio.Lock()
        self._connect_lock = anyio.Lock()
        self._inherited_connection = False
        self._twin: BlockingSQLiteAdapter | None = None

    def __repr__(self) -> str:
        target = "<connection>" if isinstance(self._database, aiosqlite.Connection) else str(self._database)
        return f"SQLiteAdapter({target!r})"

    # -- connections -----------------------------------------------------------------

    async def _open(self, path: str | PathLike[str]) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        self._owned.append(conn)
        _open_adapters.add(self)
        await self._configure(conn)
        return conn

    async def _configure(self, conn: aiosqlite.Connection) -> None:
        if conn.isolation_level is not None:
            raise ValueError(
                "SQLiteAdapter needs an autocommit connection: aiosqlite.connect(path, isolation_level=None)"
            )
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")

    async def connect(self) -> None:
        """Open the connection(s). Called on first use; calling it again does nothing."""
        async with self._connect_lock:
            if self._writer is not None:
                return
            if self._inherited_connection:
                raise RuntimeError(
                    "this SQLiteAdapter was given an aiosqlite connection before os.fork(); a connection's "
                    "thread does not survive fork: give SQLiteAdapter a path, or create it in the worker"
                )
            try:
                database = self._database
                if isinstance(database, aiosqlite.Connection):
                    await self._configure(database)
                    _open_adapters.add(self)
                    self._reader = self._writer = database
                elif str(database) == ":memory:" or str(database).startswith("file::memory:"):
                    self._reader = self._writer = await self._open(database)
                else:
                    writer = await self._open(database)
                    await writer.execute("PRAGMA journal_mode = WAL")
                    await writer.execute("PRAGMA synchronous = NORMAL")
                    self._reader = await self._open(database)
                    self._writer = writer
            except sqlite3.Error as exc:
                raise_storage_error(exc)

    def blocking_twin(self) -> BlockingSQLiteAdapter | None:
        """The same database through ``sqlite3``, for :class:`lucia.SyncLucia`'s native path.

        ``None`` for an in-memory database or a connection you gave the adapter: those
        cannot be opened again from other threads.
        """
        database = self._database
        if (
            isinstance(database, aiosqlite.Connection)
            or str(database) == ":memory:"
            or str(database).startswith("file::memory:")
        ):
            return None
        if self._twin is None:
            self._twin = BlockingSQLiteAdapter(database, tables=self._sql.tables, busy_timeout_ms=self._busy_timeout_ms)
        return self._twin

    def _forget_connections(self) -> None:
        self._inherited_connection = isinstance(self._database, aiosqlite.Connection)
        self._reader = self._writer = None
        self._owned = []
        self._write_lock = anyio.Lock()
        self._connect_lock = anyio.Lock()

    async def close(self) -> None:
        """Close the connections the adapter (and its blocking twin) opened."""
        if self._twin is not None:
            await self._twin.close()
        owned, self._owned = self._owned, []
        self._reader = self._writer = None
        for conn in owned:
            await conn.close()

    async def _read_conn(self) -> aiosqlite.Connection:
        if self._reader is None:
            await self.connect()
        assert self._reader is not None
        return self._reader

    async def _write_conn(self) -> aiosqlite.Connection:
        if self._writer is None:
            await self.connect()
        assert self._writer is not None
        return self._writer

    # -- driver calls ----------------------------------------------------------------

    async def _all(self, query: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        conn = self._reader or await self._read_conn()
        return await _fetch(conn, query, params)

    async def _one(self, query: str, params: Sequence[Any]) -> sqlite3.Row | None:
        for row in await _fetch(self._reader or await self._read_conn(), query, params):
            return row
        return None

    async def _write_one(self, query: str, params: Sequence[Any]) -> sqlite3.Row | None:
        conn = self._writer or await self._write_conn()
        async with self._write_lock:
            for row in await _fetch(conn, query, params):
                return row
        return None

    async def _one_with_names(self, query: str, params: Sequence[Any]) -> tuple[list[str], sqlite3.Row] | None:
        # Every validation comes through here: one hop to the reader thread, nothing else.
        for row in await _fetch(self._reader or await self._read_conn(), query, params):
            return self._names_of(query, len(row), row.keys), row
        return None

    async def _write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        conn = self._writer or await self._write_conn()
        async with self._write_lock:
            return await _run(conn, query, params, table)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_Transaction]:
        conn = self._writer or await self._write_conn()
        async with self._write_lock:
            # Shielded: once BEGIN is sent it runs, cancelled or not, so we must know the
            # outcome and end the transaction, or every later write would join it.
            with anyio.CancelScope(shield=True):
                try:
                    await conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    raise_storage_error(exc)
            try:
                yield _Transaction(conn)
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await conn.execute("ROLLBACK")
                raise
            with anyio.CancelScope(shield=True):
                try:
                    await conn.execute("COMMIT")
                except BaseException:
                    await conn.execute("ROLLBACK")
                    raise

    async def _column_names(self, query: str) -> list[str] | None:
        conn = self._reader or await self._read_conn()
        try:
            cursor = await conn.execute(query)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise_storage_error(exc)
        try:
            return [column[0] for column in cursor.description]
        finally:
            await cursor.close()

    async def _run_ddl(self, statements: Sequence[str]) -> None:
        conn = await self._write_conn()
        async with self._write_lock:
            for statement in statements:
                await conn.execute(statement)


class _Transaction:
    """Statements inside :meth:`SQLiteAdapter._transaction`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def one(self, query: str, params: Sequence[Any]) -> sqlite3.Row | None:
        for row in await _fetch(self._conn, query, params):
            return row
        return None

    async def all(self, query: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        return list(await _fetch(self._conn, query, params))

    async def write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        return await _run(self._conn, query, params, table)


async def _fetch(conn: aiosqlite.Connection, query: str, params: Sequence[Any]) -> list[sqlite3.Row]:
    try:
        return list(await conn.execute_fetchall(query, params))
    except sqlite3.OperationalError as exc:
        raise_storage_error(exc)


async def _run(conn: aiosqlite.Connection, query: str, params: Sequence[Any], table: TableRole | None) -> int:
    try:
        cursor = await conn.execute(query, params)
    except sqlite3.IntegrityError as exc:
        translate_integrity_error(exc, table)
    except sqlite3.OperationalError as exc:
        raise_storage_error(exc)
    count = cursor.rowcount
    await cursor.close()
    return count
