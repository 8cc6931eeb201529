"""Fixtures: a fresh MariaDB/MySQL database per test class, dropped afterwards; the kit of the shared SQL suites."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import aiomysql
import pytest
from pymysql.constants import CLIENT

from lucia_mysql import MySQLAdapter
from lucia_testkit import fresh_mysql_database, mysql_connect_args
from lucia_testkit.sql_suites import RawExecute, SQLServerKit, class_database


class MySQLKit(SQLServerKit):
    """MySQLAdapter, aiomysql's pools and a plain aiomysql connection."""

    adapter_class = MySQLAdapter
    size_names = ("minsize", "maxsize")
    default_port = 3306

    @asynccontextmanager
    async def given_pool(self, url: str, **options: Any) -> AsyncIterator[aiomysql.Pool]:
        """A pool as the adapter asks for one (autocommit, FOUND_ROWS), unless ``options`` say otherwise."""
        settings = {"autocommit": True, "charset": "utf8mb4", "client_flag": CLIENT.FOUND_ROWS, **options}
        pool = await aiomysql.create_pool(**mysql_connect_args(url), db=urlsplit(url).path.lstrip("/"), **settings)
        try:
            yield pool
        finally:
            pool.close()
            await pool.wait_closed()

    @asynccontextmanager
    async def raw(self, url: str) -> AsyncIterator[RawExecute]:
        conn = await aiomysql.connect(
            **mysql_connect_args(url), db=urlsplit(url).path.lstrip("/"), autocommit=True, charset="utf8mb4"
        )
        try:
            async with conn.cursor() as cursor:

                async def execute(statement: str) -> Sequence[Any]:
                    await cursor.execute(statement)
                    rows: Sequence[Any] = await cursor.fetchall() if cursor.description else ()
                    return rows

                yield execute
        finally:
            conn.close()


MYSQL = MySQLKit()

database_url = class_database(fresh_mysql_database)


@pytest.fixture(scope="session")
def sql_kit() -> SQLServerKit:
    """The kit of the shared SQL scenarios (:mod:`lucia_testkit.sql_suites`) for this package."""
    return MYSQL
