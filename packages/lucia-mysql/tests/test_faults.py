"""The storage-fault suite over MySQLAdapter, through a fault-injecting proxy in front of the real server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from lucia.testing import FaultTests
from lucia_mysql import MySQLAdapter
from lucia_testkit import FaultProxy

from .conftest import ADMIN_URL
from .test_adapter import create_schema, dump, empty_tables

#: Short timeouts, so that a stalled server costs the suite seconds, not minutes.
POOL_TIMEOUT = 1.0
STATEMENT_TIMEOUT = 1.0


class TestMySQLFaults(FaultTests):
    @pytest.fixture
    def faults(self) -> Iterator[FaultProxy]:
        server = urlsplit(ADMIN_URL)
        with FaultProxy((server.hostname or "127.0.0.1", server.port or 3306)) as proxy:
            yield proxy

    @pytest.fixture
    def proxied_url(self, database_url: str, faults: FaultProxy) -> str:
        """The test database's URL, through the proxy."""
        parts = urlsplit(database_url)
        credentials = parts.netloc.rpartition("@")[0]
        return parts._replace(netloc=f"{credentials}@127.0.0.1:{faults.port}").geturl()

    @pytest.fixture
    async def adapter(self, database_url: str, proxied_url: str) -> AsyncIterator[MySQLAdapter]:
        async with MySQLAdapter(
            proxied_url,
            pool_options={"minsize": 1, "maxsize": 4},
            connect_timeout=1,
            pool_timeout=POOL_TIMEOUT,
            statement_timeout=STATEMENT_TIMEOUT,
        ) as adapter:
            await create_schema(adapter)
            await empty_tables(database_url)
            yield adapter

    @pytest.fixture
    def storage_time_limit(self) -> float:
        return POOL_TIMEOUT + STATEMENT_TIMEOUT + 1.0

    @pytest.fixture
    def raw_dump(self, database_url: str) -> Callable[[], Awaitable[str]]:
        return lambda: dump(database_url)

    @pytest.fixture
    def adapter_recipe(self, proxied_url: str) -> tuple[str, dict[str, Any]]:
        return ("lucia_mysql:MySQLAdapter", {"pool": proxied_url, "pool_options": {"minsize": 1, "maxsize": 1}})
