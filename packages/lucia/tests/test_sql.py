"""The shared SQL text: DDL per dialect, identifiers checked, rows decoded."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lucia import LuciaError
from lucia.__main__ import main
from lucia.adapters import Violation, constraint_error
from lucia.adapters.sql import (
    MARIADB,
    MYSQL,
    POSTGRESQL,
    SQLITE,
    SQLStatements,
    TableNames,
    dialect_named,
)


def test_mysql_family_ids_use_a_no_pad_binary_collation() -> None:
    """MySQL 8 and MariaDB DDL compare ids exactly: trailing spaces count."""
    assert "COLLATE=utf8mb4_0900_bin" in SQLStatements(MYSQL).schema()[0]
    assert "COLLATE=utf8mb4_nopad_bin" in SQLStatements(MARIADB).schema()[0]
    assert MARIADB.delete_returning and not MYSQL.delete_returning


@pytest.mark.parametrize("dialect", [SQLITE, POSTGRESQL, MYSQL, MARIADB])
def test_schema_has_three_tables_foreign_keys_and_user_id_indexes(dialect: object) -> None:
    """Every dialect's DDL creates the Lucia-JS 1.x tables with user_id indexes."""
    ddl = "\n".join(SQLStatements(dialect, TableNames()).schema({"username": "string"}))  # type: ignore[arg-type]
    for table in ("auth_user", "auth_session", "auth_key"):
        assert f"CREATE TABLE IF NOT EXISTS {dialect.q(table)}" in ddl  # type: ignore[attr-defined]
    assert ddl.count("FOREIGN KEY (user_id)") == 3  # sessions, keys and passkeys
    assert "auth_session_user_id_idx" in ddl and "auth_key_user_id_idx" in ddl
    assert "auth_session_previous_id_idx" in ddl and "ON DELETE CASCADE" in ddl
    assert "active_expires" in ddl and "hashed_password" in ddl and "primary_key" in ddl
    for table in ("auth_throttle", "auth_throttle_event", "auth_passkey", "auth_passkey_challenge"):
        assert f"CREATE TABLE IF NOT EXISTS {dialect.q(table)}" in ddl  # type: ignore[attr-defined]


def test_identifiers_are_checked_not_trusted() -> None:
    """Table and column names that are not plain identifiers are refused."""
    for bad in ("auth_user; DROP TABLE x", "a b", "", 'x"y'):
        with pytest.raises(LuciaError):
            TableNames(user=bad)
        with pytest.raises(LuciaError):
            SQLStatements(SQLITE).schema({bad: "text"})
        with pytest.raises(LuciaError):
            SQLStatements(SQLITE).insert_user([bad])
    with pytest.raises(LuciaError):
        SQLStatements(SQLITE).schema({"ok": "TEXT; DROP TABLE x"})
    assert SQLStatements(POSTGRESQL, TableNames(user="auth.users")).get_user.startswith('SELECT * FROM "auth"."users"')


def test_statements_and_row_decoding() -> None:
    """Placeholders follow the dialect; rows decode into contract rows."""
    assert SQLStatements(SQLITE).insert_user(["username"]).endswith("VALUES (?, ?)")
    assert SQLStatements(MYSQL).update_user(["a", "b"]) == "UPDATE `auth_user` SET `a` = %s, `b` = %s WHERE id = %s"
    lucia_js = SQLStatements(SQLITE).for_session_columns(["id", "user_id", "active_expires", "idle_expires"])
    session, user = lucia_js.session_and_user_rows(
        ["id", "user_id", "active_expires", "idle_expires", "id", "username"], ("s", "u", "1", 2, "u", "ada")
    )
    assert (session.active_expires, user.id, dict(user.attributes)) == (1, "u", {"username": "ada"})
    assert not lucia_js.has_grace and "previous_id" not in lucia_js.delete_session
    full = SQLStatements(SQLITE).for_session_columns(
        ["ID", "user_id", "active_expires", "idle_expires", "device", "previous_id", "previous_expires"]
    )
    assert full.has_grace and full.attribute_columns == ("device",)
    row = full.session_row(("s", "u", 1, 2, "prev", 3, "phone"))
    assert (row.previous_id, row.previous_expires, dict(row.attributes)) == ("prev", 3, {"device": "phone"})
    assert SQLStatements.key_row(("k", "u", 1, None, None)).primary_key is True


def test_constraint_errors_map_to_lucia_codes() -> None:
    """Known violations become LuciaErrors; the application's own constraints propagate."""
    assert constraint_error("key", Violation.PRIMARY_KEY).code == "AUTH_DUPLICATE_KEY_ID"  # type: ignore[union-attr]
    assert constraint_error("session", Violation.FOREIGN_KEY).code == "AUTH_INVALID_USER_ID"  # type: ignore[union-attr]
    assert constraint_error("user", Violation.OTHER) is None
    assert dialect_named("MariaDB") is MARIADB and dialect_named("postgres") is POSTGRESQL
    with pytest.raises(LuciaError):
        dialect_named("oracle")


def test_cli_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m lucia schema <dialect>`` prints runnable DDL; bad input exits 2."""
    assert main(["schema", "sqlite", "--user-column", "username:string"]) == 0
    out = capsys.readouterr().out
    assert '"username" TEXT' in out and out.count("CREATE TABLE") == 7
    assert main(["schema", "sqlite", "--session-column", "device:string"]) == 0
    assert '"device" TEXT' in capsys.readouterr().out
    assert main(["schema", "postgresql", "--upgrade"]) == 0
    upgrade = capsys.readouterr().out
    assert upgrade.count("ALTER TABLE") == 7 and "CREATE INDEX" in upgrade
    assert main(["schema", "oracle"]) == 2
    assert main(["schema", "mysql", "--user-column", "nocolon"]) == 2
    result = subprocess.run(
        [sys.executable, "-m", "lucia", "schema", "postgresql"], capture_output=True, text=True, check=True
    )
    assert "BIGINT" in result.stdout


def test_cli_ddl_runs_on_sqlite() -> None:
    """The printed SQLite DDL actually creates the tables."""
    import sqlite3

    result = subprocess.run(
        [sys.executable, "-m", "lucia", "schema", "sqlite"], capture_output=True, text=True, check=True
    )
    conn = sqlite3.connect(":memory:")
    conn.executescript(result.stdout)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()  # Python 3.13 warns about an unclosed connection (an error here)
    assert tables == {
        "auth_user",
        "auth_session",
        "auth_key",
        "auth_throttle",
        "auth_throttle_event",
        "auth_passkey",
        "auth_passkey_challenge",
    }


def test_insert_user_with_key_needs_a_writable_cte() -> None:
    """Only PostgreSQL can insert a user and its key in one statement."""
    assert SQLStatements(POSTGRESQL).insert_user_with_key(["username"]).startswith("WITH new_user AS (INSERT")
    with pytest.raises(LuciaError):
        SQLStatements(MYSQL).insert_user_with_key(["username"])
