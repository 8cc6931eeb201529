"""The MySQL / MariaDB adapter: thin aiomysql calls around :mod:`lucia.adapters.sql`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomysql

from lucia.adapters import KeyRow, UserRow
from lucia.adapters.sql import (
    MARIADB,
    MYSQL,
    SQLAdapter,
    SQLStatements,
    TableNames,
    TableRole,
    Violation,
    constraint_error,
    key_params,
)

__all__ = ["MySQLAdapter"]

_DUPLICATE_ENTRY = 1062
_NO_REFERENCED_ROW = 1452
#: "Duplicate entry '...' for key 'PRIMARY'" (MariaDB, MySQL < 8.0.19) or "... 'auth_key.PRIMARY'" (MySQL 8).
_PRIMARY_KEY_MESSAGE = re.compile(r"for key '(?:[^']*\.)?PRIMARY'$")


class MySQLAdapter(SQLAdapter):
    """Users, keys and sessions in MySQL 8 or MariaDB 10.6+, on aiomysql's pool.

    Give it an :class:`aiomysql.Pool` created with ``autocommit=True`` (and
    ``charset="utf8mb4"``) and you own the pool: :meth:`close` leaves it alone. Give it a
    URL (``"mysql://user:password@host:3306/db"``) and the adapter creates its own pool on
    first use; close it with :meth:`close` or use the adapter as an async context manager.

    Single-use keys are consumed atomically: MariaDB has ``DELETE ... RETURNING`` (one
    statement); MySQL 8 has not, so there the adapter locks the row with
    ``SELECT ... FOR UPDATE`` and deletes it in one transaction. The server is detected
    on the first connection.

    Args:
        pool: A pool you manage, or a ``mysql://`` (or ``mariadb://``) URL.
        tables: Table names (default ``auth_user``, ``auth_session``, ``auth_key``).
        pool_options: Keyword arguments for the pool the adapter creates from a URL
            (``minsize``, ``maxsize``, ``pool_recycle``, ...). Not allowed with a pool.
        delete_returning: Force (``True``) or forbid (``False``) ``DELETE ... RETURNING``
            instead of detecting it, e.g. behind a proxy that hides the server's name.
    """

    def __init__(
        self,
        pool: aiomysql.Pool | str,
        *,
        tables: TableNames | None = None,
        pool_options: Mapping[str, Any] | None = None,
        delete_returning: bool | None = None,
    ) -> None:
        self._pool: aiomysql.Pool | None
        if isinstance(pool, str):
            self._pool = None
            self._connect_options = {**_parse_url(pool), "minsize": 1, "maxsize": 10, **(pool_options or {})}
            self._connect_options.update(autocommit=True)
        else:
            if pool_options is not None:
                raise TypeError("pool_options configures a pool the adapter creates; configure your own pool yourself")
            self._pool = pool
            self._connect_options = {}
        self._owns_pool = self._pool is None
        self._delete_returning = delete_returning
        self._mariadb = False
        self._ready = False
        self._connect_lock = asyncio.Lock()
        self._sql = SQLStatements(MYSQL, tables)

    def __repr__(self) -> str:
        if self._owns_pool:
            where = f"{self._connect_options.get('host')}:{self._connect_options.get('port')}"
            return f"MySQLAdapter({where!r}, db={self._connect_options.get('db')!r})"
        return "MySQLAdapter(<pool>)"

    @property
    def pool(self) -> aiomysql.Pool | None:
        """The connection pool (``None`` until an adapter-owned pool is first opened)."""
        return self._pool

    # -- lifecycle -------------------------------------------------------------------

    async def connect(self) -> None:
        """Create the adapter's own pool and detect the server (done on first use)."""
        async with self._connect_lock:
            if self._ready:
                return
            if self._pool is None:
                self._pool = await aiomysql.create_pool(**self._connect_options)
            async with self._pool.acquire() as conn:
                if not conn.get_autocommit():
                    raise ValueError(
                        "MySQLAdapter needs an autocommit pool: aiomysql.create_pool(..., autocommit=True)"
                    )
                self._mariadb = "mariadb" in str(conn.get_server_info()).lower()
                if self._delete_returning is None:
                    # RETURNING arrived in MariaDB 10.5; MySQL 8 has none.
                    self._delete_returning = self._mariadb
            self._ready = True

    async def close(self) -> None:
        """Close the pool if the adapter created it; a pool you passed in stays open."""
        if self._owns_pool and self._pool is not None:
            pool, self._pool = self._pool, None
            self._ready = False
            pool.close()
            await pool.wait_closed()

    async def __aenter__(self) -> MySQLAdapter:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def uses_delete_returning(self) -> bool:
        """Whether single-use keys are consumed with ``DELETE ... RETURNING`` (known once connected)."""
        return bool(self._delete_returning)

    # -- driver calls ----------------------------------------------------------------

    async def _acquire_pool(self) -> aiomysql.Pool:
        if not self._ready:
            await self.connect()
        assert self._pool is not None
        return self._pool

    async def _one(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        pool = await self._acquire_pool()
        async with pool.acquire() as conn, conn.cursor() as cursor:
            await cursor.execute(query, params)
            row: tuple[Any, ...] | None = await cursor.fetchone()
            return row

    async def _one_with_names(self, query: str, params: Sequence[Any]) -> tuple[list[str], tuple[Any, ...]] | None:
        pool = await self._acquire_pool()
        async with pool.acquire() as conn, conn.cursor() as cursor:
            await cursor.execute(query, params)
            row: tuple[Any, ...] | None = await cursor.fetchone()
            if row is None:
                return None
            return [column[0] for column in cursor.description], row

    async def _all(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        pool = await self._acquire_pool()
        async with pool.acquire() as conn, conn.cursor() as cursor:
            await cursor.execute(query, params)
            return list(await cursor.fetchall())

    async def _write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> None:
        pool = await self._acquire_pool()
        async with pool.acquire() as conn, conn.cursor() as cursor:
            try:
                await cursor.execute(query, params)
            except aiomysql.IntegrityError as exc:
                error = self._translate(exc, table)
                if error is exc:
                    raise
                raise error from exc

    def _translate(self, exc: Exception, table: TableRole | None) -> Exception:
        """The :class:`LuciaError` for a constraint Lucia knows, else the driver error itself."""
        if table is None:
            return exc
        code = exc.args[0] if exc.args else None
        message = str(exc.args[1]) if len(exc.args) > 1 else ""
        if code == _NO_REFERENCED_ROW:
            violation = Violation.FOREIGN_KEY
        elif code == _DUPLICATE_ENTRY and _PRIMARY_KEY_MESSAGE.search(message):
            violation = Violation.PRIMARY_KEY
        else:
            violation = Violation.OTHER
        error: Exception | None = constraint_error(table, violation)
        return exc if error is None else error

    async def create_schema(self, *, user_columns: Mapping[str, str] | None = None) -> None:
        """Create the three tables and their ``user_id`` indexes if they do not exist.

        Args:
            user_columns: Extra user columns, name to type (``{"username": "string"}``).
        """
        pool = await self._acquire_pool()
        async with pool.acquire() as conn, conn.cursor() as cursor:
            # "Table already exists" notes would surface as Python warnings.
            await cursor.execute("SET @@SESSION.sql_notes = 0")
            try:
                # Same statements; the DDL differs only in the NO PAD binary collation's name.
                ddl = SQLStatements(MARIADB if self._mariadb else MYSQL, self._sql.tables)
                for statement in ddl.schema(user_columns):
                    await cursor.execute(statement)
            finally:
                await cursor.execute("SET @@SESSION.sql_notes = 1")

    # -- users -----------------------------------------------------------------------

    async def set_user(self, user: UserRow, key: KeyRow | None) -> None:
        """Insert a user and its primary key in one transaction."""
        pool = await self._acquire_pool()
        insert_user = self._sql.insert_user(list(user.attributes))
        table: TableRole = "user"
        async with pool.acquire() as conn, conn.cursor() as cursor:
            await conn.begin()
            try:
                await cursor.execute(insert_user, (user.id, *user.attributes.values()))
                if key is not None:
                    table = "key"
                    await cursor.execute(self._sql.insert_key, key_params(key))
                await conn.commit()
            except BaseException as exc:
                await _rollback(conn)
                error = self._translate(exc, table) if isinstance(exc, aiomysql.IntegrityError) else exc
                if error is exc:
                    raise
                raise error from exc

    # -- keys ------------------------------------------------------------------------

    async def use_single_use_key(self, key_id: str) -> KeyRow | None:
        """Delete and return a single-use key atomically.

        MariaDB: one ``DELETE ... RETURNING``. MySQL 8: ``SELECT ... FOR UPDATE`` then
        ``DELETE`` in one transaction, so concurrent callers queue on the row lock and
        all but the first find it gone.
        """
        pool = await self._acquire_pool()
        if self._delete_returning:
            row = await self._one(self._sql.use_single_use_key, (key_id,))
            return None if row is None else self._sql.key_row(row)
        async with pool.acquire() as conn, conn.cursor() as cursor:
            await conn.begin()
            try:
                await cursor.execute(self._sql.lock_single_use_key, (key_id,))
                row = await cursor.fetchone()
                if row is not None:
                    await cursor.execute(self._sql.delete_key_by_id, (key_id,))
                await conn.commit()
            except BaseException:
                await _rollback(conn)
                raise
        return None if row is None else self._sql.key_row(row)

    # -- sessions --------------------------------------------------------------------


async def _rollback(conn: aiomysql.Connection) -> None:
    """Roll back, unless the connection is already gone (the server then discarded the transaction)."""
    if conn.closed:
        return
    try:
        await conn.rollback()
    except (aiomysql.Error, OSError):
        conn.close()  # a connection in an unknown state must not go back to the pool


def _parse_url(url: str) -> dict[str, Any]:
    """``mysql://user:password@host:port/db`` as aiomysql connection keywords."""
    parts = urlsplit(url)
    if parts.scheme not in {"mysql", "mariadb"}:
        raise ValueError("MySQLAdapter takes a mysql:// or mariadb:// URL, or an aiomysql pool")
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "db": unquote(parts.path.lstrip("/")) or None,
        "charset": "utf8mb4",
    }
