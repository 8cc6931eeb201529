"""The MySQL / MariaDB adapter's blocking twin: the same contract over PyMySQL, for the native sync path.

:class:`lucia.SyncLucia` drives the one async core with it in the calling thread (see
:mod:`lucia._blocking`): every method is ``async`` but never suspends. It opens PyMySQL
connections with the settings of the adapter it mirrors (autocommit, ``FOUND_ROWS``, the
server-side statement bounds) plus client-side read and write timeouts, and keeps up to
the pool's ``maxsize`` of them idle for reuse by any thread.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pymysql

from lucia import LuciaError, StorageError
from lucia.adapters import TableRole, constraint_error
from lucia.adapters._lifecycle import BlockingTwin
from lucia.adapters.sql import MARIADB, MYSQL, SQLStatements
from lucia_mysql._shared import DeadlockRetries, raise_storage_error

if TYPE_CHECKING:
    from lucia_mysql._adapter import MySQLAdapter

__all__ = ["BlockingMySQLAdapter"]


class BlockingMySQLAdapter(DeadlockRetries, BlockingTwin["MySQLAdapter"]):
    """:class:`~lucia_mysql.MySQLAdapter`'s twin on PyMySQL connections shared by threads."""

    def __init__(self, origin: MySQLAdapter) -> None:
        super().__init__(origin, MYSQL)
        options = dict(origin._connect_options)
        self._max_idle = max(1, int(options.pop("maxsize", 10)))
        for name in ("minsize", "pool_recycle", "echo"):
            options.pop(name, None)
        limit = origin._statement_limit
        options["database"] = options.pop("db", None)  # PyMySQL's own spelling (aiomysql says db)
        self._connect_kwargs = {**options, "read_timeout": limit, "write_timeout": limit}
        self._idle: list[pymysql.connections.Connection] = []
        self._detected = False

    def _new_connection(self) -> pymysql.connections.Connection:
        try:
            conn = pymysql.connect(**self._connect_kwargs)
        except (pymysql.err.Error, OSError) as exc:
            raise_storage_error(exc)
        if not self._detected:
            # RETURNING arrived in MariaDB 10.5; MySQL 8 has none (as the async adapter decides).
            dialect = MARIADB if "mariadb" in conn.get_server_info().lower() else MYSQL
            forced = self._origin._forced_returning
            if forced is not None:
                dialect = replace(dialect, delete_returning=forced)
            columns = self._sql.session_columns if self._inspected else None
            self._sql = SQLStatements(dialect, self._sql.tables, columns)
            self._detected = True
        return conn

    @contextmanager
    def _connection(self) -> Iterator[pymysql.connections.Connection]:
        with self._lock:
            if self._pid != os.getpid():  # inherited through fork(): the parent's, never used here
                self._pid, self._idle = os.getpid(), []
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._new_connection()
        try:
            yield conn
        except BaseException as exc:
            answered = isinstance(exc, (pymysql.err.IntegrityError, pymysql.err.ProgrammingError)) or (
                isinstance(exc, LuciaError) and not isinstance(exc, StorageError)
            )
            if not answered:
                conn.close()  # a connection in an unknown state never goes back
                if isinstance(exc, (pymysql.err.Error, OSError, TimeoutError)):
                    raise_storage_error(exc)
                raise
            self._give_back(conn)
            raise
        self._give_back(conn)

    def _give_back(self, conn: pymysql.connections.Connection) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle and conn.open and self._pid == os.getpid():
                self._idle.append(conn)
                return
        conn.close()

    async def connect(self) -> None:
        """Open one connection (and detect the server)."""
        with self._connection():
            pass

    async def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    async def _one(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        with self._connection() as conn, conn.cursor() as cursor:
            _execute(cursor, query, params)
            row: tuple[Any, ...] | None = cursor.fetchone()
            return row

    async def _one_with_names(self, query: str, params: Sequence[Any]) -> tuple[list[str], tuple[Any, ...]] | None:
        with self._connection() as conn, conn.cursor() as cursor:
            _execute(cursor, query, params)
            row: tuple[Any, ...] | None = cursor.fetchone()
            return None if row is None else ([column[0] for column in cursor.description], row)

    async def _all(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._connection() as conn, conn.cursor() as cursor:
            _execute(cursor, query, params)
            return list(cursor.fetchall())

    async def _write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        async def attempt() -> int:
            with self._connection() as conn, conn.cursor() as cursor:
                return _write(cursor, query, params, table)

        return await self._retrying(attempt)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_Transaction]:
        with self._connection() as conn:
            conn.begin()
            try:
                yield _Transaction(conn)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    async def _column_names(self, query: str) -> list[str] | None:
        with self._connection() as conn, conn.cursor() as cursor:
            try:
                cursor.execute(query)
            except pymysql.err.ProgrammingError as exc:
                if exc.args and exc.args[0] == 1146:  # ER_NO_SUCH_TABLE
                    return None
                raise
            return [column[0] for column in cursor.description]


class _Transaction:
    """Statements inside :meth:`BlockingMySQLAdapter._transaction`."""

    def __init__(self, conn: pymysql.connections.Connection) -> None:
        self._conn = conn

    async def one(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        with self._conn.cursor() as cursor:
            _execute(cursor, query, params)
            row: tuple[Any, ...] | None = cursor.fetchone()
            return row

    async def all(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._conn.cursor() as cursor:
            _execute(cursor, query, params)
            return list(cursor.fetchall())

    async def write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        with self._conn.cursor() as cursor:
            return _write(cursor, query, params, table)


def _execute(cursor: Any, query: str, params: Sequence[Any]) -> int:
    count: int = cursor.execute(query, tuple(params))
    return count


def _write(cursor: Any, query: str, params: Sequence[Any], table: TableRole | None) -> int:
    try:
        return _execute(cursor, query, params)
    except pymysql.err.IntegrityError as exc:
        error = None if table is None else constraint_error(table, MYSQL.violation(exc))
        if error is None:
            raise
        raise error from exc
