"""What the adapter packages share around their drivers: ``async with``, ``create_schema()``, guarded calls.

Private to the adapter packages of this repository (``lucia-sqlite``, ``lucia-postgresql``,
...); a third-party adapter needs none of it to pass :mod:`lucia.testing`.
"""

from __future__ import annotations

import functools
import os
import threading
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar

from lucia.adapters.sql import Dialect, SQLAdapter, SQLStatements

__all__ = ["AsyncSQLAdapter", "BlockingTwin", "Guarded", "Lifecycle", "guarded"]

_L = TypeVar("_L", bound="Lifecycle")
_O = TypeVar("_O", bound=SQLAdapter)
P = ParamSpec("P")
R = TypeVar("R")


class Lifecycle:
    """``async with adapter:`` opens the adapter with ``connect()`` and closes it with ``close()``."""

    __slots__ = ()

    @abstractmethod
    async def connect(self) -> None:
        """Open what the adapter needs (done on first use as well)."""

    @abstractmethod
    async def close(self) -> None:
        """Close what the adapter opened itself."""

    async def __aenter__(self: _L) -> _L:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


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
