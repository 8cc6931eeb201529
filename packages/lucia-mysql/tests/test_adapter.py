"""The conformance suites over MySQLAdapter: its own pool, a pool you own, and the MySQL 8 path."""

from __future__ import annotations

from typing import Any

import aiomysql
import pytest

from lucia_mysql import MySQLAdapter
from lucia_testkit import sql_suites

from .conftest import MYSQL

# The shared scenarios, collected here over the conftest's ``sql_kit``.
TestBlockingTwin = sql_suites.TestBlockingTwin
TestSyncPath = sql_suites.TestSyncPath
TestGivenPool = sql_suites.TestGivenPool
TestThrottleStore = sql_suites.TestThrottleStore


class TestMySQLAdapterOwnPool(sql_suites.SQLOwnPoolTests):
    """The conformance suites over the adapter's own pool, on MariaDB's ``DELETE ... RETURNING`` path."""

    async def test_mariadb_is_detected_and_uses_delete_returning(self, adapter: MySQLAdapter) -> None:
        """On MariaDB the adapter consumes single-use keys with ``DELETE ... RETURNING``."""
        assert adapter.uses_delete_returning


class TestMySQLAdapterLockingPath(sql_suites.SQLOwnPoolTests):
    """The MySQL 8 path (no ``RETURNING``: lock, then delete), forced on the server at hand."""

    @pytest.fixture
    async def adapter(self, database_url: str) -> Any:
        async with self.opened(database_url, delete_returning=False) as adapter:
            assert not adapter.uses_delete_returning
            yield adapter


test_a_unique_column_of_the_application_raises_the_driver_error = sql_suites.unique_app_column_test(
    MYSQL, aiomysql.IntegrityError
)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("options", "missing"),
    [({"autocommit": False}, "autocommit"), ({"client_flag": 0}, "FOUND_ROWS")],
    ids=["transactional", "changed-rows"],
)
async def test_a_pool_that_cannot_work_is_refused(database_url: str, options: dict[str, Any], missing: str) -> None:
    """Transactional connections (hidden writes) or UPDATEs counting changed rows only: refused up front."""
    async with MYSQL.given_pool(database_url, **options) as pool:
        with pytest.raises(ValueError, match=missing):
            await MySQLAdapter(pool).get_user("someone")


def test_urls_and_options_are_checked_and_the_password_never_printed() -> None:
    """A non-MySQL URL and ``pool_options`` with a given pool are refused; ``repr`` hides the password."""
    with pytest.raises(ValueError, match=r"mysql:// or mariadb://"):
        MySQLAdapter("postgresql://root@127.0.0.1/db")
    adapter = MySQLAdapter("mysql://app:s3cr%40t@db.internal:3307/app")
    assert "s3cr" not in repr(adapter) and "db.internal:3307" in repr(adapter)
    with pytest.raises(TypeError):
        MySQLAdapter(object(), pool_options={"maxsize": 2})  # type: ignore[arg-type]


test_options_that_cannot_work_are_refused_at_construction = sql_suites.refused_options_test(
    MYSQL,
    "mysql://root@127.0.0.1/test",
    [
        {"pool_options": {"connect_timeout": 3}},
        {"pool_options": {"pool_recycle": 0}},
    ],
)

test_a_pool_you_opened_before_a_fork_is_refused_in_the_child = sql_suites.forked_given_pool_test(MYSQL)
