"""The storage-fault suite over PostgresAdapter, through a fault-injecting proxy in front of the real server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from lucia.testing import FaultTests
from lucia_postgresql import PostgresAdapter
from lucia_testkit import FaultProxy

from .conftest import ADMIN_URL
from .test_adapter import create_schema, dump, empty_tables

#: Short timeouts, so that a stalled server costs the suite seconds, not minutes.
POOL_TIMEOUT = 1.0
STATEMENT_TIMEOUT = 1.0


class TestPostgresFaults(FaultTests):
    @pytest.fixture
    def faults(self) -> Iterator[FaultProxy]:
        server = conninfo_to_dict(ADMIN_URL)
        with FaultProxy((str(server.get("host") or "127.0.0.1"), int(server.get("port") or 5432))) as proxy:
            yield proxy

    @pytest.fixture
    async def adapter(self, database_url: str, faults: FaultProxy) -> AsyncIterator[PostgresAdapter]:
        url = make_conninfo(database_url, host="127.0.0.1", port=str(faults.port))
        async with PostgresAdapter(
            url,
            pool_options={"min_size": 1, "max_size": 4},
            connect_timeout=2,
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
    def adapter_recipe(self, database_url: str, faults: FaultProxy) -> tuple[str, dict[str, Any]]:
        url = make_conninfo(database_url, host="127.0.0.1", port=str(faults.port))
        return ("lucia_postgresql:PostgresAdapter", {"pool": url, "pool_options": {"min_size": 1, "max_size": 1}})
