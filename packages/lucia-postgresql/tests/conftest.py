"""Fixtures: a fresh PostgreSQL database per test class, dropped afterwards; the kit of the shared SQL suites."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from lucia_postgresql import PostgresAdapter
from lucia_testkit import fresh_postgres_database
from lucia_testkit.sql_suites import RawExecute, SQLServerKit, class_database


class PostgresKit(SQLServerKit):
    """PostgresAdapter, psycopg_pool's pools and a plain psycopg connection."""

    adapter_class = PostgresAdapter
    size_names = ("min_size", "max_size")
    default_port = 5432
    fault_connect_timeout = 2.0  # PostgreSQL counts whole seconds, at least 2

    def given_pool(self, url: str, **options: Any) -> AsyncConnectionPool[Any]:
        return AsyncConnectionPool(url, open=False, **options)

    @asynccontextmanager
    async def raw(self, url: str) -> AsyncIterator[RawExecute]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:

            async def execute(statement: str) -> Sequence[Any]:
                cursor = await conn.execute(statement)
                return await cursor.fetchall() if cursor.description else []

            yield execute

    def empty_statements(self, tables: Sequence[str]) -> list[str]:
        return [f"TRUNCATE {', '.join(tables)}"]


POSTGRES = PostgresKit()

database_url = class_database(fresh_postgres_database)


@pytest.fixture(scope="session")
def sql_kit() -> SQLServerKit:
    """The kit of the shared SQL scenarios (:mod:`lucia_testkit.sql_suites`) for this package."""
    return POSTGRES
