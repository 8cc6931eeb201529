"""``python -m lucia migrate hash-session-ids``: switch a database to hashed session ids.

A database shared with Lucia-JS 1.x (``hash_session_ids=False``) stores each session's
token as its id. After this command every stored id is the SHA-256 hex of that token,
which is what ``hash_session_ids=True`` looks up, so every cookie in the wild keeps
working after the switch (docs/guides/migrate-from-lucia-js.md)::

    python -m lucia migrate hash-session-ids --url "$DATABASE_URL"           # dry run
    python -m lucia migrate hash-session-ids --url "$DATABASE_URL" --apply   # write

The rewrite is one transaction that locks the session table against writers; it is
idempotent: an id that is already 64 lowercase hex characters is taken as hashed and
left alone. That is safe because every id that needs hashing is a token, and tokens of
Lucia-JS 1.x and of Lucia for Python are 40 characters; a custom 64-hex token would only
stop working (its user signs in again), it could never match another session.

Drivers are imported only when a URL needs them: ``sqlite3`` (standard library) for
``sqlite:///path``, psycopg (lucia-postgresql) for ``postgresql://``, PyMySQL (installed
with lucia-mysql) for ``mysql://`` and ``mariadb://``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from lucia._errors import LuciaError
from lucia.adapters.sql import Dialect, TableNames, dialect_named

__all__ = ["MigrationResult", "add_migrate_command", "hash_session_ids", "run_migrate_command"]

#: A stored id that is already a SHA-256 hex digest (what ``hash_session_ids=True`` stores).
HASHED_ID = re.compile(r"[0-9a-f]{64}")
#: Columns that must exist for a table to be taken as a Lucia session table: a typo in
#: ``--session-table`` naming the user or key table must not rewrite its ids.
_SESSION_COLUMNS = frozenset({"id", "user_id", "active_expires", "idle_expires"})
#: Session columns that hold a session id, hashed alike where the table has them.
_SESSION_ID_COLUMNS = ("id", "previous_id")
#: Accepted URL schemes, by dialect.
_SCHEMES = {
    "sqlite": "sqlite",
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mariadb",
}
_ACCEPTED = "sqlite:///path, postgresql://, postgres://, mysql:// or mariadb://"
_DRIVERS = {
    "sqlite": ("sqlite3", "a Python built with sqlite3"),
    "postgresql": ("psycopg", "pip install lucia-postgresql"),
    "mysql": ("pymysql", "pip install lucia-mysql (or: pip install pymysql)"),
    "mariadb": ("pymysql", "pip install lucia-mysql (or: pip install pymysql)"),
}

#: Exit statuses of ``python -m lucia migrate``.
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _bad_input(detail: str) -> LuciaError:
    """A bad URL, driver, table or schema (exit status 2); nothing was changed."""
    return LuciaError("AUTH_INVALID_INPUT", detail)


def _failed(detail: str) -> LuciaError:
    """The database failed: cannot connect, a statement failed (exit status 1); nothing was changed."""
    return LuciaError("AUTH_STORAGE_UNAVAILABLE", detail)


@dataclass(frozen=True)
class MigrationResult:
    """What :func:`hash_session_ids` found and did.

    Attributes:
        table: The session table.
        database: The database, without a password.
        to_hash: Rows whose session id is a token (hashed when ``applied``).
        already_hashed: Rows whose session id is already 64 lowercase hex characters.
        applied: Whether the rows were rewritten (``--apply``) or only counted (dry run).
    """

    table: str
    database: str
    to_hash: int
    already_hashed: int
    applied: bool

    def summary(self) -> str:
        """One or two lines for a person."""
        where = f"{self.table} in {self.database}"
        if self.to_hash == 0:
            if self.already_hashed == 0:
                return f"{where}: no sessions; nothing to do."
            return f"{where}: nothing to do, all {self.already_hashed} session ids are already hashed."
        if self.applied:
            return (
                f"{where}: hashed {self.to_hash} session ids ({self.already_hashed} were already hashed).\n"
                "Every existing session now validates with hash_session_ids=True."
            )
        return (
            f"{where}: {self.to_hash} session ids to hash, {self.already_hashed} already hashed.\n"
            "Dry run: nothing was changed. Run again with --apply to hash them."
        )


@dataclass(frozen=True)
class _Target:
    """Where to connect: the dialect and how to open a DB-API connection (in a transaction)."""

    dialect: Dialect
    database: str
    connect: Callable[[ModuleType], Any]


def _driver(dialect: str) -> ModuleType:
    module, install = _DRIVERS[dialect]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise _bad_input(f"{dialect} URLs need the {module} driver: {install}") from None


def _target(url: str) -> _Target:
    """Parse a database URL; raise ``AUTH_INVALID_INPUT`` naming the accepted schemes."""
    if not isinstance(url, str) or "://" not in url:
        raise _bad_input(f"--url must be a database URL: {_ACCEPTED}")
    parts = urlsplit(url)
    dialect_name = _SCHEMES.get(parts.scheme.lower())
    if dialect_name is None:
        raise _bad_input(f"unknown URL scheme {parts.scheme!r}; accepted: {_ACCEPTED}")
    dialect = dialect_named(dialect_name)
    if dialect_name == "sqlite":
        if parts.netloc or not parts.path.strip("/"):
            raise _bad_input("SQLite URLs are sqlite:///relative/path.db or sqlite:////absolute/path.db")
        path = unquote(parts.path[1:])
        # mode=rw: a mistyped path is an error, never a new empty database.
        return _Target(
            dialect,
            path,
            lambda sqlite3: sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None),
        )
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = f"{unquote(parts.username)}@" if parts.username else ""
    shown = f"{parts.scheme}://{user}{host}{port}{parts.path}"  # never the password
    if dialect_name == "postgresql":
        return _Target(dialect, shown, lambda psycopg: psycopg.connect(url, connect_timeout=10))
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise _bad_input(f"the URL names no database: {shown}")
    return _Target(
        dialect,
        shown,
        lambda pymysql: pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=database,
            charset="utf8mb4",
            autocommit=False,
            connect_timeout=10,
        ),
    )


def _columns(dialect: Dialect, cursor: Any, table: str) -> set[str]:
    """The column names of ``table`` (lowercase), empty if there is no such table."""
    if dialect.name == "sqlite":
        *schema, name = table.split(".")
        prefix = f"{dialect.q(schema[0])}." if schema else ""
        cursor.execute(f"PRAGMA {prefix}table_info({dialect.q(name)})")
        return {str(row[1]).lower() for row in cursor.fetchall()}
    if dialect.name == "postgresql":
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped",
            (dialect.q(table),),
        )
        return {str(row[0]).lower() for row in cursor.fetchall()}
    *schema, name = table.split(".")
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE(%s, DATABASE()) "
        "AND table_name = %s",
        (schema[0] if schema else None, name),
    )
    return {str(row[0]).lower() for row in cursor.fetchall()}


def _rows(dialect: Dialect, cursor: Any, table: str, columns: Sequence[str], *, lock: bool) -> list[tuple[Any, ...]]:
    """Every row's session-id columns; with ``lock``, writers wait until the transaction ends."""
    quoted = dialect.q(table)
    selected = ", ".join(dialect.q(column) for column in columns)
    suffix = ""
    if lock:
        if dialect.name == "postgresql":
            cursor.execute(f"LOCK TABLE {quoted} IN SHARE ROW EXCLUSIVE MODE")
        elif dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE already holds the write lock
            suffix = " FOR UPDATE"
    cursor.execute(f"SELECT {selected} FROM {quoted}{suffix}")  # noqa: S608 - checked identifiers
    return [tuple(row) for row in cursor.fetchall()]


def _hashed(value: Any) -> Any:
    if value is None or HASHED_ID.fullmatch(str(value)):
        return value
    return hashlib.sha256(str(value).encode("utf-8")).hexdigest()


@contextmanager
def _transaction(target: _Target, driver: ModuleType, *, write: bool) -> Iterator[Any]:
    """A cursor in one transaction: committed if ``write`` and the block succeeds, else rolled back."""
    try:
        connection = target.connect(driver)
    except driver.Error as exc:
        raise _failed(f"cannot connect to {target.database}: {_reason(exc)}") from exc
    try:
        cursor = connection.cursor()
        if target.dialect.name == "sqlite":
            # As the SQLite adapter does: a table of the app's that references a session id
            # is then updated (ON UPDATE CASCADE) or stops the rewrite, as on the servers.
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        yield cursor
        if write:
            connection.commit()
        else:
            connection.rollback()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()


def _reason(exc: BaseException) -> str:
    """The first line of a driver error: never the URL's password, nor a token.

    PostgreSQL puts key values (a token, on a ``hash_session_ids=False`` table) on the
    error's DETAIL line, which is left out.
    """
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def hash_session_ids(url: str, *, session_table: str = "auth_session", apply: bool = False) -> MigrationResult:
    """Rewrite every stored session id that is a token to the SHA-256 hex of that token.

    Args:
        url: ``sqlite:///path``, ``postgresql://...``, ``mysql://...`` or ``mariadb://...``.
        session_table: The session table (schema-qualified names allowed).
        apply: Write the new ids; without it, only count them (a dry run).

    Returns:
        What was found and, with ``apply``, done.

    Raises:
        LuciaError: ``AUTH_INVALID_INPUT`` for a bad URL, a missing driver, or a table that is
            missing or not a Lucia session table; ``AUTH_STORAGE_UNAVAILABLE`` when the database
            fails. In every case nothing was changed.
    """
    target = _target(url)
    table = TableNames(session=session_table).session
    driver = _driver(target.dialect.name)
    try:
        with _transaction(target, driver, write=apply) as cursor:
            present = _columns(target.dialect, cursor, table)
            if not present:
                raise _bad_input(f"no table {table} in {target.database}")
            missing = sorted(_SESSION_COLUMNS - present)
            if missing:
                raise _bad_input(
                    f"{table} in {target.database} is not a Lucia session table (no {', '.join(missing)} column)"
                )
            columns = [column for column in _SESSION_ID_COLUMNS if column in present]
            rows = _rows(target.dialect, cursor, table, columns, lock=apply)
            changes = [(new, old) for old in rows if (new := tuple(_hashed(value) for value in old)) != old]
            if apply and changes:
                assignments = ", ".join(f"{target.dialect.q(c)} = {target.dialect.placeholder}" for c in columns)
                cursor.executemany(
                    f"UPDATE {target.dialect.q(table)} SET {assignments} WHERE id = {target.dialect.placeholder}",  # noqa: S608
                    [(*new, old[0]) for new, old in changes],
                )
    except driver.Error as exc:
        raise _failed(f"{table} in {target.database}: {_reason(exc)}; nothing was changed") from exc
    return MigrationResult(
        table=table,
        database=target.database,
        to_hash=len(changes),
        already_hashed=len(rows) - len(changes),
        applied=apply and bool(changes),
    )


def add_migrate_command(commands: Any) -> None:
    """Add ``migrate hash-session-ids`` to the subcommands of ``python -m lucia``."""
    migrate = commands.add_parser(
        "migrate",
        help="migrate stored data (hash-session-ids)",
        description="Migrate data stored by Lucia-JS 1.x or by Lucia with older settings.",
    )
    steps = migrate.add_subparsers(dest="migration", required=True, metavar="MIGRATION")
    step = steps.add_parser(
        "hash-session-ids",
        help="rewrite stored session ids to SHA-256 hex, for hash_session_ids=True",
        description=(
            "Rewrite each stored session id (a token, as Lucia-JS 1.x and hash_session_ids=False store it) to "
            "the SHA-256 hex of that token, so that every existing session still validates after switching to "
            "hash_session_ids=True. A dry run unless --apply is given. One transaction; ids that are already "
            "64 lowercase hex characters are left alone, so running it again changes nothing."
        ),
        epilog=(
            f"URLs: {_ACCEPTED}. Drivers: sqlite3 (built in), psycopg (pip install lucia-postgresql), "
            "PyMySQL (pip install lucia-mysql). MongoDB and Redis: see docs/guides/migrate-from-lucia-js.md. "
            "Exit status: 0 done (or nothing to do), 1 the database failed, 2 bad input; "
            "nothing is changed unless the status is 0."
        ),
    )
    step.add_argument("--url", required=True, help="the database, e.g. postgresql://app@127.0.0.1/app")
    step.add_argument("--session-table", default="auth_session", help="the session table (default: auth_session)")
    step.add_argument("--apply", action="store_true", help="write the new ids (default: only count them)")


def run_migrate_command(args: argparse.Namespace) -> int:
    """Run ``migrate`` with parsed arguments; returns the exit status."""
    try:
        result = hash_session_ids(args.url, session_table=args.session_table, apply=args.apply)
    except LuciaError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return EXIT_BAD_INPUT if error.code == "AUTH_INVALID_INPUT" else EXIT_FAILED
    print(result.summary())
    return EXIT_OK
