"""The conformance suites over PostgresAdapter: its own pool, a pool you own, schema-qualified tables."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from lucia import Lucia
from lucia.adapters.sql import TableNames
from lucia.testing import fast_password_hasher
from lucia_postgresql import PostgresAdapter
from lucia_testkit import sql_suites

from .conftest import POSTGRES

# The shared scenarios, collected here over the conftest's ``sql_kit``.
TestOwnPool = sql_suites.TestOwnPool
TestBlockingTwin = sql_suites.TestBlockingTwin
TestSyncPath = sql_suites.TestSyncPath
TestGivenPool = sql_suites.TestGivenPool
TestThrottleStore = sql_suites.TestThrottleStore

#: Every table in the schema ``lucia``, under its default name.
SCHEMA_TABLES = TableNames(**{role: f"lucia.{name}" for role, name in asdict(TableNames()).items()})


class TestPostgresAdapterSchemaQualifiedTables(sql_suites.SQLOwnPoolTests):
    """Tables in a schema of their own, under the names the application chose."""

    schema = "lucia"

    @pytest.fixture
    async def adapter(self, database_url: str) -> Any:
        await POSTGRES.run(database_url, "CREATE SCHEMA IF NOT EXISTS lucia")
        async with self.opened(database_url, tables=SCHEMA_TABLES) as adapter:
            yield adapter


test_a_unique_column_of_the_application_raises_the_driver_error = sql_suites.unique_app_column_test(
    POSTGRES, psycopg.errors.UniqueViolation
)


@pytest.mark.anyio
async def test_a_user_column_added_while_running_is_picked_up(database_url: str) -> None:
    """Prepared ``SELECT *`` statements survive ``ALTER TABLE``: the new column shows, nothing fails."""
    async with PostgresAdapter(database_url) as adapter:
        await sql_suites.conformance_schema(adapter)
        auth = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
        user = await auth.create_user(primary_key=None, attributes={"username": "migrated"})
        token = (await auth.create_session(user.user_id)).token or ""
        for _ in range(3):  # every pooled connection has the statements prepared by now
            await auth.validate_session_user(token)
            await auth.get_user(user.user_id)
        await POSTGRES.run(database_url, "ALTER TABLE auth_user ADD COLUMN email TEXT")
        try:
            for _ in range(3):
                _, got = await auth.validate_session_user(token)
                assert got.attributes == {"username": "migrated", "email": None}
                assert (await auth.get_user(user.user_id)).attributes == {"username": "migrated", "email": None}
        finally:
            await POSTGRES.run(database_url, "ALTER TABLE auth_user DROP COLUMN email")


def test_pool_options_with_a_given_pool_are_refused() -> None:
    """``pool_options`` configure the adapter's own pool; with your pool they are an error."""
    pool = AsyncConnectionPool("postgresql://nobody@127.0.0.1:1/none", open=False)
    with pytest.raises(TypeError):
        PostgresAdapter(pool, pool_options={"max_size": 3})


test_options_that_cannot_work_are_refused_at_construction = sql_suites.refused_options_test(
    POSTGRES,
    "postgresql://postgres@127.0.0.1/test",
    [
        {"pool_options": {"timeout": 3}},
        {"pool_options": {"max_idle": 0}},
    ],
)


@pytest.mark.parametrize("url", ["mysql://root@127.0.0.1/test", "postgresql+psycopg://u@h/db", "redis://h"])
def test_a_url_of_another_database_names_the_expected_scheme(url: str) -> None:
    """Another scheme is refused with a message that names ``postgresql://``."""
    with pytest.raises(ValueError, match=r"postgresql://"):
        PostgresAdapter(url)


test_a_pool_you_opened_before_a_fork_is_refused_in_the_child = sql_suites.forked_given_pool_test(POSTGRES)
