"""``python -m lucia migrate hash-session-ids``: every token-id becomes its SHA-256, once, or nothing changes.

One suite (:class:`MigrateTests`) runs on SQLite (always), PostgreSQL and MariaDB (real
servers, a fresh database each); the URL and driver cases that need no database are
plain functions at the end.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from lucia import Lucia, LuciaError
from lucia.__main__ import main
from lucia.adapters.sql import SQLStatements, TableNames, dialect_named
from lucia.testing import fast_password_hasher
from lucia_testkit import LUCIA_JS_DDL, fresh_mysql_database, fresh_postgres_database, mysql_connect_args

_ALPHANUMERIC = string.ascii_letters + string.digits


def lucia_js_token() -> str:
    """A session id as Lucia-JS 1.x makes it: 40 characters of ``[A-Za-z0-9]``."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(40))


def sha256_hex(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def migrate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``python -m lucia migrate hash-session-ids ARGS`` in process: status, stdout, stderr."""
    status = main(["migrate", "hash-session-ids", *args])
    out, err = capsys.readouterr()
    return status, out, err


class Database:
    """A fresh database with Lucia's tables, reached through a DB-API driver."""

    def __init__(self, url: str, dialect: str, connect: Any) -> None:
        self.url = url
        self.dialect = dialect_named(dialect)
        self._connect = connect

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        connection = self._connect()
        try:
            cursor = connection.cursor()
            cursor.execute(statement.replace("?", self.dialect.placeholder), params)
            rows = [tuple(row) for row in cursor.fetchall()] if cursor.description else []
            connection.commit()
            return rows
        finally:
            connection.close()

    def create_tables(self, session_table: str = "auth_session") -> None:
        for statement in SQLStatements(self.dialect, TableNames(session=session_table)).schema():
            self.execute(statement)

    def columns(self, table: str) -> set[str]:
        connection = self._connect()
        try:
            cursor = connection.cursor()
            cursor.execute(f"SELECT * FROM {self.dialect.q(table)} WHERE 1 = 0")
            return {column[0].lower() for column in cursor.description}
        finally:
            connection.close()

    def add_sessions(self, *ids: str, table: str = "auth_session") -> None:
        user_id = secrets.token_hex(7)  # fits Lucia-JS's VARCHAR(15) user ids
        self.execute("INSERT INTO auth_user (id) VALUES (?)", (user_id,))
        for session_id in ids:
            self.execute(
                f"INSERT INTO {self.dialect.q(table)} (id, user_id, active_expires, idle_expires) VALUES (?, ?, ?, ?)",
                (session_id, user_id, 1, 2),
            )

    def session_ids(self, table: str = "auth_session") -> set[str]:
        return {row[0] for row in self.execute(f"SELECT id FROM {self.dialect.q(table)}")}


class MigrateTests:
    """The promises of the migrate command, for one database; subclasses supply ``database``."""

    def test_dry_run_counts_and_changes_nothing(self, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
        """Without --apply the command reports how many rows it would hash and writes nothing."""
        database.create_tables()
        tokens = [lucia_js_token(), lucia_js_token(), lucia_js_token().lower()]
        database.add_sessions(*tokens, sha256_hex("already"))
        before = database.session_ids()

        status, out, err = migrate(capsys, "--url", database.url)

        assert (status, err) == (0, "")
        assert "3 session ids to hash, 1 already hashed" in out and "Dry run: nothing was changed" in out
        assert database.session_ids() == before

    def test_apply_stores_the_sha256_of_every_token(
        self, database: Database, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--apply rewrites each token-id to SHA-256 hex (what hash_session_ids=True looks up), once."""
        database.create_tables()
        tokens = [lucia_js_token() for _ in range(5)]
        hashed = sha256_hex(lucia_js_token())
        database.add_sessions(*tokens, hashed)

        status, out, _ = migrate(capsys, "--url", database.url, "--apply")

        assert status == 0 and "hashed 5 session ids (1 were already hashed)" in out
        assert database.session_ids() == {sha256_hex(token) for token in tokens} | {hashed}

    def test_second_run_changes_nothing(self, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
        """Idempotent: after --apply, another --apply finds every id hashed and leaves it alone."""
        database.create_tables()
        database.add_sessions(lucia_js_token(), lucia_js_token())
        assert migrate(capsys, "--url", database.url, "--apply")[0] == 0
        after_first = database.session_ids()

        status, out, err = migrate(capsys, "--url", database.url, "--apply")

        assert (status, err) == (0, "")
        assert "nothing to do, all 2 session ids are already hashed" in out
        assert database.session_ids() == after_first

    def test_empty_session_table_is_nothing_to_do(self, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
        """A database without sessions succeeds and says so."""
        database.create_tables()
        status, out, _ = migrate(capsys, "--url", database.url, "--apply")
        assert status == 0 and "no sessions; nothing to do" in out

    def test_custom_session_table(self, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
        """--session-table names the table to rewrite."""
        database.create_tables(session_table="user_session")
        token = lucia_js_token()
        database.add_sessions(token, table="user_session")
        status, out, _ = migrate(capsys, "--url", database.url, "--session-table", "user_session", "--apply")
        assert status == 0 and out.startswith("user_session in ")
        assert database.session_ids("user_session") == {sha256_hex(token)}

    def test_missing_table_is_an_error(self, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
        """A table that does not exist: a clear error, exit status 2."""
        database.create_tables()
        status, out, err = migrate(capsys, "--url", database.url, "--session-table", "sessions", "--apply")
        assert (status, out) == (2, "")
        assert err.startswith("error: no table sessions in ")

    def test_a_table_that_is_not_a_session_table_is_refused(
        self, database: Database, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Pointing --session-table at the user or key table changes nothing: no expiry columns, exit 2."""
        database.create_tables()
        database.add_sessions(lucia_js_token())
        users = database.execute("SELECT id FROM auth_user")
        for table in ("auth_user", "auth_key"):
            status, _, err = migrate(capsys, "--url", database.url, "--session-table", table, "--apply")
            assert status == 2
            assert f"{table} in " in err and "is not a Lucia session table (no active_expires, idle_expires" in err
        assert database.execute("SELECT id FROM auth_user") == users

    def test_bad_table_name_is_refused(self, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
        """A table name that is not a plain identifier never reaches SQL."""
        database.create_tables()
        status, _, err = migrate(capsys, "--url", database.url, "--session-table", "auth_session; DROP TABLE auth_user")
        assert status == 2 and "table name must match" in err
        assert database.execute("SELECT COUNT(*) FROM auth_user") == [(0,)]

    def test_a_failing_update_changes_nothing(self, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
        """One transaction: when a row cannot be rewritten (its hash is taken), no row changes; exit 1."""
        database.create_tables()
        clash = "z" * 40  # sorts last: the other rows are rewritten before the failure
        database.add_sessions(lucia_js_token().replace("z", "a"), lucia_js_token().replace("z", "a"), clash)
        database.add_sessions(sha256_hex(clash))
        before = database.session_ids()

        status, out, err = migrate(capsys, "--url", database.url, "--apply")

        assert (status, out) == (1, "")
        assert err.startswith("error: auth_session in ") and err.rstrip().endswith("nothing was changed")
        assert database.session_ids() == before

    def test_tables_referencing_session_ids_cascade_or_stop_the_rewrite(
        self, database: Database, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An app table referencing session ids: ON UPDATE CASCADE follows the rewrite, a plain key stops it."""
        database.create_tables()
        token = lucia_js_token()
        database.add_sessions(token)
        session_id_type = database.dialect.session_id_type
        database.execute(
            f"CREATE TABLE device (session_id {session_id_type} NOT NULL, "
            "FOREIGN KEY (session_id) REFERENCES auth_session (id))"
        )
        database.execute("INSERT INTO device (session_id) VALUES (?)", (token,))

        status, _, err = migrate(capsys, "--url", database.url, "--apply")
        assert status == 1 and err.rstrip().endswith("nothing was changed")
        assert database.session_ids() == {token}

        database.execute("DROP TABLE device")
        database.execute(
            f"CREATE TABLE device (session_id {session_id_type} NOT NULL, "
            "FOREIGN KEY (session_id) REFERENCES auth_session (id) ON UPDATE CASCADE)"
        )
        database.execute("INSERT INTO device (session_id) VALUES (?)", (token,))
        assert migrate(capsys, "--url", database.url, "--apply")[0] == 0
        assert database.execute("SELECT session_id FROM device") == [(sha256_hex(token),)]

    def test_previous_id_column_is_hashed_too(self, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
        """A ``previous_id`` column (the id a renewal replaced) is a session id too: hashed alike, NULL kept."""
        database.create_tables()
        if "previous_id" not in database.columns("auth_session"):
            database.execute(f"ALTER TABLE auth_session ADD COLUMN previous_id {database.dialect.session_id_type}")
        current, replaced = lucia_js_token(), lucia_js_token()
        database.add_sessions(current, lucia_js_token())
        database.execute("UPDATE auth_session SET previous_id = ? WHERE id = ?", (replaced, current))

        assert migrate(capsys, "--url", database.url, "--apply")[0] == 0

        rows = set(database.execute("SELECT id, previous_id FROM auth_session"))
        assert (sha256_hex(current), sha256_hex(replaced)) in rows
        assert sum(1 for _, previous in rows if previous is None) == 1


# -- SQLite ---------------------------------------------------------------------------------


class TestSQLite(MigrateTests):
    @pytest.fixture
    def database(self, tmp_path: Path) -> Database:
        path = tmp_path / "app.db"
        return Database(f"sqlite:///{path}", "sqlite", lambda: sqlite3.connect(path))

    @pytest.mark.anyio
    async def test_sessions_of_hash_session_ids_false_validate_after_the_switch(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Sessions made with hash_session_ids=False validate with True after --apply, and not before."""
        from lucia_sqlite import SQLiteAdapter

        path = tmp_path / "app.db"
        async with SQLiteAdapter(str(path)) as adapter:
            await adapter.create_schema()
            before = Lucia(adapter=adapter, hash_session_ids=False, password_hasher=fast_password_hasher())
            user = await before.create_user(primary_key=None, attributes={})
            tokens = [(await before.create_session(user.user_id)).token or "" for _ in range(3)]
            after = Lucia(adapter=adapter, password_hasher=fast_password_hasher())
            with pytest.raises(LuciaError, match="AUTH_INVALID_SESSION_ID"):
                await after.validate_session(tokens[0])

            assert migrate(capsys, "--url", f"sqlite:///{path}", "--apply")[0] == 0

            for token in tokens:
                session = await after.validate_session(token)
                assert session.user_id == user.user_id and session.session_id == sha256_hex(token)

    def test_a_relative_path_is_relative_to_the_working_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """``sqlite:///app.db`` is app.db in the working directory, as SQLAlchemy reads it."""
        monkeypatch.chdir(tmp_path)
        database = Database("sqlite:///app.db", "sqlite", lambda: sqlite3.connect(tmp_path / "app.db"))
        database.create_tables()
        database.add_sessions("a" * 40)
        assert migrate(capsys, "--url", "sqlite:///app.db", "--apply")[0] == 0
        assert database.session_ids() == {sha256_hex("a" * 40)}

    def test_a_missing_file_is_an_error_not_a_new_database(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A mistyped SQLite path fails (exit 1) and creates no file."""
        path = tmp_path / "typo.db"
        status, _, err = migrate(capsys, "--url", f"sqlite:///{path}", "--apply")
        assert status == 1 and err.startswith("error: cannot connect to ")
        assert not path.exists()


# -- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database."""
    with fresh_postgres_database("lucia_migrate") as url:
        yield url


class TestPostgreSQL(MigrateTests):
    @pytest.fixture
    def database(self, postgres_url: str) -> Database:
        import psycopg

        return Database(postgres_url, "postgresql", lambda: psycopg.connect(postgres_url))

    def test_schema_qualified_table(self, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
        """``--session-table auth.session`` rewrites the table in that schema."""
        database.execute("CREATE SCHEMA auth")
        database.create_tables(session_table="auth.session")
        database.add_sessions("b" * 40, table="auth.session")
        assert migrate(capsys, "--url", database.url, "--session-table", "auth.session", "--apply")[0] == 0
        assert database.session_ids("auth.session") == {sha256_hex("b" * 40)}

    def test_the_password_of_the_url_is_never_printed(
        self, database: Database, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Neither reports nor connection errors show the URL's password."""
        database.create_tables()
        parts = urlsplit(database.url)
        with_password = urlunsplit(parts._replace(netloc=f"postgres:s3cret-pw@{parts.hostname}:{parts.port or 5432}"))
        status, out, err = migrate(capsys, "--url", with_password)
        assert status == 0 and "s3cret-pw" not in out + err and "postgres@" in out
        refused = urlunsplit(parts._replace(netloc="postgres:s3cret-pw@127.0.0.1:1"))
        status, out, err = migrate(capsys, "--url", refused)
        assert status == 1 and "s3cret-pw" not in out + err and err.startswith("error: cannot connect to ")


# -- MariaDB / MySQL -------------------------------------------------------------------------


class MariaDBDatabase(Database):
    """Lucia-JS 1.x's MySQL tables: ids in the default, case-insensitive collation ("Ab" and "aB" are one value)."""

    def create_tables(self, session_table: str = "auth_session") -> None:
        for statement in LUCIA_JS_DDL["mysql"]:
            self.execute(statement.replace("CREATE TABLE auth_session ", f"CREATE TABLE {session_table} ", 1))


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh, empty MariaDB/MySQL database (utf8mb4, the server's default collation)."""
    with fresh_mysql_database("lucia_migrate") as url:
        yield urlunsplit(urlsplit(url)._replace(scheme="mariadb"))


class TestMariaDB(MigrateTests):
    @pytest.fixture
    def database(self, mysql_url: str) -> Database:
        import pymysql

        def connect() -> Any:
            database = urlsplit(mysql_url).path.lstrip("/")
            return pymysql.connect(**mysql_connect_args(mysql_url), database=database, charset="utf8mb4")

        return MariaDBDatabase(mysql_url, "mariadb", connect)

    def test_mysql_scheme_is_accepted(self, database: Database, capsys: pytest.CaptureFixture[str]) -> None:
        """``mysql://`` and ``mariadb://`` reach the same server."""
        database.create_tables()
        database.add_sessions("c" * 40)
        status, out, _ = migrate(capsys, "--url", database.url.replace("mariadb://", "mysql://", 1), "--apply")
        assert status == 0 and out.startswith("auth_session in mysql://")
        assert database.session_ids() == {sha256_hex("c" * 40)}


# -- no database needed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:6379/0", "mongodb://127.0.0.1/app", "postgresql+psycopg://x/y", "app.db", ""],
)
def test_unknown_url_scheme_names_the_accepted_ones(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A URL the command cannot migrate is refused with the list of accepted schemes; exit 2."""
    status, out, err = migrate(capsys, "--url", url)
    assert (status, out) == (2, "")
    assert "sqlite:///path, postgresql://, postgres://, mysql:// or mariadb://" in err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://host/app.db", "SQLite URLs are sqlite:///relative/path.db or sqlite:////absolute/path.db"),
        ("sqlite:///", "SQLite URLs are sqlite:///relative/path.db"),
        ("mysql://root:pw@127.0.0.1:3306", "the URL names no database: mysql://root@127.0.0.1:3306"),
    ],
)
def test_incomplete_urls_are_refused(url: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A SQLite URL with a host or no path, a MySQL URL without a database: exit 2, never the password."""
    status, out, err = migrate(capsys, "--url", url)
    assert (status, out) == (2, "")
    assert message in err and ":pw@" not in err


def _run_with_only_the_core(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m lucia ARGS`` in a process where the adapter drivers cannot be imported."""
    blocked = ("psycopg", "psycopg_pool", "pymysql", "aiomysql", "aiosqlite")
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "from lucia.__main__ import main\n"
        f"raise SystemExit(main({list(args)!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_help_works_with_only_the_core() -> None:
    """``python -m lucia migrate --help`` needs no driver."""
    for args in (("migrate", "--help"), ("migrate", "hash-session-ids", "--help")):
        result = _run_with_only_the_core(*args)
        assert result.returncode == 0, result.stderr
        assert "hash-session-ids" in result.stdout


@pytest.mark.parametrize(
    ("url", "package"),
    [
        ("postgresql://postgres@127.0.0.1/app", "pip install lucia-postgresql"),
        ("mysql://root@127.0.0.1/app", "pip install lucia-mysql"),
        ("mariadb://root@127.0.0.1/app", "pip install lucia-mysql"),
    ],
)
def test_a_missing_driver_names_the_package_to_install(url: str, package: str) -> None:
    """Without the driver, the error names the package that brings it; exit 2."""
    result = _run_with_only_the_core("migrate", "hash-session-ids", "--url", url)
    assert result.returncode == 2 and result.stdout == ""
    assert package in result.stderr and "Traceback" not in result.stderr
