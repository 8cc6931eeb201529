"""What the adapter packages share around their drivers: ``async with``, ``create_schema()``, guarded calls.

Private to the adapter packages of this repository (``lucia-sqlite``, ``lucia-postgresql``,
...); a third-party adapter needs none of it to pass :mod:`lucia.testing`.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar

from lucia._connectable import Connectable
from lucia._errors import ConfigurationError
from lucia.adapters import SessionRow
from lucia.adapters.sql import Dialect, SQLAdapter, SQLStatements

__all__ = [
    "CLIENT_MARGIN",
    "AsyncSQLAdapter",
    "BlockingTwin",
    "Guarded",
    "Lifecycle",
    "RecordSessions",
    "ServerSQLAdapter",
    "guarded",
    "positive_seconds",
]

#: How much longer than ``statement_timeout`` a client waits before it gives up on the server.
CLIENT_MARGIN = 1.0

_O = TypeVar("_O", bound=SQLAdapter)
P = ParamSpec("P")
R = TypeVar("R")


class Lifecycle(Connectable):
    """``async with adapter:`` opens the adapter with ``connect()`` and closes it with ``close()``."""

    __slots__ = ()

    @abstractmethod
    async def connect(self) -> None:
        """Open what the adapter needs (done on first use as well)."""

    @abstractmethod
    async def close(self) -> None:
        """Close what the adapter opened itself."""


class AsyncSQLAdapter(SQLAdapter, Lifecycle):
    """An async SQL adapter (not a blocking twin): ``async with``, and ``create_schema()`` over its DDL call."""

    async def create_schema(
        self, *, user_columns: Mapping[str, str] | None = None, session_columns: Mapping[str, str] | None = None
    ) -> None:
        """Create every table and index that does not exist; never alter an existing table.

        The DDL is that of ``python -m lucia schema <dialect>`` for this database
        (``sqlite``, ``postgresql``, ``mysql``, or ``mariadb`` on MariaDB: the MySQL tables
        with MariaDB's NO PAD binary collation), in one transaction where the database
        allows it.

        Args:
            user_columns: Extra user columns, name to type (``{"username": "string"}``).
            session_columns: Extra session columns, name to type (``{"ip_address": "string"}``).

        Raises:
            ConfigurationError: An existing table lacks a requested column (the message
                gives the ``ALTER TABLE`` to run).
        """
        existing = await self._column_names(self._sql.session_table_probe())
        ddl = self._ddl_statements().schema(user_columns, session_columns, existing_session_columns=existing)
        await self._run_ddl(ddl)
        await self._check_created_schema(user_columns, session_columns)

    def _ddl_statements(self) -> SQLStatements:
        """The statements whose DDL :meth:`create_schema` runs (known once a call has reached the server)."""
        return self._sql

    @abstractmethod
    async def _run_ddl(self, statements: Sequence[str]) -> None:
        """Run DDL built by :mod:`lucia.adapters.sql` from checked identifiers (never from user data)."""


def positive_seconds(name: str, value: float) -> float:
    """``value`` as a float, or a ``ValueError`` naming ``name`` if it is not a positive, finite number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


class ServerSQLAdapter(AsyncSQLAdapter):
    """An async SQL adapter on a database server's connection pool: bounded calls, one pool per process.

    A subclass calls :meth:`_start` in ``__init__``, :meth:`_enter_process` first thing in
    ``connect()``, and implements :meth:`_forget_inherited_pool`.
    """

    _owns_pool: bool

    def _start(self, connect_timeout: float, pool_timeout: float, statement_timeout: float) -> None:
        """Check and keep the timeouts; the pool (to come) belongs to this process."""
        self._connect_timeout = positive_seconds("connect_timeout", connect_timeout)
        self._pool_timeout = positive_seconds("pool_timeout", pool_timeout)
        self._statement_timeout = positive_seconds("statement_timeout", statement_timeout)
        #: How long the client waits for a statement's answer before it gives up on the server.
        self._statement_limit = self._statement_timeout + CLIENT_MARGIN
        #: The process the pool's connections belong to (see :meth:`_forget_inherited_pool`).
        self._pid = os.getpid()
        #: Pools inherited from a parent process: kept, never used nor closed here.
        self._inherited: list[Any] = []

    def _enter_process(self) -> None:
        """In a forked child, leave the parent's pool behind; a pool given to the adapter cannot be replaced.

        Raises:
            ConfigurationError: The pool was given to the adapter and opened before ``os.fork()``.
        """
        if self._pid != os.getpid():
            self._forget_inherited_pool()
        if not self._owns_pool and self._inherited:
            name = type(self).__name__
            driver = type(self._inherited[0]).__module__.partition(".")[0]
            raise ConfigurationError(
                f"the {driver} pool given to {name} was opened before os.fork(): its connections belong to the "
                f"parent process. Create the pool in each worker process, or give {name} the database's URL "
                "instead (it then opens a pool of its own in each process)."
            )

    @abstractmethod
    def _forget_inherited_pool(self) -> None:
        """In a forked child: keep the parent's pool referenced (never used nor closed here) and start afresh."""


class BlockingTwin(SQLAdapter, Generic[_O]):
    """An async SQL adapter's blocking twin: its tables through the driver's synchronous API.

    Args:
        origin: The async adapter whose server, settings and table names it shares.
        dialect: The twin's dialect (until it meets the server, where that decides).
    """

    def __init__(self, origin: _O, dialect: Dialect) -> None:
        self._origin = origin
        self._sql = SQLStatements(dialect, origin._sql.tables)
        #: The process the twin's connections belong to (a forked child never uses its parent's).
        self._pid = os.getpid()
        #: Guards the twin's connections, shared by every thread.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._origin!r})"


class Guarded(Protocol):
    """An object whose ``_guard()`` bounds a call and translates its driver's storage errors."""

    @property
    def _guard(self) -> Callable[[], AbstractContextManager[object]]: ...


S = TypeVar("S", bound=Guarded)


def guarded(
    method: Callable[Concatenate[S, P], Awaitable[R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Run a method under its object's ``_guard()`` (a deadline and the translation of driver errors)."""

    async def call(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._guard():
            return await method(self, *args, **kwargs)

    functools.update_wrapper(call, method)
    return call


_Record = TypeVar("_Record")


class RecordSessions(Generic[_Record]):
    """The session reads, the session cap and single revocation of a store without SQL (MongoDB, Redis).

    A subclass keeps each session in a record of its own (a document, a hash) and says
    which record a session id or a user sees now (a renewal in progress included), how
    to store one and how to revoke sessions; the methods of the ``SessionAdapter``
    contract around those are the same for every such store, each under ``_guard()``.
    """

    #: The subclass's deadline and driver-error translation (see :class:`Guarded`).
    _guard: Any

    @abstractmethod
    def _session_row(self, record: _Record) -> SessionRow:
        """The row of a stored session record."""

    @abstractmethod
    async def _visible_session(self, session_id: str) -> _Record | None:
        """The record ``session_id`` names now (its own, or its renewal's), or ``None``."""

    @abstractmethod
    async def _visible_user_sessions(self, user_id: str) -> list[_Record]:
        """One visible record per session of the user."""

    @abstractmethod
    async def _insert_session(self, session: SessionRow) -> None:
        """Store a new session (raising ``AUTH_DUPLICATE_SESSION_ID`` for a taken id)."""

    @abstractmethod
    async def _revoke_sessions(self, session_ids: Sequence[str]) -> None:
        """Delete these sessions and the renewals they point at."""

    async def session_columns(self) -> frozenset[str] | None:
        """``None``: every field and any attribute is stored."""
        return None

    @guarded
    async def get_session(self, session_id: str) -> SessionRow | None:
        """The session with this id, or its renewal within the grace window, or ``None``."""
        record = await self._visible_session(session_id)
        return None if record is None else self._session_row(record)

    @guarded
    async def get_sessions_by_user_id(self, user_id: str) -> list[SessionRow]:
        """Every session of a user, each once (a renewal in progress shows as one)."""
        return [self._session_row(record) for record in await self._visible_user_sessions(user_id)]

    @guarded
    async def set_session(self, session: SessionRow, *, max_per_user: int | None = None) -> None:
        """Store a session; with ``max_per_user``, revoke the oldest beyond it (by ``created_at``, then id).

        Whatever the interleaving, the last creator to list sees every surviving session
        and leaves at most ``max_per_user``.
        """
        await self._insert_session(session)
        if max_per_user is None:
            return
        rows = [self._session_row(record) for record in await self._visible_user_sessions(session.user_id)]
        rows.sort(key=lambda row: (row.created_at or 0, row.id), reverse=True)
        await self._revoke_sessions([row.id for row in rows[max_per_user:]])

    @guarded
    async def delete_session(self, session_id: str) -> None:
        """Delete the session with this id and the renewal it points at (and, where stored, renewals naming it)."""
        await self._revoke_sessions([session_id])
