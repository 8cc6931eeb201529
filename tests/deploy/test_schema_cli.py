"""``python -m lucia schema <dialect>``: the printed DDL, applied to the real server, is a database Lucia runs on.

Each dialect's statements are run as printed in a fresh database (SQLite file,
PostgreSQL, MariaDB; MySQL 8 only where ``LUCIA_TEST_MYSQL8_URL`` or ``LUCIA_TEST_MYSQL_URL``
names one), then the adapter for that database signs users in on it: ids compare exactly
(a key with trailing spaces is another key: the NO PAD collation on MariaDB/MySQL), user and session
columns given on the command line hold attributes, the throttle tables count failures.
``--upgrade`` is applied to a Lucia-JS 1.x four-column session table holding a Node-era
session: the session keeps working and the table then records what the session policy
needs (the renewal grace, the sign-in time). Issue #19.4: ``schema mysql`` fails on
MariaDB, whose dialect is ``mariadb``.
"""

from __future__ import annotations

import secrets
import sqlite3
import string
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from lucia import InvalidCredentialsError, Lucia, PrimaryKey, SyncLucia, TooManyRequestsError
from lucia.testing import FakeClock, fast_password_hasher
from lucia.testing.services import service_url
from lucia.throttle import Throttle
from lucia_testkit import MYSQL_URL, fresh_mysql_database, mysql_connect_args

#: A MySQL 8 server beside the MariaDB one, when there is one (CI has none): ``""`` otherwise.
MYSQL8_URL = service_url("LUCIA_TEST_MYSQL8_URL", "")


@dataclass
class Target:
    """A fresh database of one dialect: how to run statements on it and how to build its adapter."""

    dialect: str
    run: Callable[[Sequence[str]], None]
    adapter: Callable[[], Any]
    #: The Lucia-JS 1.x DDL of this database (``lucia_testkit.LUCIA_JS_DDL`` key).
    lucia_js: str


def printed(*args: str) -> list[str]:
    """The statements ``python -m lucia schema <args>`` prints (one per ``;`` at a line end)."""
    result = subprocess.run(
        [sys.executable, "-m", "lucia", "schema", *args], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [statement for statement in result.stdout.strip().removesuffix(";").split(";\n") if statement]


def _sqlite(tmp_path: Path) -> Target:
    from lucia_sqlite import SQLiteAdapter

    path = tmp_path / "app.db"

    def run(statements: Sequence[str]) -> None:
        with closing(sqlite3.connect(path)) as conn:
            conn.executescript(";\n".join(statements) + ";")

    return Target("sqlite", run, lambda: SQLiteAdapter(str(path)), "sqlite")


def _postgresql(url: str) -> Target:
    import psycopg

    from lucia_postgresql import PostgresAdapter

    def run(statements: Sequence[str]) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement.encode())  # bytes: run as written, no placeholders

    return Target("postgresql", run, lambda: PostgresAdapter(url), "postgresql")


def _mysql_connection(url: str) -> Any:
    """A PyMySQL connection (autocommit) to the database of a ``mysql://`` URL."""
    import pymysql

    return pymysql.connect(**mysql_connect_args(url), database=urlsplit(url).path.lstrip("/"), autocommit=True)


def _mysql(dialect: str, url: str) -> Target:
    from lucia_mysql import MySQLAdapter

    def run(statements: Sequence[str]) -> None:
        conn = _mysql_connection(url)
        with conn, conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)

    return Target(dialect, run, lambda: MySQLAdapter(url), "mysql")


def _is_mariadb(url: str) -> bool:
    conn = _mysql_connection(url)
    with conn, conn.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        (version,) = cursor.fetchone()
    return "mariadb" in str(version).lower()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb", "mysql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """A fresh database for each dialect of ``python -m lucia schema``."""
    dialect: str = request.param
    if dialect == "sqlite":
        yield _sqlite(tmp_path)
    elif dialect == "postgresql":
        yield _postgresql(request.getfixturevalue("postgres_url"))
    elif dialect == "mariadb":
        with fresh_mysql_database("lucia_deploy", url=MYSQL_URL, charset=None) as url:
            if not _is_mariadb(url):
                pytest.skip(f"{MYSQL_URL} is MySQL, not MariaDB")
            yield _mysql("mariadb", url)
    else:
        with fresh_mysql_database("lucia_deploy", url=MYSQL8_URL or MYSQL_URL, charset=None) as url:
            if _is_mariadb(url):
                pytest.skip("no MySQL 8 server: LUCIA_TEST_MYSQL_URL is MariaDB; set LUCIA_TEST_MYSQL8_URL")
            yield _mysql("mysql", url)


def test_printed_schema_is_a_database_lucia_runs_on(target: Target) -> None:
    """The printed DDL creates every table: exact ids, user and session columns, a shared throttle."""
    target.run(printed(target.dialect, "--user-column", "username:string", "--session-column", "device:string"))
    adapter = target.adapter()
    lucia = Lucia(
        adapter=adapter,
        clock=FakeClock(),
        password_hasher=fast_password_hasher(),
        throttle=Throttle(store=adapter.throttle_store(), max_failures=2),
    )
    with SyncLucia(lucia) as auth:
        auth.connect()  # checks the tables against what Lucia is configured for
        bob = auth.create_user(
            primary_key=PrimaryKey("email", "bob@example.com", password="first password"),
            attributes={"username": "bob"},
        )
        # Trailing spaces make another key (no PAD SPACE comparison): not bob's, not a duplicate.
        spaced = auth.create_user(
            primary_key=PrimaryKey("email", "bob@example.com  ", password="second password"),
            attributes={"username": "spaced"},
        )
        assert spaced.user_id != bob.user_id
        assert auth.use_key("email", "bob@example.com  ", "second password").user_id == spaced.user_id
        assert auth.use_key("email", "bob@example.com", "first password").user_id == bob.user_id
        session = auth.create_session(bob.user_id, attributes={"device": "laptop"})
        validated, user = auth.validate_session_user(session.token or "")
        assert user.attributes["username"] == "bob"
        assert validated.attributes == {"device": "laptop"} and validated.created_at is not None
        for _ in range(2):
            with pytest.raises(InvalidCredentialsError):
                auth.use_key("email", "bob@example.com", "wrong password")
        with pytest.raises(TooManyRequestsError):
            auth.use_key("email", "bob@example.com", "first password")


def test_upgrade_gives_a_lucia_js_session_table_the_session_policy(target: Target) -> None:
    """``--upgrade`` on a Lucia-JS session table: Node's session still works; grace and sign-in time now too."""
    from lucia_testkit import LUCIA_JS_DDL, lucia_js_user_id

    clock = FakeClock()
    now_ms = int(clock() * 1000)
    user_id = lucia_js_user_id()
    token = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))  # a Lucia-JS session id
    target.run(
        [
            *LUCIA_JS_DDL[target.lucia_js],
            f"INSERT INTO auth_user (id, username) VALUES ('{user_id}', 'node')",
            "INSERT INTO auth_session (id, user_id, active_expires, idle_expires) "
            f"VALUES ('{token}', '{user_id}', {now_ms + 3_600_000}, {now_ms + 14 * 86_400_000})",
        ]
    )
    upgrade = printed(target.dialect, "--upgrade")
    assert upgrade and all(s.startswith(("ALTER TABLE", "CREATE INDEX")) for s in upgrade), upgrade
    target.run(upgrade)
    lucia = Lucia(
        adapter=target.adapter(),
        clock=clock,
        hash_session_ids=False,  # the session id is the token, as Lucia-JS 1.x stored it
        generate_user_id=lucia_js_user_id,
        password_hasher=fast_password_hasher(),
    )
    with SyncLucia(lucia) as auth:
        auth.connect()
        assert auth.validate_session(token).user_id == user_id
        clock.advance(timedelta(hours=2))  # idle: the next validation renews it
        renewed = auth.validate_session(token)
        assert renewed.fresh and renewed.token != token and renewed.user_id == user_id
        # The renewal grace needs the upgrade's columns (on four columns it is off): the
        # replaced token still authenticates, as a parallel request's would.
        assert auth.validate_session(token).user_id == user_id
        assert auth.create_session(user_id).created_at is not None
