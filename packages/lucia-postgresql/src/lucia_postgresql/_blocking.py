"""The PostgreSQL adapter's blocking twin: the same contract over psycopg's synchronous pool.

:class:`lucia.SyncLucia` drives the one async core with it in the calling thread (see
:mod:`lucia._blocking`): every method is ``async`` but never suspends, so a Flask or
Django view validates a session with one round trip on a pooled connection and no event
loop in between. It takes the conninfo, connection settings (autocommit, the server-side
``statement_timeout``, ``connect_timeout``) and pool sizes of the adapter it mirrors; a
stalled server is bounded by libpq's ``tcp_user_timeout`` as well.
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
import psycopg.errors
from psycopg_pool import ConnectionPool, PoolTimeout

from lucia import StorageTimeoutError
from lucia.adapters import TableRole
from lucia.adapters._lifecycle import BlockingTwin
from lucia.adapters.sql import POSTGRESQL
from lucia_postgresql._errors import result_names, storage_error

if TYPE_CHECKING:
    from lucia_postgresql._adapter import PostgresAdapter

__all__ = ["BlockingPostgresAdapter"]


class BlockingPostgresAdapter(BlockingTwin["PostgresAdapter"]):
    """:class:`~lucia_postgresql.PostgresAdapter`'s twin on ``psycopg_pool.ConnectionPool``."""

    def __init__(self, origin: PostgresAdapter) -> None:
        super().__init__(origin, POSTGRESQL)
        self._pool: ConnectionPool[Any] | None = None

    def _connections(self) -> ConnectionPool[Any]:
        pool = self._pool
        if pool is not None and self._pid == os.getpid():
            return pool
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                # A pool inherited through fork() belongs to the parent: never used nor closed here.
                self._pid = os.getpid()
                settings = self._origin.pool_settings()
                assert settings is not None  # the origin offers a twin only when it has them
                conninfo, kwargs, options = settings
                origin = self._origin
                limit = origin._statement_timeout + origin._connect_timeout
                kwargs.setdefault("tcp_user_timeout", math.ceil(limit * 1000))
                options.pop("reconnect_timeout", None)
                self._pool = ConnectionPool(conninfo, kwargs=kwargs, timeout=origin._pool_timeout, open=True, **options)
            return self._pool

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._connections().connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise StorageTimeoutError(None, "no PostgreSQL connection became free in time") from exc
        except psycopg.Error as exc:
            if isinstance(exc, psycopg.IntegrityError):
                raise
            error = storage_error(exc)
            if error is None:
                raise
            raise error from exc

    async def connect(self) -> None:
        """Open the pool."""
        self._connections()

    async def close(self) -> None:
        """Close the twin's pool."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.close()

    async def _one(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        with self._connection() as conn:
            row: tuple[Any, ...] | None = conn.execute(query, params, prepare=True).fetchone()
            return row

    async def _one_with_names(self, query: str, params: Sequence[Any]) -> tuple[list[str], tuple[Any, ...]] | None:
        with self._connection() as conn:
            cursor = conn.execute(query, params, prepare=True)
            row: tuple[Any, ...] | None = cursor.fetchone()
            if row is None:
                return None
            return self._names_of(query, len(row), lambda: result_names(cursor, conn)), row

    async def _all(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return conn.execute(query, params, prepare=True).fetchall()

    async def _write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        with self._connection() as conn:
            return self._execute_write(conn, query, params, table)

    def _execute_write(
        self, conn: psycopg.Connection[Any], query: str, params: Sequence[Any], table: TableRole | None
    ) -> int:
        try:
            return conn.execute(query, params, prepare=True).rowcount
        except psycopg.IntegrityError as exc:
            error = None if table is None else self._origin._constraint_error(exc)
            if error is None:
                raise
            raise error from exc

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[_Transaction]:
        with self._connection() as conn, conn.transaction():
            yield _Transaction(self, conn)

    async def _column_names(self, query: str) -> list[str] | None:
        with self._connection() as conn:
            try:
                cursor = conn.execute(query)
            except psycopg.errors.UndefinedTable:
                return None
            return [column.name for column in cursor.description or ()]


class _Transaction:
    """Statements inside :meth:`BlockingPostgresAdapter._transaction`."""

    def __init__(self, adapter: BlockingPostgresAdapter, conn: psycopg.Connection[Any]) -> None:
        self._adapter = adapter
        self._conn = conn

    async def one(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._conn.execute(query, params, prepare=True).fetchone()
        return row

    async def all(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self._conn.execute(query, params, prepare=True).fetchall()

    async def write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        return self._adapter._execute_write(self._conn, query, params, table)
