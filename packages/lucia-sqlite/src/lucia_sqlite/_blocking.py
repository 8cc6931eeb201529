"""The SQLite adapter's blocking twin: the same contract over ``sqlite3``, for the native sync path.

:class:`lucia.SyncLucia` drives the async core with it in the calling thread (see
:mod:`lucia._blocking`): every method is ``async`` but never suspends. Each thread gets
its own connection to the file (WAL mode), so readers never wait for each other and
writers queue on SQLite's own lock (``busy_timeout``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from os import PathLike
from typing import Any

from lucia.adapters import TableRole
from lucia.adapters.sql import SQLITE, SQLAdapter, SQLStatements, TableNames
from lucia_sqlite._errors import raise_storage_error, translate_integrity_error

__all__ = ["BlockingSQLiteAdapter"]

_twins: weakref.WeakSet[BlockingSQLiteAdapter] = weakref.WeakSet()


def _forget_after_fork() -> None:
    for twin in list(_twins):
        twin._forget_connections()


os.register_at_fork(after_in_child=_forget_after_fork)


class BlockingSQLiteAdapter(SQLAdapter):
    """Users, keys and sessions in a SQLite file through ``sqlite3``, one connection per thread.

    Args:
        path: The database file.
        tables: Table names.
        busy_timeout_ms: How long a write waits for another connection's lock.
    """

    def __init__(self, path: str | PathLike[str], *, tables: TableNames | None = None, busy_timeout_ms: int) -> None:
        self._path = str(path)
        self._sql = SQLStatements(SQLITE, tables)
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._wal = False
        _twins.add(self)

    def __repr__(self) -> str:
        return f"BlockingSQLiteAdapter({self._path!r})"

    def _forget_connections(self) -> None:
        self._local = threading.local()
        self._connections = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
                with self._lock:  # WAL is a property of the file: set it once, not from 16 threads at once
                    if not self._wal:
                        conn.execute("PRAGMA journal_mode = WAL")
                        self._wal = True
            except sqlite3.Error as exc:
                raise_storage_error(exc)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    async def connect(self) -> None:
        """Open this thread's connection."""
        self._conn()

    async def close(self) -> None:
        """Close every connection the twin opened."""
        with self._lock:
            connections, self._connections = self._connections, []
        self._local = threading.local()
        for conn in connections:
            conn.close()

    async def _all(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        try:
            return self._conn().execute(query, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise_storage_error(exc)

    async def _one(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        try:
            row: tuple[Any, ...] | None = self._conn().execute(query, params).fetchone()
        except sqlite3.OperationalError as exc:
            raise_storage_error(exc)
        return row

    async def _one_with_names(self, query: str, params: Sequence[Any]) -> tuple[list[str], tuple[Any, ...]] | None:
        try:
            cursor = self._conn().execute(query, params)
            row: tuple[Any, ...] | None = cursor.fetchone()
        except sqlite3.OperationalError as exc:
            raise_storage_error(exc)
        if row is None:
            return None
        return self._names_of(query, len(row), lambda: [column[0] for column in cursor.description]), row

    async def _write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        return _run(self._conn(), query, params, table)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_Transaction]:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise_storage_error(exc)
        try:
            yield _Transaction(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def _column_names(self, query: str) -> list[str] | None:
        try:
            cursor = self._conn().execute(query)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise_storage_error(exc)
        return [column[0] for column in cursor.description]


class _Transaction:
    """Statements inside :meth:`BlockingSQLiteAdapter._transaction`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def one(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._conn.execute(query, params).fetchone()
        return row

    async def all(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self._conn.execute(query, params).fetchall()

    async def write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        return _run(self._conn, query, params, table)


def _run(conn: sqlite3.Connection, query: str, params: Sequence[Any], table: TableRole | None) -> int:
    try:
        return conn.execute(query, params).rowcount
    except sqlite3.IntegrityError as exc:
        translate_integrity_error(exc, table)
    except sqlite3.OperationalError as exc:
        raise_storage_error(exc)
