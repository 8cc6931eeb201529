"""The conformance suites over SQLAlchemyAdapter on PostgreSQL, MariaDB and SQLite.

Each class runs on its own freshly created database, whose tables are created once and
emptied before each test. The ``SharedDDL`` classes create the tables with the shared
DDL of :mod:`lucia.adapters.sql` (the one every SQL adapter and ``python -m lucia
schema`` uses) over a raw connection, then run the suite on them: the SQLAlchemy tables
are the same tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from lucia.adapters.sql import MARIADB, POSTGRESQL, SQLITE, Dialect, SQLStatements
from lucia.testing import (
    CONFORMANCE_SESSION_COLUMNS,
    CONFORMANCE_USER_COLUMNS,
    AdapterTests,
    PasskeyStoreTests,
    ThrottleStoreTests,
)
from lucia.testing._throttle_suite import StoreRecipe
from lucia_sqlalchemy import LuciaTables, SQLAlchemyAdapter

_CORE_DIALECTS: dict[str, Dialect] = {"postgresql": POSTGRESQL, "mariadb": MARIADB, "sqlite": SQLITE}


async def _create_with_sqlalchemy(db: Any, tables: LuciaTables) -> None:
    engine = db.engine()
    try:
        await SQLAlchemyAdapter(engine, tables=tables).create_schema()
    finally:
        await engine.dispose()


async def _create_with_shared_ddl(db: Any, tables: LuciaTables) -> None:
    async with db.raw() as conn:
        for statement in SQLStatements(_CORE_DIALECTS[db.kind]).schema(
            CONFORMANCE_USER_COLUMNS, CONFORMANCE_SESSION_COLUMNS
        ):
            await db.fetch(conn, statement)


class _OnSQLAlchemy:
    """Supplies the suites' ``adapter`` and ``raw_dump`` on the class's database."""

    database_fixture: ClassVar[str]
    #: The dialect name the URL gives (MariaDB is reached as ``mysql://`` unless this says ``mariadb``).
    url_dialect: ClassVar[str | None] = None
    create: ClassVar[Callable[[Any, LuciaTables], Awaitable[None]]] = staticmethod(_create_with_sqlalchemy)

    @pytest.fixture(scope="class")
    @classmethod
    def schema(cls, request: pytest.FixtureRequest, run_isolated: Any, make_tables: Any) -> tuple[Any, LuciaTables]:
        db = request.getfixturevalue(cls.database_fixture)
        tables = make_tables()
        run_isolated(lambda: cls.create(db, tables))
        return db, tables

    @pytest.fixture
    async def adapter(self, schema: tuple[Any, LuciaTables]) -> AsyncIterator[SQLAlchemyAdapter]:
        db, tables = schema
        engine = create_async_engine(self._url(db), pool_pre_ping=True)
        adapter = SQLAlchemyAdapter(engine, tables=tables)  # first: it turns SQLite's foreign keys on
        async with engine.begin() as conn:  # empty tables for each test
            for table in reversed(tables.metadata.sorted_tables):
                await conn.execute(table.delete())
        try:
            yield adapter
        finally:
            await engine.dispose()

    def _url(self, db: Any) -> str:
        return str(db.url_as(self.url_dialect) if self.url_dialect else db.url.render_as_string(hide_password=False))

    @pytest.fixture
    def raw_dump(self, schema: tuple[Any, LuciaTables]) -> Callable[[], Awaitable[str]]:
        return schema[0].dump  # type: ignore[no-any-return]


class _OnSharedDDL(_OnSQLAlchemy):
    """The tables come from ``lucia.adapters.sql`` DDL, run over a raw connection."""

    create = staticmethod(_create_with_shared_ddl)


class TestPostgreSQL(_OnSQLAlchemy, AdapterTests, PasskeyStoreTests):
    database_fixture = "postgresql_database"


class TestMariaDB(_OnSQLAlchemy, AdapterTests, PasskeyStoreTests):
    database_fixture = "mariadb_database"


class TestSQLite(_OnSQLAlchemy, AdapterTests, PasskeyStoreTests):
    database_fixture = "sqlite_database"


class TestPostgreSQLSharedDDL(_OnSharedDDL, AdapterTests, PasskeyStoreTests):
    database_fixture = "postgresql_database"


class TestMariaDBSharedDDL(_OnSharedDDL, AdapterTests, PasskeyStoreTests):
    database_fixture = "mariadb_database"
    url_dialect = "mariadb"  # SQLAlchemy's own MariaDB dialect name


class TestSQLiteSharedDDL(_OnSharedDDL, AdapterTests, PasskeyStoreTests):
    database_fixture = "sqlite_database"


class _ThrottleStoreOnSQLAlchemy(_OnSQLAlchemy, ThrottleStoreTests):
    """The throttle store in the class's database; other processes build it with ``SQLAlchemyAdapter.from_url``."""

    @pytest.fixture
    async def throttle_store(self, adapter: SQLAlchemyAdapter) -> Any:
        return adapter.throttle_store()

    @pytest.fixture
    def throttle_store_recipe(self, schema: tuple[Any, LuciaTables], throttle_store: Any) -> StoreRecipe:
        url = self._url(schema[0])
        return ("lucia_sqlalchemy:SQLAlchemyAdapter.from_url", {"url": url}, "throttle_store")


class TestPostgreSQLThrottleStore(_ThrottleStoreOnSQLAlchemy):
    database_fixture = "postgresql_database"


class TestMariaDBThrottleStore(_ThrottleStoreOnSQLAlchemy):
    database_fixture = "mariadb_database"
    url_dialect = "mariadb"


class TestSQLiteThrottleStore(_ThrottleStoreOnSQLAlchemy):
    database_fixture = "sqlite_database"
