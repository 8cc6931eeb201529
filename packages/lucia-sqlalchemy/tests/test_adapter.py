"""The conformance suite over SQLAlchemyAdapter on PostgreSQL, MariaDB and SQLite.

Each class runs on its own freshly created database. The ``SharedDDL`` classes create
the tables with the shared DDL of :mod:`lucia.adapters.sql` (the one every SQL adapter
and ``python -m lucia schema`` uses) over a raw connection, then run the whole suite
on them: the SQLAlchemy tables are the same tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

import pytest
from sqlalchemy import Column, MetaData, Text
from sqlalchemy.dialects import mysql

from lucia.adapters.sql import MARIADB, POSTGRESQL, SQLITE, Dialect, SQLStatements
from lucia.testing import CONFORMANCE_USER_COLUMNS, AdapterTests
from lucia_sqlalchemy import SQLAlchemyAdapter, lucia_tables

_CORE_DIALECTS: dict[str, Dialect] = {"postgresql": POSTGRESQL, "mariadb": MARIADB, "sqlite": SQLITE}


def username_column() -> Column[str]:
    """The suite's ``username`` column: LONGTEXT on MySQL/MariaDB so 100 KB values fit."""
    return Column("username", Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb"))


class _OnSQLAlchemy:
    """Supplies the suite's ``adapter`` and ``raw_dump`` on the class's database."""

    database_fixture: ClassVar[str]

    @pytest.fixture
    def db(self, request: pytest.FixtureRequest) -> Any:
        return request.getfixturevalue(self.database_fixture)

    @pytest.fixture
    async def adapter(self, db: Any) -> AsyncIterator[SQLAlchemyAdapter]:
        engine = db.engine(pool_pre_ping=True)
        tables = lucia_tables(MetaData(), user_columns=[username_column()])
        adapter = SQLAlchemyAdapter(engine, tables=tables)
        await adapter.create_schema()
        try:
            yield adapter
        finally:
            async with engine.begin() as conn:
                await conn.run_sync(tables.metadata.drop_all)
            await engine.dispose()

    @pytest.fixture
    def raw_dump(self, db: Any) -> Callable[[], Awaitable[str]]:
        return db.dump  # type: ignore[no-any-return]


class _OnSharedDDL(_OnSQLAlchemy):
    """The tables come from ``lucia.adapters.sql`` DDL, run over a raw connection."""

    @pytest.fixture
    async def adapter(self, db: Any) -> AsyncIterator[SQLAlchemyAdapter]:
        async with db.raw() as conn:
            for statement in SQLStatements(_CORE_DIALECTS[db.kind]).schema(CONFORMANCE_USER_COLUMNS):
                await db.fetch(conn, statement)
        engine = db.engine(pool_pre_ping=True)
        try:
            yield SQLAlchemyAdapter(engine, tables=lucia_tables(user_columns=[username_column()]))
        finally:
            await engine.dispose()
            async with db.raw() as conn:
                for table in ("auth_key", "auth_session", "auth_user"):
                    await db.fetch(conn, f"DROP TABLE {table}")


class TestPostgreSQL(_OnSQLAlchemy, AdapterTests):
    database_fixture = "postgresql_database"


class TestMariaDB(_OnSQLAlchemy, AdapterTests):
    database_fixture = "mariadb_database"


class TestSQLite(_OnSQLAlchemy, AdapterTests):
    database_fixture = "sqlite_database"


class TestPostgreSQLSharedDDL(_OnSharedDDL, AdapterTests):
    database_fixture = "postgresql_database"


class TestMariaDBSharedDDL(_OnSharedDDL, AdapterTests):
    database_fixture = "mariadb_database"


class TestSQLiteSharedDDL(_OnSharedDDL, AdapterTests):
    database_fixture = "sqlite_database"
