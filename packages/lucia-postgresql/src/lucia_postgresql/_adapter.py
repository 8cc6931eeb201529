"""The PostgreSQL adapter: thin psycopg 3 calls around :mod:`lucia.adapters.sql`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from lucia.adapters import KeyRow, UserRow
from lucia.adapters.sql import (
    POSTGRESQL,
    SQLAdapter,
    SQLStatements,
    TableNames,
    TableRole,
    Violation,
    constraint_error,
    key_params,
)

__all__ = ["PostgresAdapter"]

_UNIQUE_VIOLATION = "23505"
_FOREIGN_KEY_VIOLATION = "23503"


class PostgresAdapter(SQLAdapter):
    """Users, keys and sessions in PostgreSQL, on psycopg 3's async API.

    Give it an :class:`psycopg_pool.AsyncConnectionPool` and you own the pool: open it
    before use and close it yourself (:meth:`close` leaves it alone). Give it a conninfo
    string (``"postgresql://user@host/db"``) and the adapter opens its own pool of
    autocommit connections on first use; close it with :meth:`close` or use the adapter
    as an async context manager.

    Every query is sent as a prepared statement (``prepare=True``): the server plans it
    once per connection. Validation (:meth:`get_session_and_user`) is one round trip.

    Args:
        pool: An open pool you manage, or a conninfo string for a pool the adapter owns.
        tables: Table names (default ``auth_user``, ``auth_session``, ``auth_key``);
            schema-qualified names (``"auth.user"``) are allowed.
        pool_options: Keyword arguments for the pool the adapter creates from a conninfo
            string (``min_size``, ``max_size``, ``timeout``, ...). Not allowed with a pool.
    """

    def __init__(
        self,
        pool: AsyncConnectionPool[Any] | str,
        *,
        tables: TableNames | None = None,
        pool_options: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(pool, str):
            options: dict[str, Any] = {"min_size": 1, "max_size": 10, **(pool_options or {})}
            options["kwargs"] = {"autocommit": True, **options.get("kwargs", {})}
            self._pool: AsyncConnectionPool[Any] = AsyncConnectionPool(pool, open=False, **options)
            self._owns_pool = True
        else:
            if pool_options is not None:
                raise TypeError("pool_options configures a pool the adapter creates; configure your own pool yourself")
            self._pool = pool
            self._owns_pool = False
        self._opened = not self._owns_pool
        self._sql = SQLStatements(POSTGRESQL, tables)
        names = self._sql.tables
        tables_by_name: tuple[tuple[str, TableRole], ...] = (
            (names.user, "user"),
            (names.session, "session"),
            (names.key, "key"),
        )
        #: Bare table name (as the server reports it in errors) to its role.
        self._tables_by_name = {name.rsplit(".", 1)[-1]: table for name, table in tables_by_name}

    def __repr__(self) -> str:
        return f"PostgresAdapter(pool={self._pool.name!r}, owns_pool={self._owns_pool})"

    @property
    def pool(self) -> AsyncConnectionPool[Any]:
        """The connection pool (the adapter's own, or the one it was given)."""
        return self._pool

    # -- lifecycle -------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the adapter's own pool (done on first use; a given pool is left alone)."""
        if not self._opened:
            await self._pool.open()
            self._opened = True

    async def close(self) -> None:
        """Close the pool if the adapter created it; a pool you passed in stays open."""
        if self._owns_pool:
            await self._pool.close()
            self._opened = False

    async def __aenter__(self) -> PostgresAdapter:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- driver calls ----------------------------------------------------------------

    async def _one(self, query: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        if not self._opened:
            await self.connect()
        async with self._pool.connection() as conn:
            cursor = await conn.execute(query, params, prepare=True)
            row: tuple[Any, ...] | None = await cursor.fetchone()
            return row

    async def _one_with_names(self, query: str, params: Sequence[Any]) -> tuple[list[str], tuple[Any, ...]] | None:
        if not self._opened:
            await self.connect()
        async with self._pool.connection() as conn:
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
            # Read the names off the raw result: cheaper than building `cursor.description`.
            result = cursor.pgresult
            assert result is not None
            encoding = conn.info.encoding
            return [(result.fname(i) or b"").decode(encoding) for i in range(result.nfields)], row

    async def _all(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if not self._opened:
            await self.connect()
        async with self._pool.connection() as conn:
            cursor = await conn.execute(query, params, prepare=True)
            rows: list[tuple[Any, ...]] = await cursor.fetchall()
            return rows

    async def _write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> None:
        """Run a write; constraint errors of inserts are translated, all others propagate.

        The server names the violated table itself, so ``table`` only says "an insert".
        """
        insert = table is not None
        if not self._opened:
            await self.connect()
        async with self._pool.connection() as conn:
            try:
                await conn.execute(query, params, prepare=True)
            except psycopg.IntegrityError as exc:
                error = self._translate(exc) if insert else exc
                if error is exc:
                    raise
                raise error from exc

    def _translate(self, exc: psycopg.Error) -> Exception:
        """The :class:`LuciaError` for a constraint Lucia knows, else the driver error itself.

        The server names the table and the constraint, so this also tells which half of
        the one-statement user-and-key insert failed.
        """
        table = self._tables_by_name.get(exc.diag.table_name or "")
        if table is None:
            return exc
        if exc.sqlstate == _FOREIGN_KEY_VIOLATION:
            violation = Violation.FOREIGN_KEY
        elif exc.sqlstate == _UNIQUE_VIOLATION and exc.diag.constraint_name == f"{exc.diag.table_name}_pkey":
            violation = Violation.PRIMARY_KEY
        else:
            violation = Violation.OTHER
        return constraint_error(table, violation) or exc

    async def create_schema(self, *, user_columns: Mapping[str, str] | None = None) -> None:
        """Create the three tables and their ``user_id`` indexes if they do not exist.

        Args:
            user_columns: Extra user columns, name to type (``{"username": "string"}``).
        """
        if not self._opened:
            await self.connect()
        async with self._pool.connection() as conn, conn.transaction():
            for statement in self._sql.schema(user_columns):
                # DDL built by lucia.adapters.sql from checked identifiers, never from user data.
                await conn.execute(statement)

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

    # -- keys ------------------------------------------------------------------------

    # -- sessions --------------------------------------------------------------------
