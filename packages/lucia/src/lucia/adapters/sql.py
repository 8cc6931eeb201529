"""SQL text shared by every SQL adapter, parametrised by dialect, and the contract over it.

The one home of Lucia's SQL: the SQLite, PostgreSQL and MySQL adapters build their
statements and DDL here and keep only their driver calls, so a query exists once.
Third-party SQL adapters may use it too::

    from lucia.adapters.sql import POSTGRESQL, SQLStatements, TableNames

    sql = SQLStatements(POSTGRESQL, TableNames(user="app_user"))
    await cursor.execute(sql.get_session, (session_id,))
    row = sql.session_row(await cursor.fetchone())

The session table may hold more columns than the four of Lucia-JS 1.x: the policy
columns Lucia adds (:data:`lucia.adapters.SESSION_POLICY_COLUMNS`) and the
application's own. An adapter reads the table's columns once
(:meth:`SQLAdapter.session_columns`) and builds its statements for exactly those
(:meth:`SQLStatements.for_session_columns`), so a Lucia-JS 1.x table keeps working.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from enum import Enum
from functools import lru_cache
from typing import Any, Protocol

from lucia._errors import ConfigurationError, InvalidInputError, StorageUnavailableError
from lucia.adapters import (
    SESSION_POLICY_COLUMNS,
    ChallengeRow,
    KeyRow,
    PasskeyCredentialRow,
    SessionRow,
    TableRole,
    UserRow,
    Violation,
)
from lucia.throttle import Backoff, ThrottleState
from lucia.validation import check_identifier

__all__ = [
    "MARIADB",
    "MYSQL",
    "POSTGRESQL",
    "SQLITE",
    "Dialect",
    "SQLAdapter",
    "SQLStatements",
    "SQLThrottleStore",
    "SQLTransaction",
    "TableNames",
    "dialect_named",
    "key_params",
]

_SQL_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_ (),]*")
#: The Lucia-JS 1.x session columns, in their order.
SESSION_BASE_COLUMNS: tuple[str, ...] = ("id", "user_id", "active_expires", "idle_expires")
#: Longest table name: PostgreSQL cuts identifiers at 63 bytes, and index names add up to 16.
MAX_TABLE_NAME = 40


class DDLKind(Enum):
    """How a dialect spells ``INSERT`` that skips a duplicate primary key."""

    ON_CONFLICT = "on_conflict"
    INSERT_IGNORE = "insert_ignore"


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between SQL databases, as far as Lucia's statements go."""

    name: str
    placeholder: str
    quote: str
    id_type: str
    session_id_type: str
    text_type: str
    bigint_type: str
    bool_type: str
    blob_type: str
    false_literal: str
    true_literal: str
    table_suffix: str
    #: Whether ``DELETE ... RETURNING`` exists (SQLite 3.35+, PostgreSQL, MariaDB 10.5+).
    delete_returning: bool
    #: Whether indexes are declared inside ``CREATE TABLE`` (MySQL 8 lacks ``CREATE INDEX IF NOT EXISTS``).
    inline_index: bool
    #: Portable column type names accepted in ``user_columns`` / ``session_columns``.
    column_types: Mapping[str, str]
    #: How to lock a row read inside a transaction (``""`` where the whole database is locked).
    row_lock: str
    #: How an insert skips a duplicate primary key.
    insert_ignore: DDLKind
    #: Whether ``WITH ... INSERT`` may feed another ``INSERT`` (PostgreSQL's data-modifying CTEs).
    writable_cte: bool = False

    def q(self, identifier: str) -> str:
        """Quote a (possibly schema-qualified) identifier that was checked to be plain."""
        return ".".join(f"{self.quote}{part}{self.quote}" for part in identifier.split("."))

    def violation(self, exc: BaseException) -> Violation:
        """Which constraint a driver's integrity error broke, read from the error itself.

        The one decoding of each database's constraint errors, shared by the driver
        adapters and SQLAlchemy (pass ``exc.orig`` there).
        """
        if self.name == "sqlite":
            message = str(exc)
            if message.startswith("FOREIGN KEY constraint failed"):
                return Violation.FOREIGN_KEY
            if message.startswith("UNIQUE constraint failed:") and message.endswith(".id"):
                return Violation.PRIMARY_KEY
            return Violation.OTHER
        if self.name == "postgresql":
            sqlstate = getattr(exc, "sqlstate", None)
            if sqlstate == "23503":
                return Violation.FOREIGN_KEY
            if sqlstate == "23505":
                diag = getattr(exc, "diag", None)
                constraint = getattr(diag, "constraint_name", None) or getattr(
                    getattr(exc, "__cause__", None), "constraint_name", None
                )
                if isinstance(constraint, str) and constraint.endswith("_pkey"):
                    return Violation.PRIMARY_KEY
            return Violation.OTHER
        args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
        errno = args[0] if args else None
        message = str(args[1]) if len(args) > 1 else ""
        if errno == 1062:
            # MariaDB: "Duplicate entry 'x' for key 'PRIMARY'"; MySQL 8: "... for key 'auth_key.PRIMARY'".
            return Violation.PRIMARY_KEY if message.endswith(("'PRIMARY'", ".PRIMARY'")) else Violation.OTHER
        if errno in (1452, 1216):
            return Violation.FOREIGN_KEY
        return Violation.OTHER


SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    quote='"',
    id_type="TEXT",
    session_id_type="TEXT",
    text_type="TEXT",
    bigint_type="INTEGER",
    bool_type="INTEGER",
    blob_type="BLOB",
    false_literal="0",
    true_literal="1",
    table_suffix="",
    delete_returning=True,
    inline_index=False,
    column_types={"text": "TEXT", "string": "TEXT", "integer": "INTEGER", "boolean": "INTEGER", "float": "REAL"},
    row_lock="",
    insert_ignore=DDLKind.ON_CONFLICT,
)
POSTGRESQL = Dialect(
    name="postgresql",
    placeholder="%s",
    quote='"',
    id_type="TEXT",
    session_id_type="TEXT",
    text_type="TEXT",
    bigint_type="BIGINT",
    bool_type="BOOLEAN",
    blob_type="BYTEA",
    false_literal="FALSE",
    true_literal="TRUE",
    table_suffix="",
    delete_returning=True,
    inline_index=False,
    column_types={
        "text": "TEXT",
        "string": "VARCHAR(255)",
        "integer": "BIGINT",
        "boolean": "BOOLEAN",
        "float": "DOUBLE PRECISION",
    },
    row_lock=" FOR UPDATE",
    insert_ignore=DDLKind.ON_CONFLICT,
    writable_cte=True,
)
MYSQL = Dialect(
    name="mysql",
    placeholder="%s",
    quote="`",
    id_type="VARCHAR(255)",
    session_id_type="VARCHAR(127)",
    text_type="LONGTEXT",
    bigint_type="BIGINT",
    bool_type="BOOLEAN",
    blob_type="LONGBLOB",
    false_literal="FALSE",
    true_literal="TRUE",
    # A binary NO PAD collation: ids compare exactly, as on the other databases ("Bob", "bob"
    # and "bob " are three keys). utf8mb4_bin would ignore trailing spaces.
    table_suffix=" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_bin",
    delete_returning=False,  # MySQL 8 has no RETURNING; adapters may switch it on for MariaDB
    inline_index=True,
    column_types={
        "text": "LONGTEXT",
        "string": "VARCHAR(255)",
        "integer": "BIGINT",
        "boolean": "BOOLEAN",
        "float": "DOUBLE",
    },
    row_lock=" FOR UPDATE",
    insert_ignore=DDLKind.INSERT_IGNORE,
)

#: MariaDB: MySQL's statements, ``DELETE ... RETURNING`` (10.5+), and its own NO PAD binary collation.
MARIADB = replace(
    MYSQL,
    name="mariadb",
    table_suffix=" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin",
    delete_returning=True,
)

_DIALECTS = {d.name: d for d in (SQLITE, POSTGRESQL, MYSQL, MARIADB)}
_ALIASES = {"postgres": "postgresql", "pg": "postgresql", "sqlite3": "sqlite"}


def dialect_named(name: str) -> Dialect:
    """Return the dialect called ``name`` (``sqlite``, ``postgresql``, ``mysql``, ``mariadb`` or an alias)."""
    key = _ALIASES.get(name.lower(), name.lower())
    try:
        return _DIALECTS[key]
    except KeyError:
        raise InvalidInputError(None, f"unknown SQL dialect {name!r}") from None


@dataclass(frozen=True, slots=True)
class TableNames:
    """The table names (Lucia-JS 1.x defaults for the first three). Schema-qualified names are allowed.

    Each name (without its schema) is a plain identifier of at most 40 characters, so
    that the constraint and index names derived from it fit every database's limit.
    """

    user: str = "auth_user"
    session: str = "auth_session"
    key: str = "auth_key"
    throttle: str = "auth_throttle"
    throttle_event: str = "auth_throttle_event"
    passkey: str = "auth_passkey"
    passkey_challenge: str = "auth_passkey_challenge"

    def __post_init__(self) -> None:
        for name in (
            self.user,
            self.session,
            self.key,
            self.throttle,
            self.throttle_event,
            self.passkey,
            self.passkey_challenge,
        ):
            if not isinstance(name, str):
                raise InvalidInputError(None, "table names must be strings")
            for part in name.split("."):
                check_identifier(part, "table name")
            if len(name.rsplit(".", 1)[-1]) > MAX_TABLE_NAME:
                raise InvalidInputError(None, f"table name {name[:80]!r} is over {MAX_TABLE_NAME} characters")


def _bare(table: str) -> str:
    return table.rsplit(".", 1)[-1]


class SQLStatements:
    """Every statement Lucia runs, for one dialect, one set of table names and session columns.

    Fixed statements are attributes; statements that depend on which user or session
    columns are written are methods, cached per column tuple.

    Args:
        dialect: The database.
        tables: The table names.
        session_columns: The session table's columns as the adapter found them; the
            default layout (the four Lucia-JS columns and the policy columns) if ``None``.
    """

    def __init__(
        self, dialect: Dialect, tables: TableNames | None = None, session_columns: Sequence[str] | None = None
    ) -> None:
        self.dialect = dialect
        self.tables = tables or TableNames()
        d, p = dialect, dialect.placeholder
        names = self.tables
        u, s, k = d.q(names.user), d.q(names.session), d.q(names.key)
        self._user, self._session, self._key = u, s, k
        found = [c.lower() for c in (session_columns or (*SESSION_BASE_COLUMNS, *SESSION_POLICY_COLUMNS))]
        missing = [c for c in SESSION_BASE_COLUMNS if c not in found]
        if missing:
            raise ConfigurationError(f"the session table {names.session!r} lacks the column(s) {', '.join(missing)}")
        #: The policy columns this session table has.
        self.policy_columns: tuple[str, ...] = tuple(c for c in SESSION_POLICY_COLUMNS if c in found)
        #: The application's own session columns (session attributes).
        self.attribute_columns: tuple[str, ...] = tuple(
            c for c in found if c not in SESSION_BASE_COLUMNS and c not in SESSION_POLICY_COLUMNS
        )
        #: Every session column, in the order :meth:`session_row` decodes.
        self.session_columns: tuple[str, ...] = (*SESSION_BASE_COLUMNS, *self.policy_columns, *self.attribute_columns)
        #: Every policy column present (the default layout): rows decode by position, the hot path.
        self._all_policy = self.policy_columns == SESSION_POLICY_COLUMNS
        first_attribute = len(SESSION_BASE_COLUMNS) + len(self.policy_columns)
        self._attribute_positions = tuple(enumerate(self.attribute_columns, start=first_attribute))
        self.has_grace = "previous_id" in self.policy_columns and "previous_expires" in self.policy_columns
        self.has_created_at = "created_at" in self.policy_columns
        selected = ", ".join(d.q(c) for c in self.session_columns)
        joined = ", ".join(f"s.{d.q(c)}" for c in self.session_columns)

        key_cols = "id, user_id, primary_key, hashed_password, expires"
        self.get_user = f"SELECT * FROM {u} WHERE id = {p}"
        self.lock_user = f"SELECT id FROM {u} WHERE id = {p}{d.row_lock}"
        self.delete_user = f"DELETE FROM {u} WHERE id = {p}"
        self.get_key = f"SELECT {key_cols} FROM {k} WHERE id = {p}"
        self.get_keys_by_user_id = f"SELECT {key_cols} FROM {k} WHERE user_id = {p}"
        self.insert_key = f"INSERT INTO {k} ({key_cols}) VALUES ({p}, {p}, {p}, {p}, {p})"
        self.update_key_password = f"UPDATE {k} SET hashed_password = {p} WHERE id = {p}"
        self.delete_non_primary_key = f"DELETE FROM {k} WHERE id = {p} AND primary_key = {d.false_literal}"
        self.delete_keys_by_user_id = f"DELETE FROM {k} WHERE user_id = {p}"
        #: One-statement atomic consumption, where the dialect has ``DELETE ... RETURNING``.
        self.use_single_use_key = f"DELETE FROM {k} WHERE id = {p} AND expires IS NOT NULL RETURNING {key_cols}"
        #: The two-statement form for databases without it (run both in one transaction).
        self.lock_single_use_key = f"SELECT {key_cols} FROM {k} WHERE id = {p} AND expires IS NOT NULL{d.row_lock}"
        self.delete_key_by_id = f"DELETE FROM {k} WHERE id = {p}"

        self.get_session = f"SELECT {selected} FROM {s} WHERE id = {p}"
        self.get_session_by_previous_id = f"SELECT {selected} FROM {s} WHERE previous_id = {p}"
        self.get_sessions_by_user_id = f"SELECT {selected} FROM {s} WHERE user_id = {p}"
        self.get_session_ids_by_age = (
            f"SELECT id FROM {s} WHERE user_id = {p} ORDER BY created_at DESC, id DESC"
            if self.has_created_at
            else f"SELECT id FROM {s} WHERE user_id = {p} ORDER BY idle_expires DESC, id DESC"
        )
        self.update_session = f"UPDATE {s} SET active_expires = {p}, idle_expires = {p} WHERE id = {p}"
        grace_set = f", previous_id = {p}, previous_expires = {p}" if self.has_grace else ""
        #: Renewal in place: one row changes its id, so concurrent renewals and revocations serialise on it.
        self.renew_session = (
            f"UPDATE {s} SET id = {p}, active_expires = {p}, idle_expires = {p}{grace_set} WHERE id = {p}"
        )
        if self.has_grace:
            self.delete_session = f"DELETE FROM {s} WHERE id = {p} OR previous_id = {p}"
            self.delete_other_sessions = (
                f"DELETE FROM {s} WHERE user_id = {p} AND id <> {p} AND (previous_id IS NULL OR previous_id <> {p})"
            )
        else:
            self.delete_session = f"DELETE FROM {s} WHERE id = {p}"
            self.delete_other_sessions = f"DELETE FROM {s} WHERE user_id = {p} AND id <> {p}"
        self.delete_session_by_id = f"DELETE FROM {s} WHERE id = {p}"
        self.delete_sessions_by_user_id = f"DELETE FROM {s} WHERE user_id = {p}"
        #: Session columns first, then every user column: one round trip for validation.
        self.get_session_and_user = (
            f"SELECT {joined}, u.* FROM {s} s INNER JOIN {u} u ON u.id = s.user_id WHERE s.id = {p}"
        )
        self.get_session_and_user_by_previous_id = (
            f"SELECT {joined}, u.* FROM {s} s INNER JOIN {u} u ON u.id = s.user_id WHERE s.previous_id = {p}"
        )

        t, e = d.q(names.throttle), d.q(names.throttle_event)
        self.get_throttle_state = f"SELECT failures, last_failure, expires FROM {t} WHERE id = {p}"
        self.lock_throttle_state = f"SELECT failures, last_failure, expires FROM {t} WHERE id = {p}{d.row_lock}"
        insert_state = f"{t} (id, failures, last_failure, expires) VALUES ({p}, {p}, {p}, {p})"
        #: Make sure the row exists (so that it can be locked), without touching an existing one.
        #: MySQL: a no-op ``ON DUPLICATE KEY UPDATE``, not ``INSERT IGNORE``, which takes a shared
        #: lock two transactions then both upgrade (a deadlock) and reports the duplicate as a warning.
        self.insert_throttle_state = (
            f"INSERT INTO {insert_state} ON CONFLICT (id) DO NOTHING"
            if d.insert_ignore is DDLKind.ON_CONFLICT
            else f"INSERT INTO {insert_state} ON DUPLICATE KEY UPDATE failures = failures"
        )
        self.update_throttle_state = f"UPDATE {t} SET failures = {p}, last_failure = {p}, expires = {p} WHERE id = {p}"
        #: A whole throttle hit in one statement (the reference rule of :class:`lucia.throttle.Backoff`
        #: in SQL, see :meth:`throttle_hit_params`): returns a row when the hit was counted and
        #: none when the key is inside its back-off window. ``None`` where the database has no
        #: ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` (MySQL, MariaDB: a transaction then).
        self.count_throttle_hit: str | None = None
        if d.insert_ignore is DDLKind.ON_CONFLICT and d.delete_returning:
            big = f"CAST({p} AS {d.bigint_type})"
            most, least = ("GREATEST", "LEAST") if d.name == "postgresql" else ("MAX", "MIN")
            now = "excluded.last_failure"
            # The key's state is live (not forgotten, not expired) on the row as stored.
            live = f"(s.failures > 0 AND s.expires > {now} AND {now} - s.last_failure < {big})"
            shift = f"CAST({most}(0, {least}(s.failures - {big}, {big})) AS INTEGER)"
            delay = f"{least}({big}, {big} << {shift})"
            self.count_throttle_hit = (
                f"INSERT INTO {t} AS s (id, failures, last_failure, expires) VALUES ({p}, 1, {big}, {big}) "
                f"ON CONFLICT (id) DO UPDATE SET "
                f"failures = CASE WHEN {live} THEN s.failures + 1 ELSE 1 END, "
                f"last_failure = CASE WHEN {live} THEN {most}(s.last_failure, {now}) ELSE {now} END, "
                f"expires = excluded.expires "
                f"WHERE NOT ({live} AND s.failures >= {big}) OR s.last_failure + {delay} <= {now} "
                f"RETURNING failures"
            )
        self.delete_throttle_state = f"DELETE FROM {t} WHERE id = {p}"
        self.insert_throttle_event = f"INSERT INTO {e} (id, bucket, at, expires) VALUES ({p}, {p}, {p}, {p})"
        self.count_throttle_events = f"SELECT COUNT(*), MIN(at) FROM {e} WHERE bucket = {p} AND at >= {p}"
        self.delete_throttle_event = f"DELETE FROM {e} WHERE id = {p}"
        self.delete_expired_throttle_states = f"DELETE FROM {t} WHERE expires <= {p}"
        self.delete_expired_throttle_events = f"DELETE FROM {e} WHERE expires <= {p}"

        pk, ch = d.q(names.passkey), d.q(names.passkey_challenge)
        passkey_cols = (
            "id, user_id, user_handle, public_key, sign_count, transports, aaguid, "
            "backup_eligible, backed_up, name, created_at, last_used_at"
        )
        self.insert_passkey = f"INSERT INTO {pk} ({passkey_cols}) VALUES ({', '.join([p] * 12)})"
        self.get_passkey = f"SELECT {passkey_cols} FROM {pk} WHERE id = {p}"
        self.get_passkeys_by_user_id = f"SELECT {passkey_cols} FROM {pk} WHERE user_id = {p}"
        self.update_passkey_use = (
            f"UPDATE {pk} SET sign_count = {p}, backed_up = {p}, last_used_at = {p} WHERE id = {p} AND sign_count = {p}"
        )
        self.rename_passkey = f"UPDATE {pk} SET name = {p} WHERE id = {p} AND user_id = {p}"
        self.delete_passkey = f"DELETE FROM {pk} WHERE id = {p} AND user_id = {p}"
        challenge_cols = "id, kind, user_id, challenge, expires, user_handle"
        self.insert_challenge = f"INSERT INTO {ch} ({challenge_cols}) VALUES ({p}, {p}, {p}, {p}, {p}, {p})"
        self.delete_expired_challenges = f"DELETE FROM {ch} WHERE expires <= {p}"
        self.use_challenge = f"DELETE FROM {ch} WHERE id = {p} RETURNING {challenge_cols}"
        self.lock_challenge = f"SELECT {challenge_cols} FROM {ch} WHERE id = {p}{d.row_lock}"
        self.delete_challenge = f"DELETE FROM {ch} WHERE id = {p}"

    def for_session_columns(self, columns: Sequence[str]) -> SQLStatements:
        """The statements for a session table with exactly these columns."""
        return SQLStatements(self.dialect, self.tables, columns)

    def session_table_probe(self) -> str:
        """A query whose result has the session table's columns and no row."""
        return f"SELECT * FROM {self._session} WHERE 1 = 0"

    def user_table_probe(self) -> str:
        """A query whose result has the user table's columns and no row."""
        return f"SELECT * FROM {self._user} WHERE 1 = 0"

    def insert_user(self, columns: Sequence[str]) -> str:
        """``INSERT`` of a user with ``id`` and the given attribute columns."""
        return _insert(self.dialect.quote, self.dialect.placeholder, self._user, ("id", *columns))

    def insert_session(self, columns: Sequence[str]) -> str:
        """``INSERT`` of a session with the given columns (those the table has)."""
        return _insert(self.dialect.quote, self.dialect.placeholder, self._session, tuple(columns))

    def insert_user_with_key(self, columns: Sequence[str]) -> str:
        """One statement inserting a user and its primary key, atomic without a transaction block.

        Only for dialects with :attr:`Dialect.writable_cte` (PostgreSQL). Parameters: the
        user's id and ``columns``, then the key's five columns as in :attr:`insert_key`.
        The foreign key is checked at the end of the statement, so it sees the new user.
        """
        if not self.dialect.writable_cte:
            raise InvalidInputError(None, f"{self.dialect.name} has no data-modifying WITH")
        return f"WITH new_user AS ({self.insert_user(columns)}) {self.insert_key}"

    def update_user(self, columns: Sequence[str]) -> str:
        """``UPDATE`` of the given attribute columns; the last parameter is the id."""
        return _update_user(self, tuple(columns))

    def delete_session_ids(self, count: int) -> str:
        """``DELETE`` of ``count`` sessions by id."""
        p = self.dialect.placeholder
        return f"DELETE FROM {self._session} WHERE id IN ({', '.join([p] * count)})"

    def session_params(self, row: SessionRow) -> tuple[list[str], tuple[Any, ...]]:
        """The columns and values of :meth:`insert_session` for a row (columns the table has)."""
        values: dict[str, Any] = {
            "id": row.id,
            "user_id": row.user_id,
            "active_expires": row.active_expires,
            "idle_expires": row.idle_expires,
            "created_at": row.created_at,
            "persistent": row.persistent,
            "active_period": row.active_period,
            "idle_period": row.idle_period,
            "absolute_period": row.absolute_period,
            "previous_id": row.previous_id,
            "previous_expires": row.previous_expires,
        }
        columns = [*SESSION_BASE_COLUMNS, *self.policy_columns]
        params = [values[c] for c in columns]
        for name, value in row.attributes.items():
            columns.append(check_identifier(name, "session attribute name"))
            params.append(value)
        return columns, tuple(params)

    def renew_params(self, session_id: str, renewed: SessionRow) -> tuple[Any, ...]:
        """The parameters of :attr:`renew_session`."""
        grace = (renewed.previous_id, renewed.previous_expires) if self.has_grace else ()
        return (renewed.id, renewed.active_expires, renewed.idle_expires, *grace, session_id)

    def delete_session_params(self, session_id: str) -> tuple[Any, ...]:
        """The parameters of :attr:`delete_session`."""
        return (session_id, session_id) if self.has_grace else (session_id,)

    def delete_other_sessions_params(self, user_id: str, kept: str) -> tuple[Any, ...]:
        """The parameters of :attr:`delete_other_sessions`."""
        return (user_id, kept, kept) if self.has_grace else (user_id, kept)

    def schema(
        self,
        user_columns: Mapping[str, str] | None = None,
        session_columns: Mapping[str, str] | None = None,
        *,
        existing_session_columns: Sequence[str] | None = None,
    ) -> list[str]:
        """The DDL for every table and its indexes, one statement each.

        Args:
            user_columns: Extra columns of the user table, name to type. A portable type
                (``text``, ``string``, ``integer``, ``boolean``, ``float``) is translated
                for the dialect; anything else is used as written.
            session_columns: Extra columns of the session table (session attributes).
            existing_session_columns: The columns of a session table that already exists
                (``CREATE TABLE IF NOT EXISTS`` will keep it): indexes on columns it lacks
                are left out, so a Lucia-JS 1.x table is neither altered nor a failure.
        """
        d = self.dialect
        names = self.tables
        u, s, k = self._user, self._session, self._key
        exists = "IF NOT EXISTS "
        b, t = d.bigint_type, d.bool_type
        statements = [
            f"CREATE TABLE {exists}{u} (id {d.id_type} NOT NULL PRIMARY KEY{self._extra(user_columns)}){d.table_suffix}"
        ]
        tables: list[tuple[str, str, str, tuple[str, ...]]] = [
            (
                names.session,
                s,
                f"id {d.session_id_type} NOT NULL PRIMARY KEY, user_id {d.id_type} NOT NULL, "
                f"active_expires {b} NOT NULL, idle_expires {b} NOT NULL, created_at {b}, "
                f"persistent {t} NOT NULL DEFAULT {d.true_literal}, active_period {b}, idle_period {b}, "
                f"absolute_period {b}, previous_id {d.session_id_type}, previous_expires {b}"
                f"{self._extra(session_columns, reserved_session=True)}, "
                f"FOREIGN KEY (user_id) REFERENCES {u} (id)",
                (
                    ("user_id", "previous_id")
                    if existing_session_columns is None
                    or "previous_id" in {c.lower() for c in existing_session_columns}
                    else ("user_id",)
                ),
            ),
            (
                names.key,
                k,
                f"id {d.id_type} NOT NULL PRIMARY KEY, user_id {d.id_type} NOT NULL, "
                f"primary_key {t} NOT NULL, hashed_password {d.text_type}, expires {b}, "
                f"FOREIGN KEY (user_id) REFERENCES {u} (id)",
                ("user_id",),
            ),
            (
                names.throttle,
                d.q(names.throttle),
                f"id VARCHAR(127) NOT NULL PRIMARY KEY, failures {b} NOT NULL, last_failure {b} NOT NULL, "
                f"expires {b} NOT NULL",
                ("expires",),
            ),
            (
                names.throttle_event,
                d.q(names.throttle_event),
                f"id VARCHAR(64) NOT NULL PRIMARY KEY, bucket VARCHAR(127) NOT NULL, at {b} NOT NULL, "
                f"expires {b} NOT NULL",
                ("bucket, at", "expires"),
            ),
            (
                names.passkey,
                d.q(names.passkey),
                f"id VARCHAR(255) NOT NULL PRIMARY KEY, user_id {d.id_type} NOT NULL, "
                f"user_handle VARCHAR(255) NOT NULL, public_key {d.blob_type} NOT NULL, sign_count {b} NOT NULL, "
                f"transports VARCHAR(255) NOT NULL, aaguid VARCHAR(64) NOT NULL, backup_eligible {t} NOT NULL, "
                f"backed_up {t} NOT NULL, name VARCHAR(255), created_at {b} NOT NULL, last_used_at {b}, "
                f"FOREIGN KEY (user_id) REFERENCES {u} (id) ON DELETE CASCADE",
                ("user_id", "user_handle"),
            ),
            (
                names.passkey_challenge,
                d.q(names.passkey_challenge),
                f"id VARCHAR(127) NOT NULL PRIMARY KEY, kind VARCHAR(32) NOT NULL, user_id {d.id_type}, "
                f"challenge VARCHAR(255) NOT NULL, expires {b} NOT NULL, user_handle VARCHAR(255)",
                ("expires",),
            ),
        ]
        for table, quoted, columns, indexed in tables:
            indexes = [(d.q(f"{_bare(table)}_{c.split(',')[0]}_idx"), c) for c in indexed]
            inline = "".join(f", INDEX {name} ({cols})" for name, cols in indexes) if d.inline_index else ""
            statements.append(f"CREATE TABLE {exists}{quoted} ({columns}{inline}){d.table_suffix}")
            if not d.inline_index:
                statements.extend(f"CREATE INDEX {exists}{name} ON {quoted} ({cols})" for name, cols in indexes)
        return statements

    def session_upgrade(self, existing: Sequence[str]) -> list[str]:
        """``ALTER TABLE`` statements adding the policy columns a session table lacks.

        For a session table created by an earlier version of Lucia or by Lucia-JS 1.x
        (sharing it with a Node app that inserts four columns keeps working: every added
        column is nullable or defaulted).
        """
        d, s = self.dialect, self._session
        b = d.bigint_type
        types = {
            "created_at": b,
            "persistent": f"{d.bool_type} NOT NULL DEFAULT {d.true_literal}",
            "active_period": b,
            "idle_period": b,
            "absolute_period": b,
            "previous_id": d.session_id_type,
            "previous_expires": b,
        }
        have = {c.lower() for c in existing}
        statements = [f"ALTER TABLE {s} ADD COLUMN {c} {types[c]}" for c in SESSION_POLICY_COLUMNS if c not in have]
        if "previous_id" not in have:
            index = d.q(f"{_bare(self.tables.session)}_previous_id_idx")
            statements.append(f"CREATE INDEX {index} ON {s} (previous_id)")
        return statements

    def _extra(self, columns: Mapping[str, str] | None, *, reserved_session: bool = False) -> str:
        d = self.dialect
        extra = ""
        for name, type_ in (columns or {}).items():
            check_identifier(name, "column name")
            lowered = name.lower()
            if lowered == "id" or (reserved_session and lowered in (*SESSION_BASE_COLUMNS, *SESSION_POLICY_COLUMNS)):
                raise InvalidInputError(None, f"{name!r} is a column Lucia manages")
            sql_type = d.column_types.get(type_.lower(), type_)
            if _SQL_TYPE.fullmatch(sql_type) is None:
                raise InvalidInputError(None, f"unsupported column type {type_!r}")
            extra += f", {d.q(name)} {sql_type}"
        return extra

    @staticmethod
    def throttle_hit_params(key: str, now: int, backoff: Backoff) -> tuple[object, ...]:
        """The parameters of :attr:`count_throttle_hit`, in the order of its placeholders.

        The back-off's exponent is capped where ``base_delay`` doubled reaches ``max_delay``
        (at most 40, as in :meth:`lucia.throttle.Backoff.delay`), so the SQL shift never
        overflows and gives the same window as the reference.
        """
        cap = 0
        while cap < 40 and backoff.base_delay << cap < backoff.max_delay:
            cap += 1
        forget = backoff.forget_after
        live = (forget,)  # the forget_after of each test that the key's state is live
        window = (backoff.max_delay, backoff.base_delay, backoff.max_failures, cap)
        return (key, now, now + forget, *live, *live, *live, backoff.max_failures, *window)

    # Row decoding: drivers hand back tuples in the column order of the statements above.

    @staticmethod
    def key_row(row: Sequence[Any]) -> KeyRow:
        """Decode a row of ``id, user_id, primary_key, hashed_password, expires``."""
        expires = row[4]
        return KeyRow(
            id=row[0],
            user_id=row[1],
            primary_key=bool(row[2]),
            hashed_password=row[3],
            expires=None if expires is None else int(expires),
        )

    def session_row(self, row: Sequence[Any]) -> SessionRow:
        """Decode a row of :attr:`session_columns` (attribute columns that are NULL are left out)."""
        if len(row) == 4:  # the Lucia-JS layout: the hot path of a shared database
            return SessionRow(row[0], row[1], int(row[2]), int(row[3]))
        if self._all_policy:  # the default layout: by position, no dictionary in between
            positions = self._attribute_positions
            attributes = {name: row[i] for i, name in positions if row[i] is not None} if positions else {}
            persistent = row[5]
            return SessionRow(
                row[0],
                row[1],
                int(row[2]),
                int(row[3]),
                row[4],
                True if persistent is None else bool(persistent),
                row[6],
                row[7],
                row[8],
                row[9],
                row[10],
                attributes,
            )
        values = dict(zip(self.session_columns, row, strict=False))
        persistent = values.get("persistent")
        attributes = {c: values[c] for c in self.attribute_columns if values[c] is not None}
        return SessionRow(
            row[0],
            row[1],
            int(row[2]),
            int(row[3]),
            created_at=_int_or_none(values.get("created_at")),
            persistent=True if persistent is None else bool(persistent),
            active_period=_int_or_none(values.get("active_period")),
            idle_period=_int_or_none(values.get("idle_period")),
            absolute_period=_int_or_none(values.get("absolute_period")),
            previous_id=values.get("previous_id"),
            previous_expires=_int_or_none(values.get("previous_expires")),
            attributes=attributes,
        )

    @staticmethod
    def user_row(columns: Sequence[str], row: Sequence[Any]) -> UserRow:
        """Decode a ``SELECT *`` user row given the cursor's column names."""
        attributes = dict(zip(columns, row, strict=True))
        user_id = attributes.pop("id")
        return UserRow(id=user_id, attributes=attributes)

    def session_and_user_rows(self, columns: Sequence[str], row: Sequence[Any]) -> tuple[SessionRow, UserRow]:
        """Decode a row of :attr:`get_session_and_user` (the session columns, then the user)."""
        n = len(self.session_columns)
        return self.session_row(row[:n]), self.user_row(columns[n:], row[n:])

    @staticmethod
    def passkey_params(credential: PasskeyCredentialRow) -> tuple[Any, ...]:
        """The parameters of :attr:`insert_passkey`."""
        c = credential
        return (
            c.id,
            c.user_id,
            c.user_handle,
            bytes(c.public_key),
            c.sign_count,
            ",".join(c.transports),
            c.aaguid,
            c.backup_eligible,
            c.backed_up,
            c.name,
            c.created_at,
            c.last_used_at,
        )

    @staticmethod
    def passkey_row(row: Sequence[Any]) -> PasskeyCredentialRow:
        """Decode a row of :attr:`get_passkey`."""
        return PasskeyCredentialRow(
            id=row[0],
            user_id=row[1],
            user_handle=row[2],
            public_key=bytes(row[3]),
            sign_count=int(row[4]),
            transports=tuple(t for t in str(row[5]).split(",") if t),
            aaguid=row[6],
            backup_eligible=bool(row[7]),
            backed_up=bool(row[8]),
            name=row[9],
            created_at=int(row[10]),
            last_used_at=_int_or_none(row[11]),
        )

    @staticmethod
    def challenge_row(row: Sequence[Any]) -> ChallengeRow:
        """Decode a row of :attr:`use_challenge`."""
        return ChallengeRow(
            id=row[0], kind=row[1], user_id=row[2], challenge=row[3], expires=int(row[4]), user_handle=row[5]
        )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


@lru_cache(maxsize=512)
def _insert(quote: str, placeholder: str, table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join("id" if c == "id" else f"{quote}{check_identifier(c, 'column name')}{quote}" for c in columns)
    values = ", ".join([placeholder] * len(columns))
    return f"INSERT INTO {table} ({names}) VALUES ({values})"


@lru_cache(maxsize=256)
def _update_user(statements: SQLStatements, columns: tuple[str, ...]) -> str:
    d = statements.dialect
    assignments = ", ".join(f"{d.q(check_identifier(c, 'attribute name'))} = {d.placeholder}" for c in columns)
    return f"UPDATE {statements._user} SET {assignments} WHERE id = {d.placeholder}"


def _asked_for(row: SessionRow, session_id: str) -> SessionRow | None:
    """Defence in depth: the row a session lookup got must be the session asked for (by id or previous id).

    A driver or pool that hands back another query's result must never sign someone in
    as somebody else: that is a storage fault. A row whose id only matches when letter
    case is ignored (a Lucia-JS 1.x MySQL table's collation) is simply not this session.
    """
    if row.id == session_id or row.previous_id == session_id:
        return row
    if session_id.lower() in (row.id.lower(), (row.previous_id or "").lower()):
        return None
    raise StorageUnavailableError(None, "the database answered with a row of another session")


def key_params(key: KeyRow) -> tuple[Any, ...]:
    """The parameters of :attr:`SQLStatements.insert_key` for a key row."""
    return (key.id, key.user_id, key.primary_key, key.hashed_password, key.expires)


class SQLTransaction(Protocol):
    """The statements a driver runs inside one transaction (see :meth:`SQLAdapter._transaction`)."""

    async def one(self, query: str, params: Sequence[Any]) -> Sequence[Any] | None:
        """The first row of a query, or ``None``."""

    async def all(self, query: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        """Every row of a query."""

    async def write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        """Run a write; return the affected row count; translate constraint violations of ``table``."""


class SQLAdapter(ABC):
    """The adapter contract written once over a SQL driver's few primitives.

    A SQL adapter sets ``self._sql`` (its :class:`SQLStatements`) and implements the
    driver calls; every contract method lives here, once::

        class MyAdapter(SQLAdapter):
            async def _one(self, query, params): ...            # first row or None
            async def _all(self, query, params): ...            # every row
            async def _one_with_names(self, query, params): ... # (column names, first row) or None
            async def _write(self, query, params, table=None): ...  # affected rows; translate violations
            def _transaction(self): ...                         # async context manager -> SQLTransaction
            async def _column_names(self, query): ...           # the result's column names, or None

    ``_write`` receives the role of the table an insert targets (``"user"``,
    ``"session"``, ``"key"``, ``"passkey"``) so it can turn the driver's constraint
    violation into :func:`constraint_error`; for other statements it is ``None``.
    Storage failures become :class:`lucia.StorageError` subclasses in the driver calls.
    """

    _sql: SQLStatements
    _inspected: bool = False
    #: The result column names of each joined query, read once (a query's columns change
    #: only when a table does, which changes their number too).
    _result_names: dict[str, list[str]] | None = None

    def _names_of(self, query: str, width: int, read: Callable[[], list[str]]) -> list[str]:
        """The column names of ``query``'s result of ``width`` columns: cached, read when unknown."""
        cache = self._result_names
        if cache is None:
            cache = self._result_names = {}
        names = cache.get(query)
        if names is None or len(names) != width:
            names = cache[query] = read()
        return names

    @abstractmethod
    async def _one(self, query: str, params: Sequence[Any]) -> Sequence[Any] | None:
        """The first row of a query, or ``None``."""

    @abstractmethod
    async def _all(self, query: str, params: Sequence[Any]) -> Sequence[Sequence[Any]]:
        """Every row of a query."""

    @abstractmethod
    async def _one_with_names(self, query: str, params: Sequence[Any]) -> tuple[Sequence[str], Sequence[Any]] | None:
        """The column names and first row of a query, or ``None``."""

    @abstractmethod
    async def _write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> int:
        """Run a write; translate constraint violations of inserts into ``table``; the affected row count."""

    async def _write_one(self, query: str, params: Sequence[Any]) -> Sequence[Any] | None:
        """The first row a writing statement returns (``DELETE ... RETURNING``), or ``None``."""
        return await self._one(query, params)

    @abstractmethod
    def _transaction(self) -> AbstractAsyncContextManager[SQLTransaction]:
        """One transaction: committed when the block ends, rolled back (or discarded) on any exception."""

    @abstractmethod
    async def _column_names(self, query: str) -> list[str] | None:
        """The column names of a query's result, or ``None`` when its table does not exist."""

    # -- schema ----------------------------------------------------------------------

    async def session_columns(self) -> frozenset[str] | None:
        """The session table's columns (read once; statements are rebuilt for them).

        Raises:
            ConfigurationError: The session table does not exist or lacks a Lucia-JS column.
        """
        await self._inspect_sessions()
        return frozenset(self._sql.session_columns)

    async def _inspect_sessions(self) -> None:
        if self._inspected:
            return
        columns = await self._column_names(self._sql.session_table_probe())
        if columns is None:
            raise ConfigurationError(
                f"the session table {self._sql.tables.session!r} does not exist: call create_schema() "
                "or create it with the DDL of `python -m lucia schema <dialect>`"
            )
        self._sql = self._sql.for_session_columns(columns)
        self._inspected = True

    async def _check_created_schema(
        self, user_columns: Mapping[str, str] | None, session_columns: Mapping[str, str] | None
    ) -> None:
        """After ``CREATE TABLE IF NOT EXISTS``: an existing table must have the requested columns."""
        self._inspected = False
        await self._inspect_sessions()
        for probe, wanted, table in (
            (self._sql.user_table_probe(), user_columns, self._sql.tables.user),
            (self._sql.session_table_probe(), session_columns, self._sql.tables.session),
        ):
            if not wanted:
                continue
            have = {c.lower() for c in await self._column_names(probe) or ()}
            missing = [name for name in wanted if name.lower() not in have]
            if missing:
                d = self._sql.dialect
                fixes = "; ".join(
                    f"ALTER TABLE {d.q(table)} ADD COLUMN {d.q(n)} {d.column_types.get(wanted[n].lower(), wanted[n])}"
                    for n in missing
                )
                raise ConfigurationError(
                    f"the existing table {table!r} lacks the column(s) {', '.join(missing)}; "
                    f"create_schema() never alters a table. Add them, e.g.: {fixes}"
                )

    # -- users -----------------------------------------------------------------------

    async def get_user(self, user_id: str) -> UserRow | None:
        """Return the user row, or ``None``."""
        found = await self._one_with_names(self._sql.get_user, (user_id,))
        return None if found is None else self._sql.user_row(*found)

    async def set_user(self, user: UserRow, key: KeyRow | None) -> None:
        """Insert a user and its primary key in one transaction."""
        async with self._transaction() as tx:
            await tx.write(self._sql.insert_user(list(user.attributes)), (user.id, *user.attributes.values()), "user")
            if key is not None:
                await tx.write(self._sql.insert_key, key_params(key), "key")

    async def update_user(self, user_id: str, attributes: Mapping[str, Any]) -> None:
        """Set some attribute columns of a user."""
        if attributes:
            await self._write(self._sql.update_user(list(attributes)), (*attributes.values(), user_id))

    async def delete_user(self, user_id: str) -> None:
        """Delete a user, its sessions and keys in one transaction (passkeys cascade)."""
        async with self._transaction() as tx:
            await tx.write(self._sql.delete_sessions_by_user_id, (user_id,))
            await tx.write(self._sql.delete_keys_by_user_id, (user_id,))
            await tx.write(self._sql.delete_user, (user_id,))

    # -- keys ------------------------------------------------------------------------

    async def get_key(self, key_id: str) -> KeyRow | None:
        """Return the key row, or ``None``."""
        row = await self._one(self._sql.get_key, (key_id,))
        return None if row is None else self._sql.key_row(row)

    async def get_keys_by_user_id(self, user_id: str) -> list[KeyRow]:
        """Every key of a user."""
        return [self._sql.key_row(row) for row in await self._all(self._sql.get_keys_by_user_id, (user_id,))]

    async def set_key(self, key: KeyRow) -> None:
        """Insert a key."""
        await self._write(self._sql.insert_key, key_params(key), "key")

    async def update_key(self, key_id: str, *, hashed_password: str | None) -> None:
        """Replace the password hash of a key."""
        await self._write(self._sql.update_key_password, (hashed_password, key_id))

    async def delete_key(self, key_id: str) -> None:
        """Delete a non-primary key."""
        await self._write(self._sql.delete_non_primary_key, (key_id,))

    async def delete_keys_by_user_id(self, user_id: str) -> None:
        """Delete every key of a user."""
        await self._write(self._sql.delete_keys_by_user_id, (user_id,))

    @property
    def _delete_returning(self) -> bool:
        return self._sql.dialect.delete_returning

    async def _consume(self, returning: str, lock: str, delete: str, row_id: str) -> Sequence[Any] | None:
        """Delete and return one row atomically: one ``DELETE ... RETURNING``, or lock and delete in a transaction.

        Args:
            returning: The ``DELETE ... RETURNING`` (where the dialect has it).
            lock: The ``SELECT ... FOR UPDATE`` of the row (where it has not).
            delete: The ``DELETE`` of the locked row.
            row_id: The id, the one parameter of all three.
        """
        if self._delete_returning:
            return await self._write_one(returning, (row_id,))
        async with self._transaction() as tx:
            row = await tx.one(lock, (row_id,))
            if row is None or await tx.write(delete, (row_id,)) != 1:
                return None
        return row

    async def use_single_use_key(self, key_id: str) -> KeyRow | None:
        """Delete and return a single-use key: one ``DELETE ... RETURNING``, or lock and delete."""
        sql = self._sql
        row = await self._consume(sql.use_single_use_key, sql.lock_single_use_key, sql.delete_key_by_id, key_id)
        return None if row is None else sql.key_row(row)

    # -- sessions --------------------------------------------------------------------

    async def get_session(self, session_id: str) -> SessionRow | None:
        """The session with this id, or the renewal of it (by ``previous_id``), or ``None``."""
        await self._inspect_sessions()
        sql = self._sql
        row = await self._one(sql.get_session, (session_id,))
        if row is None and sql.has_grace:
            row = await self._one(sql.get_session_by_previous_id, (session_id,))
        return None if row is None else _asked_for(sql.session_row(row), session_id)

    async def get_sessions_by_user_id(self, user_id: str) -> list[SessionRow]:
        """Every session of a user."""
        await self._inspect_sessions()
        return [self._sql.session_row(r) for r in await self._all(self._sql.get_sessions_by_user_id, (user_id,))]

    async def set_session(self, session: SessionRow, *, max_per_user: int | None = None) -> None:
        """Insert a session; with ``max_per_user``, drop the oldest beyond it in the same transaction.

        The transaction locks the user's row first, so concurrent sign-ins of one user
        take turns and the cap holds whatever the interleaving.
        """
        await self._inspect_sessions()
        sql = self._sql
        columns, params = sql.session_params(session)
        if max_per_user is None:
            await self._write(sql.insert_session(columns), params, "session")
            return
        async with self._transaction() as tx:
            await tx.one(sql.lock_user, (session.user_id,))
            await tx.write(sql.insert_session(columns), params, "session")
            ids = [r[0] for r in await tx.all(sql.get_session_ids_by_age, (session.user_id,))]
            extra = ids[max_per_user:]
            if extra:
                await tx.write(sql.delete_session_ids(len(extra)), extra)

    async def renew_session(self, session_id: str, renewed: SessionRow) -> bool:
        """Renew in place: one ``UPDATE`` gives the row its new id; ``False`` if it is gone."""
        await self._inspect_sessions()
        return await self._write(self._sql.renew_session, self._sql.renew_params(session_id, renewed)) == 1

    async def update_session(self, session_id: str, *, active_expires: int, idle_expires: int) -> None:
        """Move a session's expiry."""
        await self._write(self._sql.update_session, (active_expires, idle_expires, session_id))

    async def delete_session(self, session_id: str) -> None:
        """Delete the session with this id or previous id."""
        await self._inspect_sessions()
        await self._write(self._sql.delete_session, self._sql.delete_session_params(session_id))

    async def delete_sessions_by_user_id(self, user_id: str, *, except_session_id: str | None = None) -> None:
        """Delete every session of a user, or every one but the session named ``except_session_id``."""
        await self._inspect_sessions()
        if except_session_id is None:
            await self._write(self._sql.delete_sessions_by_user_id, (user_id,))
        else:
            params = self._sql.delete_other_sessions_params(user_id, except_session_id)
            await self._write(self._sql.delete_other_sessions, params)

    async def get_session_and_user(self, session_id: str) -> tuple[SessionRow, UserRow] | None:
        """The session (or the renewal of it) and its user, in one query (a join)."""
        if not self._inspected:
            await self._inspect_sessions()
        sql = self._sql
        found = await self._one_with_names(sql.get_session_and_user, (session_id,))
        if found is None and sql.has_grace:
            found = await self._one_with_names(sql.get_session_and_user_by_previous_id, (session_id,))
        if found is None:
            return None
        session, user = sql.session_and_user_rows(*found)
        if user.id != session.user_id:
            raise StorageUnavailableError(None, "the database answered with a user row of another session")
        checked = _asked_for(session, session_id)
        return None if checked is None else (checked, user)

    # -- throttling ------------------------------------------------------------------

    def throttle_store(self) -> SQLThrottleStore:
        """A :class:`lucia.throttle.ThrottleStore` in this database (shared by every process)."""
        return SQLThrottleStore(self)

    # -- passkeys --------------------------------------------------------------------

    async def set_passkey_credential(self, credential: PasskeyCredentialRow) -> None:
        """Insert a credential."""
        await self._write(self._sql.insert_passkey, self._sql.passkey_params(credential), "passkey")

    async def get_passkey_credential(self, credential_id: str) -> PasskeyCredentialRow | None:
        """Return a credential, or ``None``."""
        row = await self._one(self._sql.get_passkey, (credential_id,))
        return None if row is None else self._sql.passkey_row(row)

    async def get_passkey_credentials_by_user_id(self, user_id: str) -> list[PasskeyCredentialRow]:
        """Every credential of a user."""
        return [self._sql.passkey_row(r) for r in await self._all(self._sql.get_passkeys_by_user_id, (user_id,))]

    async def update_passkey_credential_use(
        self, credential_id: str, *, expected_sign_count: int, sign_count: int, backed_up: bool, last_used_at: int
    ) -> bool:
        """Record a use if the counter did not move meanwhile."""
        params = (sign_count, backed_up, last_used_at, credential_id, expected_sign_count)
        return await self._write(self._sql.update_passkey_use, params) == 1

    async def rename_passkey_credential(self, user_id: str, credential_id: str, name: str) -> bool:
        """Rename a credential of this user."""
        found = await self.get_passkey_credential(credential_id)
        if found is None or found.user_id != user_id:
            return False
        if found.name == name:
            return True  # MySQL reports 0 changed rows for a no-op update
        return await self._write(self._sql.rename_passkey, (name, credential_id, user_id)) == 1

    async def delete_passkey_credential(self, user_id: str, credential_id: str) -> bool:
        """Delete a credential of this user."""
        return await self._write(self._sql.delete_passkey, (credential_id, user_id)) == 1

    async def set_challenge(self, challenge: ChallengeRow) -> None:
        """Store a challenge."""
        c = challenge
        await self._write(self._sql.insert_challenge, (c.id, c.kind, c.user_id, c.challenge, c.expires, c.user_handle))

    async def use_challenge(self, challenge_id: str) -> ChallengeRow | None:
        """Delete and return a challenge atomically."""
        sql = self._sql
        row = await self._consume(sql.use_challenge, sql.lock_challenge, sql.delete_challenge, challenge_id)
        return None if row is None else sql.challenge_row(row)

    async def delete_expired_challenges(self, now: int) -> None:
        """Delete expired challenges."""
        await self._write(self._sql.delete_expired_challenges, (now,))


def _live_state(row: Sequence[Any] | None, now: int) -> ThrottleState | None:
    """A key's state from its ``failures, last_failure, expires`` row, or ``None`` if it has none or it expired."""
    if row is None or int(row[0]) == 0 or int(row[2]) <= now:
        return None
    return ThrottleState(int(row[0]), int(row[1]))


class SQLThrottleStore:
    """Throttle state in the adapter's database: atomic, shared by every process using it.

    A hit is one short transaction that locks the key's row (``SELECT ... FOR UPDATE``;
    SQLite locks the database), so concurrent hits from any number of processes take
    turns and the back-off rule (:class:`lucia.throttle.Backoff`) runs in Python on
    the locked state. Client events are rows of ``auth_throttle_event``. Expired rows are
    deleted by :meth:`delete_expired`, which :class:`lucia.throttle.Throttle` calls about
    once a minute.
    """

    def __init__(self, adapter: SQLAdapter) -> None:
        self._adapter = adapter

    def __repr__(self) -> str:
        return f"SQLThrottleStore({self._adapter!r})"

    async def get_state(self, key: str) -> ThrottleState | None:
        """The state of ``key``, or ``None``."""
        row = await self._adapter._one(self._adapter._sql.get_throttle_state, (key,))
        return None if row is None or int(row[0]) == 0 else ThrottleState(int(row[0]), int(row[1]))

    async def hit(self, key: str, *, now: int, backoff: Backoff) -> int:
        """Refuse inside the window, else count: one upsert, or one transaction on the key's locked row."""
        sql = self._adapter._sql
        if sql.count_throttle_hit is not None:
            counted = await self._adapter._write_one(sql.count_throttle_hit, sql.throttle_hit_params(key, now, backoff))
            if counted is not None:
                return 0
            # Refused inside the window: how long is left (the rare path, one more read).
            row = await self._adapter._one(sql.get_throttle_state, (key,))
            return max(1, backoff.wait_ms(_live_state(row, now), now))
        async with self._adapter._transaction() as tx:
            await tx.write(sql.insert_throttle_state, (key, 0, 0, 0))
            state = _live_state(await tx.one(sql.lock_throttle_state, (key,)), now)
            wait = backoff.wait_ms(state, now)
            if wait == 0:
                new = backoff.counted(state, now)
                await tx.write(
                    sql.update_throttle_state, (new.failures, new.last_failure, now + backoff.forget_after, key)
                )
        return wait

    async def delete_state(self, key: str) -> None:
        """Forget ``key``."""
        await self._adapter._write(self._adapter._sql.delete_throttle_state, (key,))

    async def add_event(self, key: str, event_id: str, at: int, *, since: int, expires_at: int) -> tuple[int, int]:
        """Record an event and count the window."""
        sql = self._adapter._sql
        await self._adapter._write(sql.insert_throttle_event, (event_id, key, at, expires_at))
        row = await self._adapter._one(sql.count_throttle_events, (key, since))
        assert row is not None
        return int(row[0]), int(row[1] if row[1] is not None else at)

    async def remove_event(self, key: str, event_id: str) -> None:
        """Forget one event."""
        await self._adapter._write(self._adapter._sql.delete_throttle_event, (event_id,))

    async def delete_expired(self, now: int) -> None:
        """Delete expired states and events."""
        sql = self._adapter._sql
        await self._adapter._write(sql.delete_expired_throttle_states, (now,))
        await self._adapter._write(sql.delete_expired_throttle_events, (now,))
