"""The adapter-test scenarios the SQL server adapters (``lucia-postgresql``, ``lucia-mysql``) share.

Each package describes its driver once, in a :class:`SQLServerKit` (the adapter class,
a pool of the application's own, a raw connection) that its conftest gives as the
``sql_kit`` fixture, and its test module collects the scenarios here as they are::

    from lucia_testkit.sql_suites import TestBlockingTwin, TestGivenPool, TestOwnPool  # noqa: F401

(or subclasses one to add a test or change its ``adapter``).

Module-level tests shared by both are made by the ``*_test`` factories (a test module
assigns the result to the test's name, which keeps the test ids of each package), and
a conftest makes its class-scoped ``database_url`` fixture with :func:`class_database`.
The drivers are imported by the packages' kits, never here; the module is not imported by
``lucia_testkit`` itself (it loads the conformance suites).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest

from lucia import ConfigurationError, Lucia, LuciaError
from lucia.testing import (
    CONFORMANCE_SESSION_COLUMNS,
    CONFORMANCE_USER_COLUMNS,
    AdapterTests,
    FaultTests,
    PasskeyStoreTests,
    SyncPathTests,
    ThrottleStoreTests,
    fast_password_hasher,
)
from lucia.testing._throttle_suite import StoreRecipe
from lucia_testkit._proxy import FaultProxy

__all__ = [
    "SQL_TABLES",
    "TIMEOUT_REFUSALS",
    "RawExecute",
    "SQLBlockingTwinTests",
    "SQLFaultTests",
    "SQLGivenPoolTests",
    "SQLOwnPoolTests",
    "SQLServerKit",
    "SQLServerTests",
    "SQLSyncPathTests",
    "SQLThrottleStoreTests",
    "TestBlockingTwin",
    "TestFaults",
    "TestGivenPool",
    "TestOwnPool",
    "TestSyncPath",
    "TestThrottleStore",
    "class_database",
    "conformance_schema",
    "forked_given_pool_test",
    "refused_options_test",
    "unique_app_column_test",
]

#: Every table, children before parents (the order a cleanup empties them in and a dump reads them).
SQL_TABLES = (
    "auth_session",
    "auth_key",
    "auth_passkey",
    "auth_passkey_challenge",
    "auth_throttle",
    "auth_throttle_event",
    "auth_user",
)
#: Timeouts every server adapter refuses at construction (zero, negative, endless, not a number of seconds).
TIMEOUT_REFUSALS: tuple[dict[str, Any], ...] = (
    {"connect_timeout": 0},
    {"pool_timeout": -1},
    {"statement_timeout": 0},
    {"statement_timeout": float("inf")},
    {"statement_timeout": float("nan")},
    {"pool_timeout": True},
)
#: The fault suite's short timeouts, so that a stalled server costs seconds, not minutes.
FAULT_POOL_TIMEOUT = 1.0
FAULT_STATEMENT_TIMEOUT = 1.0

#: Runs one statement on a raw connection and returns its rows (none for a statement without).
RawExecute = Callable[[str], Awaitable[Sequence[Any]]]


class SQLServerKit(ABC):
    """One SQL server adapter as the shared scenarios drive it: its class, its pools, a raw connection."""

    #: The adapter class (``PostgresAdapter``, ``MySQLAdapter``).
    adapter_class: ClassVar[type[Any]]
    #: The driver's names of a pool's minimum and maximum size (``min_size``, ``max_size``).
    size_names: ClassVar[tuple[str, str]]
    #: The server's port when a URL names none.
    default_port: ClassVar[int]
    #: The ``connect_timeout`` of the fault suite's adapter.
    fault_connect_timeout: ClassVar[float] = 1.0

    @property
    def recipe(self) -> str:
        """``"package:Class"`` of the adapter, from which a new process builds it."""
        cls = self.adapter_class
        return f"{cls.__module__.partition('.')[0]}:{cls.__name__}"

    def pool_sizes(self, maximum: int, minimum: int | None = None) -> dict[str, int]:
        """Pool size options in the driver's words."""
        low, high = self.size_names
        return {high: maximum} if minimum is None else {low: minimum, high: maximum}

    @abstractmethod
    def given_pool(self, url: str, **options: Any) -> AbstractAsyncContextManager[Any]:
        """A pool the application creates itself (as the adapter asks), closed at the end of the block."""

    @abstractmethod
    def raw(self, url: str) -> AbstractAsyncContextManager[RawExecute]:
        """A plain autocommit connection of the driver, apart from the adapter under test."""

    def empty_statements(self, tables: Sequence[str]) -> list[str]:
        """The statements that remove every row of ``tables`` (children first)."""
        return [f"DELETE FROM {table}" for table in tables]

    async def run(self, url: str, *statements: str) -> list[Any]:
        """Run statements over one raw connection; the rows they return, in order."""
        rows: list[Any] = []
        async with self.raw(url) as execute:
            for statement in statements:
                rows += await execute(statement)
        return rows

    async def dump(self, url: str, schema: str | None = None) -> str:
        """Every row of every table as text, read with a separate raw connection (SECURITY S2)."""
        return repr(await self.run(url, *(f"SELECT * FROM {table}" for table in _qualified(schema))))

    async def empty_tables(self, url: str, schema: str | None = None) -> None:
        """Remove every row, so that each test starts on empty tables."""
        await self.run(url, *self.empty_statements(_qualified(schema)))

    def server(self, url: str) -> tuple[str, int]:
        """The host and port a URL names."""
        parts = urlsplit(url)
        return parts.hostname or "127.0.0.1", parts.port or self.default_port

    @staticmethod
    def through(url: str, port: int) -> str:
        """The same URL, to a local port (a proxy's) instead of the server."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        return parts._replace(netloc=f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}").geturl()


def _qualified(schema: str | None) -> list[str]:
    return [f"{schema}.{table}" if schema else table for table in SQL_TABLES]


async def conformance_schema(adapter: Any) -> None:
    """The conformance suites' columns on the user and session tables."""
    await adapter.create_schema(user_columns=CONFORMANCE_USER_COLUMNS, session_columns=CONFORMANCE_SESSION_COLUMNS)


def class_database(fresh: Callable[[], AbstractContextManager[str]]) -> Any:
    """A class-scoped ``database_url`` fixture: a database made by ``fresh`` for one test class alone."""

    @pytest.fixture(scope="class")
    def database_url() -> Iterator[str]:
        """A URL of a database created for this test class alone."""
        with fresh() as url:
            yield url

    return database_url


class SQLServerTests:
    """What the scenarios share: the package's kit, the ``adapter`` on empty tables, and the ``raw_dump``."""

    #: The package's kit, bound for each test from the ``sql_kit`` fixture of its conftest.
    kit: SQLServerKit
    #: The schema of the tables (``None``: the connection's default).
    schema: ClassVar[str | None] = None

    @pytest.fixture(autouse=True)
    def _bind_kit(self, sql_kit: SQLServerKit) -> None:
        """Bind the package's kit, which the scenarios' fixtures and helpers use."""
        self.kit = sql_kit

    async def prepare(self, adapter: Any, url: str) -> None:
        """The conformance tables, emptied."""
        await conformance_schema(adapter)
        await self.kit.empty_tables(url, self.schema)

    @asynccontextmanager
    async def opened(self, url: str, **options: Any) -> AsyncIterator[Any]:
        """The adapter with its own pool of 20 connections, on empty conformance tables."""
        async with self.kit.adapter_class(url, pool_options=self.kit.pool_sizes(20), **options) as adapter:
            await self.prepare(adapter, url)
            yield adapter

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[Any]:
        """The adapter with its own pool, on empty tables."""
        async with self.opened(database_url) as adapter:
            yield adapter

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        """Every stored row, read around the adapter."""
        return lambda: self.kit.dump(database_url, self.schema)


class SQLOwnPoolTests(SQLServerTests, AdapterTests, PasskeyStoreTests):
    """The conformance suites over the adapter's own pool."""


class SQLBlockingTwinTests(SQLServerTests, AdapterTests, PasskeyStoreTests):
    """The blocking twin passes the suite of the adapter it mirrors."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[Any]:
        """The twin of an adapter on empty tables (always the same twin)."""
        async with self.opened(database_url) as origin:
            twin = origin.blocking_twin()
            assert twin is not None and origin.blocking_twin() is twin
            yield twin


class SQLSyncPathTests(SQLServerTests, SyncPathTests):
    """SyncLucia over the adapter: the driver's sync API in the calling thread, under real threads."""


class SQLGivenPoolTests(SQLServerTests, AdapterTests, PasskeyStoreTests):
    """A pool the application owns: the adapter uses it and leaves it open."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> AsyncIterator[Any]:
        """The adapter on a pool of the test's own."""
        async with self.kit.given_pool(database_url, **self.kit.pool_sizes(20, 1)) as pool:
            adapter = self.kit.adapter_class(pool)
            await self.prepare(adapter, database_url)
            yield adapter
            await adapter.close()
            assert not pool.closed, "the adapter must leave a pool it was given open"


class SQLThrottleStoreTests(SQLServerTests, ThrottleStoreTests):
    """The throttle store in the database, shared by processes."""

    @pytest.fixture
    async def throttle_store(self, database_url: str) -> AsyncIterator[object]:
        """The adapter's throttle store, on its tables."""
        async with self.kit.adapter_class(database_url) as adapter:
            await adapter.create_schema()
            yield adapter.throttle_store()

    @pytest.fixture
    def throttle_store_recipe(self, database_url: str, throttle_store: object) -> StoreRecipe:
        """How another process builds the same store."""
        return (self.kit.recipe, {"pool": database_url}, "throttle_store")


class SQLFaultTests(SQLServerTests, FaultTests):
    """The storage-fault suite, through a fault-injecting proxy in front of the real server."""

    @pytest.fixture
    def faults(self, database_url: str) -> Iterator[FaultProxy]:
        """The proxy in front of the test server."""
        with FaultProxy(self.kit.server(database_url)) as proxy:
            yield proxy

    @pytest.fixture
    def proxied_url(self, database_url: str, faults: FaultProxy) -> str:
        """The test database's URL, through the proxy."""
        return self.kit.through(database_url, faults.port)

    @pytest.fixture
    async def adapter(self, database_url: str, proxied_url: str) -> AsyncIterator[Any]:
        """The adapter through the proxy, with short timeouts, on empty tables."""
        async with self.kit.adapter_class(
            proxied_url,
            pool_options=self.kit.pool_sizes(4, 1),
            connect_timeout=self.kit.fault_connect_timeout,
            pool_timeout=FAULT_POOL_TIMEOUT,
            statement_timeout=FAULT_STATEMENT_TIMEOUT,
        ) as adapter:
            await self.prepare(adapter, database_url)
            yield adapter

    @pytest.fixture
    def storage_time_limit(self) -> float:
        """The adapter's promise: ``pool_timeout + statement_timeout + 1`` seconds."""
        return FAULT_POOL_TIMEOUT + FAULT_STATEMENT_TIMEOUT + 1.0

    @pytest.fixture
    def adapter_recipe(self, proxied_url: str) -> tuple[str, dict[str, Any]]:
        """How a new process builds the adapter, through the proxy."""
        return (self.kit.recipe, {"pool": proxied_url, "pool_options": self.kit.pool_sizes(1, 1)})


def unique_app_column_test(kit: SQLServerKit, violation: type[BaseException]) -> Callable[..., Awaitable[None]]:
    """The test that a unique column of the application raises the driver's ``violation`` unchanged."""

    @pytest.mark.anyio
    async def test(database_url: str) -> None:
        """Only Lucia's own constraints are translated: a unique ``email`` of the app propagates unchanged."""
        async with kit.adapter_class(database_url) as adapter:
            await adapter.create_schema(user_columns={**CONFORMANCE_USER_COLUMNS, "email": "string"})
            await kit.empty_tables(database_url)
            await kit.run(database_url, "CREATE UNIQUE INDEX auth_user_email ON auth_user (email)")
            auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
            key = {"provider_id": "email", "provider_user_id": "a@example.com", "password": None}
            await auth.create_user(primary_key=key, attributes={"email": "a@example.com"})
            other = {**key, "provider_user_id": "b@example.com"}
            with pytest.raises(violation) as info:
                await auth.create_user(primary_key=other, attributes={"email": "a@example.com"})
            assert not isinstance(info.value, LuciaError)
            assert await adapter.get_key("email:b@example.com") is None
            # Dropping the column drops its index too.
            await kit.run(database_url, "ALTER TABLE auth_user DROP COLUMN email")

    return test


def forked_given_pool_test(kit: SQLServerKit) -> Callable[..., Awaitable[None]]:
    """The test that a pool given to the adapter is refused in a forked child."""

    @pytest.mark.anyio
    async def test(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """A given pool seen from another process (a forked worker) is never used: a ``ConfigurationError`` says why."""
        async with kit.given_pool(database_url, **kit.pool_sizes(2, 1)) as pool:
            adapter = kit.adapter_class(pool)
            await conformance_schema(adapter)
            monkeypatch.setattr(os, "getpid", lambda: -1)  # what the adapter sees in a forked child
            with pytest.raises(ConfigurationError, match=r"before os\.fork\(\)"):
                await adapter.get_user("someone")
            assert not pool.closed, "the parent's pool must not be closed from the child"

    return test


def refused_options_test(kit: SQLServerKit, url: str, cases: Sequence[Mapping[str, Any]]) -> Callable[..., None]:
    """The test that each of ``cases``, impossible pool sizes and :data:`TIMEOUT_REFUSALS` is a ``ValueError``.

    Args:
        kit: The adapter.
        url: A URL the adapter takes (construction never connects).
        cases: The adapter's own refused keyword arguments.
    """
    low, high = kit.size_names
    sizes = [{"pool_options": sizes} for sizes in ({low: 5, high: 2}, {high: 0}, {low: -1})]

    def test(options: dict[str, Any]) -> None:
        """A pool smaller than its minimum, or a zero, negative or endless timeout, is a ``ValueError`` at once."""
        with pytest.raises(ValueError):
            kit.adapter_class(url, **options)

    parametrize = pytest.mark.parametrize("options", [*sizes, *cases, *TIMEOUT_REFUSALS], ids=repr)
    parametrized: Callable[..., None] = parametrize(test)
    return parametrized


# The scenarios under the names pytest collects, for a test module to import as they are.
TestOwnPool = SQLOwnPoolTests
TestBlockingTwin = SQLBlockingTwinTests
TestSyncPath = SQLSyncPathTests
TestGivenPool = SQLGivenPoolTests
TestThrottleStore = SQLThrottleStoreTests
TestFaults = SQLFaultTests
