"""The SQLite adapter: thin driver calls around :mod:`lucia.adapters.sql`."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from os import PathLike
from types import TracebackType
from typing import Any

import aiosqlite
import anyio

from lucia.adapters import KeyRow, UserRow
from lucia.adapters.sql import (
    SQLITE,
    SQLAdapter,
    SQLStatements,
    TableNames,
    TableRole,
    Violation,
    constraint_error,
    key_params,
)

__all__ = ["SQLiteAdapter"]


class SQLiteAdapter(SQLAdapter):
    """Users, keys and sessions in SQLite.

    Given a path, the adapter opens two connections on first use: one for reads and
    one for writes, in WAL mode, so reads never wait behind a write transaction. Given
    an open :class:`aiosqlite.Connection` (or ``":memory:"``), it uses that one
    connection for everything: open it in autocommit mode
    (``aiosqlite.connect(path, isolation_level=None)``); the adapter turns foreign keys
    on and sets ``row_factory = sqlite3.Row`` (rows still index like tuples).

    Every write, and every multi-statement transaction (``set_user``), runs under one
    lock, so concurrent tasks never share a transaction by accident.

    Args:
        database: A file path, ``":memory:"``, or an open aiosqlite connection (you keep
            ownership: :meth:`close` does not close it).
        tables: Table names (default ``auth_user``, ``auth_session``, ``auth_key``).
        busy_timeout_ms: How long a write waits for another process's lock.
    """

    def __init__(
        self,
        database: str | PathLike[str] | aiosqlite.Connection,
        *,
        tables: TableNames | None = None,
        busy_timeout_ms: int = 5000,
    ) -> None:
        self._database = database
        self._sql = SQLStatements(SQLITE, tables)
        self._busy_timeout_ms = busy_timeout_ms
        self._reader: aiosqlite.Connection | None = None
        self._writer: aiosqlite.Connection | None = None
        self._owned: list[aiosqlite.Connection] = []
        self._write_lock = anyio.Lock()
        self._connect_lock = anyio.Lock()

    def __repr__(self) -> str:
        target = "<connection>" if isinstance(self._database, aiosqlite.Connection) else str(self._database)
        return f"SQLiteAdapter({target!r})"

    # -- connections -----------------------------------------------------------------

    async def _open(self, path: str | PathLike[str]) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        self._owned.append(conn)
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
            database = self._database
            if isinstance(database, aiosqlite.Connection):
                await self._configure(database)
                self._reader = self._writer = database
            elif str(database) == ":memory:" or str(database).startswith("file::memory:"):
                self._reader = self._writer = await self._open(database)
            else:
                writer = await self._open(database)
                await writer.execute("PRAGMA journal_mode = WAL")
                await writer.execute("PRAGMA synchronous = NORMAL")
                self._reader = await self._open(database)
                self._writer = writer

    async def close(self) -> None:
        """Close the connections the adapter opened."""
        owned, self._owned = self._owned, []
        self._reader = self._writer = None
        for conn in owned:
            await conn.close()

    async def __aenter__(self) -> SQLiteAdapter:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

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

    async def _all(self, query: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        conn = await self._read_conn()
        return list(await conn.execute_fetchall(query, params))

    async def _one(self, query: str, params: Sequence[Any]) -> sqlite3.Row | None:
        rows = await (self._reader or await self._read_conn()).execute_fetchall(query, params)
        for row in rows:
            return row
        return None

    async def _one_with_names(self, query: str, params: Sequence[Any]) -> tuple[list[str], sqlite3.Row] | None:
        # Every validation comes through here: one hop to the reader thread, nothing else.
        rows = await (self._reader or await self._read_conn()).execute_fetchall(query, params)
        for row in rows:
            return row.keys(), row
        return None

    async def _write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> None:
        conn = await self._write_conn()
        async with self._write_lock:
            try:
                await conn.execute(query, params)
            except sqlite3.IntegrityError as exc:
                raise self._translate(exc, table) from exc

    def _translate(self, exc: sqlite3.IntegrityError, table: TableRole | None) -> Exception:
        message = str(exc)
        if message.startswith("FOREIGN KEY constraint failed"):
            violation = Violation.FOREIGN_KEY
        elif table is not None and message == f"UNIQUE constraint failed: {self._bare(table)}.id":
            violation = Violation.PRIMARY_KEY
        else:
            violation = Violation.OTHER
        error = None if table is None else constraint_error(table, violation)
        return exc if error is None else error

    def _bare(self, table: TableRole) -> str:
        return str(getattr(self._sql.tables, table)).rsplit(".", 1)[-1]

    async def create_schema(self, *, user_columns: Mapping[str, str] | None = None) -> None:
        """Create the three tables and their indexes if they do not exist.

        Args:
            user_columns: Extra user columns, name to type (``{"username": "string"}``).
        """
        conn = await self._write_conn()
        async with self._write_lock:
            for statement in self._sql.schema(user_columns):
                await conn.execute(statement)

    # -- users -----------------------------------------------------------------------

    async def set_user(self, user: UserRow, key: KeyRow | None) -> None:
        """Insert a user and its primary key in one transaction."""
        columns = list(user.attributes)
        conn = await self._write_conn()
        async with self._write_lock:
            await conn.execute("BEGIN IMMEDIATE")
            table: TableRole = "user"
            try:
                await conn.execute(self._sql.insert_user(columns), (user.id, *user.attributes.values()))
                if key is not None:
                    table = "key"
                    await conn.execute(self._sql.insert_key, key_params(key))
            except BaseException as exc:
                await conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.IntegrityError):
                    raise self._translate(exc, table) from exc
                raise
            await conn.execute("COMMIT")

    # -- keys ------------------------------------------------------------------------

    async def use_single_use_key(self, key_id: str) -> KeyRow | None:
        """Delete and return a single-use key in one ``DELETE ... RETURNING`` statement.

        On the write connection, under the write lock, like every other write.
        """
        conn = await self._write_conn()
        async with self._write_lock:
            rows = list(await conn.execute_fetchall(self._sql.use_single_use_key, (key_id,)))
        return self._sql.key_row(rows[0]) if rows else None
