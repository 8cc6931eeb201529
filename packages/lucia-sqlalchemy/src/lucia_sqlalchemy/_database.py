"""The adapter's I/O edge: statements on the engine, transactions, and driver errors translated.

Constraint violations are decoded by :meth:`lucia.adapters.sql.Dialect.violation` from
the driver's own error (``exc.orig``), the one decoder every SQL adapter shares; storage
failures (a lost connection, a server down, a timeout) become
:class:`lucia.StorageUnavailableError` / :class:`lucia.StorageTimeoutError` with
SQLAlchemy's error as ``__cause__``; every other error propagates unchanged.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from lucia import StorageError, StorageTimeoutError, StorageUnavailableError
from lucia.adapters import TableRole, constraint_error
from lucia.adapters.sql import MARIADB, MYSQL, POSTGRESQL, SQLITE, Dialect

__all__ = ["ATTEMPTS", "Database", "Transaction", "enable_sqlite_foreign_keys"]

T = TypeVar("T")

#: The shared decoders of constraint errors, by SQLAlchemy dialect name.
_DECODERS: dict[str, Dialect] = {d.name: d for d in (SQLITE, POSTGRESQL, MYSQL, MARIADB)}
#: PostgreSQL: query_canceled (statement_timeout), lock_not_available (lock_timeout).
_PG_TIMEOUTS = frozenset({"57014", "55P03"})
#: PostgreSQL SQLSTATE classes of a connection or server problem.
_PG_UNAVAILABLE = ("08", "53", "57", "58")
#: MySQL/MariaDB: lock wait timeout, MySQL max_execution_time, MariaDB max_statement_time.
_MYSQL_TIMEOUTS = frozenset({1205, 3024, 1969})
#: A deadlock (or, under SERIALIZABLE, a serialization failure): the transaction was rolled
#: back and may simply run again (InnoDB picks a victim among writers that lock one row
#: through different indexes, such as a renewal and a revocation by id or previous id).
_PG_RETRY = frozenset({"40P01", "40001"})
_MYSQL_RETRY = frozenset({1213})
#: How many times a transaction is tried before its deadlock is reported.
ATTEMPTS = 5
#: MySQL/MariaDB: too many connections, shutdown, connection killed, can't connect, gone away, lost.
_MYSQL_UNAVAILABLE = frozenset({1040, 1053, 1927, 2002, 2003, 2005, 2006, 2013, 2055, 4031})
_SQLITE_UNAVAILABLE = ("unable to open", "disk i/o", "malformed", "readonly", "read-only")


def _sqlite_foreign_keys_on(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def enable_sqlite_foreign_keys(engine: AsyncEngine | Engine) -> None:
    """Turn SQLite's foreign keys on for every new connection of ``engine``.

    SQLite ignores ``FOREIGN KEY`` clauses unless each connection says
    ``PRAGMA foreign_keys = ON``; Lucia relies on them to refuse a key or session for an
    unknown user and to delete a user's passkeys with it. :class:`SQLAlchemyAdapter`
    calls this for SQLite engines; call it yourself right after ``create_async_engine``
    if the engine is used before the adapter exists (connections opened earlier are
    not changed). Calling it twice is harmless.

    Args:
        engine: The engine (async or sync).
    """
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    if not event.contains(sync_engine, "connect", _sqlite_foreign_keys_on):
        event.listen(sync_engine, "connect", _sqlite_foreign_keys_on)


def _errno(orig: BaseException | None) -> int | None:
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _is_deadlock(exc: DBAPIError, dialect_name: str) -> bool:
    if dialect_name == "postgresql":
        return getattr(exc.orig, "sqlstate", None) in _PG_RETRY
    return dialect_name in ("mysql", "mariadb") and _errno(exc.orig) in _MYSQL_RETRY


def _storage_error(exc: DBAPIError, dialect_name: str) -> StorageError | None:
    """The storage failure ``exc`` is, or ``None`` for any other error (a schema mistake, a bug)."""
    if isinstance(exc, IntegrityError):
        return None
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    errno = _errno(orig)
    message = str(orig).lower()
    if _is_deadlock(exc, dialect_name):  # still deadlocked after every attempt
        return StorageTimeoutError(None, "the write kept deadlocking with concurrent ones")
    if dialect_name == "sqlite":
        if "locked" in message or "busy" in message:
            return StorageTimeoutError(None, "the SQLite database stayed locked by another connection")
        unavailable = any(text in message for text in _SQLITE_UNAVAILABLE)
    elif dialect_name == "postgresql":
        if sqlstate in _PG_TIMEOUTS:
            return StorageTimeoutError(None, "the database did not answer in time")
        unavailable = isinstance(exc, OperationalError) and (sqlstate is None or sqlstate.startswith(_PG_UNAVAILABLE))
    elif dialect_name in ("mysql", "mariadb"):
        if errno in _MYSQL_TIMEOUTS:
            return StorageTimeoutError(None, "the database did not answer in time")
        unavailable = errno in _MYSQL_UNAVAILABLE
    else:
        unavailable = False
    if unavailable or exc.connection_invalidated:
        return StorageUnavailableError(None, "the database is unavailable")
    return None


class Database:
    """One engine, seen as the few operations the adapter needs.

    Reads run on a pooled connection without a transaction block where the dialect
    allows it (PostgreSQL: an autocommit view of the same pool, one round trip instead
    of ``BEGIN``, ``SELECT``, ``ROLLBACK``). Writes run in a transaction. A
    multi-statement transaction on SQLite starts with ``BEGIN IMMEDIATE``: it takes the
    write lock first, so two read-then-write transactions never deadlock on the upgrade.
    Elsewhere a write that the database rolled back as a deadlock victim runs again.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.name = engine.dialect.name
        self.decoder: Dialect | None = _DECODERS.get(self.name)
        # psycopg and asyncpg switch autocommit locally; MySQL drivers would send a SET
        # per checkout, so they keep the default.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT") if self.name == "postgresql" else None

    @contextmanager
    def storage_errors(self) -> Iterator[None]:
        """Translate storage failures raised inside the block (see the module notes)."""
        try:
            yield
        except PoolTimeoutError as exc:
            raise StorageTimeoutError(None, "no database connection was free in time") from exc
        except DBAPIError as exc:
            error = _storage_error(exc, self.name)
            if error is None:
                raise
            raise error from exc

    def constraint_error(self, exc: IntegrityError, table: TableRole | None) -> Exception:
        """The :class:`lucia.LuciaError` for a violated constraint of ``table``, or ``exc`` itself."""
        if table is None or self.decoder is None or exc.orig is None:
            return exc
        error = constraint_error(table, self.decoder.violation(exc.orig))
        return exc if error is None else error

    async def first(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row of a query, or ``None``."""
        with self.storage_errors():
            async with (self._autocommit or self.engine).connect() as conn:
                return (await conn.execute(statement, params)).first()

    async def all(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Every row of a query."""
        with self.storage_errors():
            async with (self._autocommit or self.engine).connect() as conn:
                return (await conn.execute(statement, params)).all()

    async def write(self, statement: Executable, params: Mapping[str, Any], table: TableRole | None = None) -> int:
        """Run one writing statement in its own transaction; return the matched row count."""

        async def attempt() -> int:
            async with (self._autocommit or self.engine).begin() as conn:
                return await _write(self, conn, statement, params, table)

        with self.storage_errors():
            return await self._retrying(attempt)

    async def write_first(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row a writing statement returns (``DELETE ... RETURNING``), committed."""

        async def attempt() -> Sequence[Any] | None:
            async with (self._autocommit or self.engine).begin() as conn:
                return (await conn.execute(statement, params)).first()

        with self.storage_errors():
            return await self._retrying(attempt)

    async def transact(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        """Run ``work`` in one transaction: committed when it returns, rolled back if it raises.

        A transaction that deadlocks with concurrent ones was rolled back by the
        database; it runs again (up to :data:`ATTEMPTS` times), so ``work`` must only
        touch the database.
        """

        async def attempt() -> T:
            async with self.engine.begin() as conn:
                if self.name == "sqlite":
                    await _begin_immediate(conn)
                return await work(Transaction(self, conn))

        with self.storage_errors():
            return await self._retrying(attempt)

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        for tries in range(1, ATTEMPTS + 1):
            try:
                return await attempt()
            except DBAPIError as exc:
                if tries == ATTEMPTS or not _is_deadlock(exc, self.name):
                    raise
            await asyncio.sleep(secrets.randbelow(5 * tries) / 1000)  # jitter: do not collide again at once
        raise AssertionError("unreachable")  # pragma: no cover


class Transaction:
    """The statements run inside :meth:`Database.transact`."""

    def __init__(self, database: Database, conn: AsyncConnection) -> None:
        self._database = database
        self.conn = conn

    async def first(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row of a query, or ``None``."""
        return (await self.conn.execute(statement, params)).first()

    async def all(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Every row of a query."""
        return (await self.conn.execute(statement, params)).all()

    async def write(self, statement: Executable, params: Mapping[str, Any], table: TableRole | None = None) -> int:
        """Run a writing statement; return the matched row count."""
        return await _write(self._database, self.conn, statement, params, table)


async def _write(
    database: Database, conn: AsyncConnection, statement: Executable, params: Mapping[str, Any], table: TableRole | None
) -> int:
    try:
        result = await conn.execute(statement, params)
    except IntegrityError as exc:
        error = database.constraint_error(exc, table)
        if error is exc:
            raise
        raise error from exc
    return int(result.rowcount)


async def _begin_immediate(conn: AsyncConnection) -> None:
    """Start the SQLite transaction by taking the write lock (unless the engine began one itself)."""
    raw = await conn.get_raw_connection()
    if not getattr(raw.driver_connection, "in_transaction", False):
        await conn.exec_driver_sql("BEGIN IMMEDIATE")
