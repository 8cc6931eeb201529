"""The blocking twin's driver: PyMongo's synchronous ``MongoClient`` behind the async call shapes.

:class:`lucia.SyncLucia` drives the one async core in the calling thread (see
:mod:`lucia._blocking`) over stores that never suspend. The MongoDB twin is *the same*
:class:`~lucia_mongodb.MongoDBAdapter` (and :class:`~lucia_mongodb.MongoDBThrottleStore`)
built over the facade below instead of an ``AsyncDatabase``: every query, the renewal
protocol, transactions and error mapping stay in one place. The facade offers only the
call shapes the adapter uses, each an ``async def`` that calls the synchronous driver and
returns: awaiting it never suspends.

* :class:`BlockingClient` opens one ``MongoClient`` on first use, with the settings of
  the async client it mirrors (its URL and options; database-level codec options, read
  preference, read and write concerns), and a new one in a process forked after that:
  PyMongo clients are not fork-safe. The inherited client is kept referenced, never used
  nor closed in the child.
* :class:`BlockingCollection`: collection methods as ``async def``; ``find`` returns an
  async iterator over the synchronous cursor, ``aggregate`` an awaitable of one with
  ``to_list``.
* :class:`BlockingSession`: ``with_transaction`` runs the adapter's ``async`` body to
  completion inside PyMongo's synchronous ``with_transaction`` (which retries transient
  conflicts and commits).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from typing import Any, Final, TypeVar

from pymongo import AsyncMongoClient, MongoClient
from pymongo.synchronous.client_session import ClientSession
from pymongo.synchronous.collection import Collection
from pymongo.synchronous.database import Database

from lucia._blocking import run_blocking

__all__ = ["BlockingClient", "BlockingCollection", "BlockingCursor", "BlockingDatabase", "BlockingSession"]

T = TypeVar("T")

#: The database-level settings a twin copies from the async database it mirrors.
_DATABASE_OPTIONS: Final = ("codec_options", "read_preference", "write_concern", "read_concern")


def client_settings(database: Any) -> dict[str, Any] | None:
    """The ``MongoClient`` arguments of the client behind an async database, or ``None`` if unknown.

    PyMongo's ``AsyncMongoClient`` and Motor's client (a wrapper of a synchronous
    ``MongoClient``) both keep the arguments they were built with.
    """
    client = getattr(database, "client", None)
    source: object = None
    if isinstance(client, AsyncMongoClient):
        source = client
    else:
        delegate = getattr(client, "delegate", None)  # Motor's client wraps a MongoClient
        if isinstance(delegate, MongoClient):
            source = delegate
    settings = getattr(source, "_init_kwargs", None) if source is not None else None
    return dict(settings) if isinstance(settings, Mapping) else None


class BlockingClient:
    """A synchronous ``MongoClient``, opened on first use in each process, and its sessions.

    Args:
        settings: ``MongoClient`` keyword arguments (``host`` is the URL).
        database: The database name.
        database_options: ``get_database`` options (codec options, concerns, read preference).
    """

    def __init__(self, settings: Mapping[str, Any], database: str, database_options: Mapping[str, Any]) -> None:
        self._settings = dict(settings)
        self._name = database
        self._options = dict(database_options)
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._client: MongoClient[Any] | None = None
        self._database: Database[Any] | None = None
        #: Clients inherited through ``fork()``: the parent's, kept so they are never finalised here.
        self._inherited: list[MongoClient[Any]] = []

    @classmethod
    def mirroring(cls, database: Any, settings: Mapping[str, Any] | None = None) -> BlockingClient | None:
        """The twin client of an async database (``None`` when its client's settings are unknown).

        Args:
            database: The ``AsyncDatabase`` (or Motor database) to mirror.
            settings: The client's arguments when known (``MongoDBAdapter.from_url``);
                read from the database's client otherwise.
        """
        settings = client_settings(database) if settings is None else settings
        if settings is None:
            return None
        options = {name: getattr(database, name) for name in _DATABASE_OPTIONS}
        return cls(settings, database.name, options)

    def __repr__(self) -> str:
        return f"BlockingClient(database={self._name!r})"

    @property
    def name(self) -> str:
        """The database name."""
        return self._name

    def database(self) -> Database[Any]:
        """The synchronous database, on this process's own client."""
        database = self._database
        if database is not None and self._pid == os.getpid():
            return database
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                if self._client is not None:
                    self._inherited.append(self._client)
                self._client = self._database = None
            if self._database is None:
                self._client = MongoClient(**self._settings)
                self._database = self._client.get_database(self._name, **self._options)
            return self._database

    def start_session(self) -> BlockingSession:
        """A session (for a transaction) on this process's client."""
        return BlockingSession(self.database().client.start_session())

    async def close(self) -> None:
        """Close this process's client (a later call opens a new one)."""
        with self._lock:
            client, self._client, self._database = self._client, None, None
            mine = self._pid == os.getpid()
        if client is not None and mine:
            client.close()


class BlockingDatabase:
    """The database facade the twin adapter is built over.

    Args:
        client: The twin's client.
    """

    def __init__(self, client: BlockingClient) -> None:
        self.client = client
        self.name = client.name
        self._collections: dict[str, BlockingCollection] = {}

    def __repr__(self) -> str:
        return f"BlockingDatabase({self.name!r})"

    def __getitem__(self, name: str) -> BlockingCollection:
        collection = self._collections.get(name)
        if collection is None:
            collection = self._collections.setdefault(name, BlockingCollection(self.client, name))
        return collection

    async def command(self, *args: Any, **kwargs: Any) -> Any:
        """``Database.command``."""
        return self.client.database().command(*args, **kwargs)


class BlockingCollection:
    """A collection's methods as ``async def`` that call the synchronous driver and return.

    Args:
        client: The twin's client.
        name: The collection name.
    """

    def __init__(self, client: BlockingClient, name: str) -> None:
        self._client = client
        self.name = name
        self._bound: tuple[Database[Any], Collection[Any]] | None = None

    def __repr__(self) -> str:
        return f"BlockingCollection({self.name!r})"

    def _collection(self) -> Collection[Any]:
        database = self._client.database()
        bound = self._bound
        if bound is None or bound[0] is not database:
            bound = self._bound = (database, database[self.name])
        return bound[1]

    def __getattr__(self, name: str) -> Callable[..., Coroutine[Any, Any, Any]]:
        if name.startswith("_"):
            raise AttributeError(name)
        if not callable(getattr(Collection, name, None)):
            raise AttributeError(f"a Collection has no method {name!r}")

        async def call(*args: Any, **kwargs: Any) -> Any:
            return getattr(self._collection(), name)(*args, **kwargs)

        call.__name__ = call.__qualname__ = name
        self.__dict__[name] = call  # built once per method
        return call

    def find(self, *args: Any, **kwargs: Any) -> BlockingCursor:
        """``Collection.find``, as an async iterator."""
        return BlockingCursor(self._collection().find(*args, **kwargs))

    async def aggregate(self, *args: Any, **kwargs: Any) -> BlockingCursor:
        """``Collection.aggregate`` (the pipeline runs now, as with PyMongo's async client)."""
        return BlockingCursor(self._collection().aggregate(*args, **kwargs))


class BlockingCursor:
    """A synchronous cursor as an async iterator; ``to_list`` like the async cursors'."""

    def __init__(self, cursor: Iterator[Any]) -> None:
        self._cursor = cursor

    def __aiter__(self) -> BlockingCursor:
        return self

    async def __anext__(self) -> Any:
        try:
            return next(self._cursor)
        except StopIteration:
            raise StopAsyncIteration from None

    async def to_list(self, length: int | None = None) -> list[Any]:
        """The remaining documents (at most ``length``)."""
        return list(self._cursor if length is None else itertools.islice(self._cursor, length))


class BlockingSession:
    """A synchronous ``ClientSession`` with the async call shapes the adapter uses."""

    def __init__(self, session: ClientSession) -> None:
        self._session = session

    async def with_transaction(self, body: Callable[[ClientSession], Coroutine[Any, Any, T]]) -> T:
        """Run ``body(session)`` in a transaction; PyMongo retries transient conflicts and commits."""
        return self._session.with_transaction(lambda session: run_blocking(body(session)))

    def end_session(self) -> None:
        """End the session."""
        self._session.end_session()
