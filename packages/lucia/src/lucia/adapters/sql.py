"""SQL text shared by every SQL adapter, parametrised by dialect.

The one home of Lucia's SQL: the SQLite, PostgreSQL and MySQL adapters build their
statements and DDL here and keep only their driver calls, so a query exists once.
Third-party SQL adapters may use it too::

    from lucia.adapters.sql import POSTGRESQL, SQLStatements, TableNames

    sql = SQLStatements(POSTGRESQL, TableNames(user="app_user"))
    await cursor.execute(sql.get_session, (session_id,))
    row = sql.session_row(await cursor.fetchone())
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from functools import lru_cache
from typing import Any, Literal

from lucia._errors import LuciaError
from lucia._validation import check_identifier
from lucia.adapters import KeyRow, SessionRow, UserRow

__all__ = [
    "MARIADB",
    "MYSQL",
    "POSTGRESQL",
    "SQLITE",
    "Dialect",
    "SQLAdapter",
    "SQLStatements",
    "TableNames",
    "TableRole",
    "Violation",
    "constraint_error",
    "dialect_named",
    "key_params",
]

#: Which of the three tables a statement writes to.
TableRole = Literal["user", "session", "key"]

_SQL_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_ (),]*")


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
    false_literal: str
    table_suffix: str
    #: Whether ``DELETE ... RETURNING`` exists (SQLite 3.35+, PostgreSQL, MariaDB 10.5+).
    delete_returning: bool
    #: Whether indexes are declared inside ``CREATE TABLE`` (MySQL 8 lacks ``CREATE INDEX IF NOT EXISTS``).
    inline_index: bool
    #: Portable column type names accepted in ``user_columns``.
    column_types: Mapping[str, str]
    #: Whether ``WITH ... INSERT`` may feed another ``INSERT`` (PostgreSQL's data-modifying CTEs).
    writable_cte: bool = False

    def q(self, identifier: str) -> str:
        """Quote a (possibly schema-qualified) identifier that was checked to be plain."""
        return ".".join(f"{self.quote}{part}{self.quote}" for part in identifier.split("."))


SQLITE = Dialect(
    name="sqlite",
    placeholder="?",
    quote='"',
    id_type="TEXT",
    session_id_type="TEXT",
    text_type="TEXT",
    bigint_type="INTEGER",
    bool_type="INTEGER",
    false_literal="0",
    table_suffix="",
    delete_returning=True,
    inline_index=False,
    column_types={"text": "TEXT", "string": "TEXT", "integer": "INTEGER", "boolean": "INTEGER", "float": "REAL"},
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
    false_literal="FALSE",
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
    false_literal="FALSE",
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
        raise LuciaError("AUTH_INVALID_INPUT", f"unknown SQL dialect {name!r}") from None


@dataclass(frozen=True, slots=True)
class TableNames:
    """The three table names (Lucia-JS 1.x defaults). Schema-qualified names are allowed."""

    user: str = "auth_user"
    session: str = "auth_session"
    key: str = "auth_key"

    def __post_init__(self) -> None:
        for name in (self.user, self.session, self.key):
            for part in name.split("."):
                check_identifier(part, "table name")


class Violation(Enum):
    """Which kind of constraint a failed insert broke."""

    PRIMARY_KEY = "primary_key"
    FOREIGN_KEY = "foreign_key"
    OTHER = "other"


_CONSTRAINT_ERRORS: dict[tuple[str, Violation], tuple[Any, str]] = {
    ("user", Violation.PRIMARY_KEY): ("AUTH_INVALID_USER_ID", "a user with this id already exists"),
    ("key", Violation.PRIMARY_KEY): ("AUTH_DUPLICATE_KEY_ID", "a key with this id already exists"),
    ("key", Violation.FOREIGN_KEY): ("AUTH_INVALID_USER_ID", "no user has this id"),
    ("session", Violation.PRIMARY_KEY): ("AUTH_DUPLICATE_SESSION_ID", "a session with this id already exists"),
    ("session", Violation.FOREIGN_KEY): ("AUTH_INVALID_USER_ID", "no user has this id"),
}


def constraint_error(table: TableRole, violation: Violation) -> LuciaError | None:
    """The :class:`LuciaError` for a constraint broken by an insert into ``table``.

    ``None`` means the violation is the application's own (say a unique ``email``
    column) and the driver error should propagate unchanged.
    """
    found = _CONSTRAINT_ERRORS.get((table, violation))
    return None if found is None else LuciaError(found[0], found[1])


class SQLStatements:
    """Every statement Lucia runs, for one dialect and one set of table names.

    Fixed statements are attributes; statements that depend on which user columns
    are written are methods, cached per column tuple.
    """

    def __init__(self, dialect: Dialect, tables: TableNames | None = None) -> None:
        self.dialect = dialect
        self.tables = tables or TableNames()
        d, p = dialect, dialect.placeholder
        u, s, k = d.q(self.tables.user), d.q(self.tables.session), d.q(self.tables.key)
        self._user, self._session, self._key = u, s, k
        key_cols = "id, user_id, primary_key, hashed_password, expires"
        session_cols = "id, user_id, active_expires, idle_expires"
        self.get_user = f"SELECT * FROM {u} WHERE id = {p}"
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
        self.lock_single_use_key = f"SELECT {key_cols} FROM {k} WHERE id = {p} AND expires IS NOT NULL FOR UPDATE"
        self.delete_key_by_id = f"DELETE FROM {k} WHERE id = {p}"
        self.get_session = f"SELECT {session_cols} FROM {s} WHERE id = {p}"
        self.get_sessions_by_user_id = f"SELECT {session_cols} FROM {s} WHERE user_id = {p}"
        self.insert_session = f"INSERT INTO {s} ({session_cols}) VALUES ({p}, {p}, {p}, {p})"
        self.update_session = f"UPDATE {s} SET active_expires = {p}, idle_expires = {p} WHERE id = {p}"
        self.delete_session = f"DELETE FROM {s} WHERE id = {p}"
        self.delete_sessions_by_user_id = f"DELETE FROM {s} WHERE user_id = {p}"
        #: Session columns first (4), then every user column: one round trip for validation.
        self.get_session_and_user = (
            f"SELECT s.id, s.user_id, s.active_expires, s.idle_expires, u.* "
            f"FROM {s} s INNER JOIN {u} u ON u.id = s.user_id WHERE s.id = {p}"
        )

    def insert_user(self, columns: Sequence[str]) -> str:
        """``INSERT`` of a user with ``id`` and the given attribute columns."""
        return _insert_user(self, tuple(columns))

    def insert_user_with_key(self, columns: Sequence[str]) -> str:
        """One statement inserting a user and its primary key, atomic without a transaction block.

        Only for dialects with :attr:`Dialect.writable_cte` (PostgreSQL). Parameters: the
        user's id and ``columns``, then the key's five columns as in :attr:`insert_key`.
        The foreign key is checked at the end of the statement, so it sees the new user.
        """
        if not self.dialect.writable_cte:
            raise LuciaError("AUTH_INVALID_INPUT", f"{self.dialect.name} has no data-modifying WITH")
        return f"WITH new_user AS ({self.insert_user(columns)}) {self.insert_key}"

    def update_user(self, columns: Sequence[str]) -> str:
        """``UPDATE`` of the given attribute columns; the last parameter is the id."""
        return _update_user(self, tuple(columns))

    def schema(self, user_columns: Mapping[str, str] | None = None) -> list[str]:
        """The DDL for the three tables and their ``user_id`` indexes, one statement each.

        Args:
            user_columns: Extra columns of the user table, name to type. A portable type
                (``text``, ``string``, ``integer``, ``boolean``, ``float``) is translated
                for the dialect; anything else is used as written.
        """
        d = self.dialect
        extra = ""
        for name, type_ in (user_columns or {}).items():
            check_identifier(name, "column name")
            sql_type = d.column_types.get(type_.lower(), type_)
            if _SQL_TYPE.fullmatch(sql_type) is None:
                raise LuciaError("AUTH_INVALID_INPUT", f"unsupported column type {type_!r}")
            extra += f", {d.q(name)} {sql_type}"
        u, s, k = self._user, self._session, self._key
        exists = "IF NOT EXISTS "
        statements = [f"CREATE TABLE {exists}{u} (id {d.id_type} NOT NULL PRIMARY KEY{extra}){d.table_suffix}"]
        for table, quoted, columns in (
            (
                self.tables.session,
                s,
                f"id {d.session_id_type} NOT NULL PRIMARY KEY, user_id {d.id_type} NOT NULL, "
                f"active_expires {d.bigint_type} NOT NULL, idle_expires {d.bigint_type} NOT NULL",
            ),
            (
                self.tables.key,
                k,
                f"id {d.id_type} NOT NULL PRIMARY KEY, user_id {d.id_type} NOT NULL, "
                f"primary_key {d.bool_type} NOT NULL, hashed_password {d.text_type}, expires {d.bigint_type}",
            ),
        ):
            index = d.q(table.rsplit(".", 1)[-1] + "_user_id_idx")
            inline = f", INDEX {index} (user_id)" if d.inline_index else ""
            statements.append(
                f"CREATE TABLE {exists}{quoted} ({columns}, FOREIGN KEY (user_id) REFERENCES {u} (id){inline})"
                f"{d.table_suffix}"
            )
            if not d.inline_index:
                statements.append(f"CREATE INDEX {exists}{index} ON {quoted} (user_id)")
        return statements

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

    @staticmethod
    def session_row(row: Sequence[Any]) -> SessionRow:
        """Decode a row of ``id, user_id, active_expires, idle_expires``."""
        return SessionRow(id=row[0], user_id=row[1], active_expires=int(row[2]), idle_expires=int(row[3]))

    @staticmethod
    def user_row(columns: Sequence[str], row: Sequence[Any]) -> UserRow:
        """Decode a ``SELECT *`` user row given the cursor's column names."""
        attributes = dict(zip(columns, row, strict=True))
        user_id = attributes.pop("id")
        return UserRow(id=user_id, attributes=attributes)

    @staticmethod
    def session_and_user_rows(columns: Sequence[str], row: Sequence[Any]) -> tuple[SessionRow, UserRow]:
        """Decode a row of :attr:`get_session_and_user` (4 session columns, then the user)."""
        return SQLStatements.session_row(row), SQLStatements.user_row(columns[4:], row[4:])


@lru_cache(maxsize=256)
def _insert_user(statements: SQLStatements, columns: tuple[str, ...]) -> str:
    d = statements.dialect
    names = ", ".join(["id", *(d.q(check_identifier(c, "attribute name")) for c in columns)])
    values = ", ".join([d.placeholder] * (len(columns) + 1))
    return f"INSERT INTO {statements._user} ({names}) VALUES ({values})"


@lru_cache(maxsize=256)
def _update_user(statements: SQLStatements, columns: tuple[str, ...]) -> str:
    d = statements.dialect
    assignments = ", ".join(f"{d.q(check_identifier(c, 'attribute name'))} = {d.placeholder}" for c in columns)
    return f"UPDATE {statements._user} SET {assignments} WHERE id = {d.placeholder}"


def key_params(key: KeyRow) -> tuple[Any, ...]:
    """The parameters of :attr:`SQLStatements.insert_key` for a key row."""
    return (key.id, key.user_id, key.primary_key, key.hashed_password, key.expires)


class SQLAdapter(ABC):
    """The adapter contract written once over a SQL driver's few primitives.

    A SQL adapter sets ``self._sql`` (its :class:`SQLStatements`) and implements four
    driver calls and ``set_user`` (whose transaction is driver-specific); every other
    contract method lives here, once::

        class MyAdapter(SQLAdapter):
            async def _one(self, query, params): ...            # first row or None
            async def _all(self, query, params): ...            # every row
            async def _one_with_names(self, query, params): ... # (column names, first row) or None
            async def _write(self, query, params, table=None): ...  # translate insert violations
            async def set_user(self, user, key): ...            # one transaction

    ``_write`` receives the role of the table an insert targets (``"user"``,
    ``"session"``, ``"key"``) so it can turn the driver's constraint violation into
    :func:`constraint_error`; for other statements it is ``None``.
    """

    _sql: SQLStatements

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
    async def _write(self, query: str, params: Sequence[Any], table: TableRole | None = None) -> None:
        """Run a write; translate constraint violations of inserts into ``table``."""

    @abstractmethod
    async def set_user(self, user: UserRow, key: KeyRow | None) -> None:
        """Insert a user and its primary key atomically."""

    # -- users -----------------------------------------------------------------------

    async def get_user(self, user_id: str) -> UserRow | None:
        """Return the user row, or ``None``."""
        found = await self._one_with_names(self._sql.get_user, (user_id,))
        return None if found is None else self._sql.user_row(*found)

    async def update_user(self, user_id: str, attributes: Mapping[str, Any]) -> None:
        """Set some attribute columns of a user."""
        if attributes:
            await self._write(self._sql.update_user(list(attributes)), (*attributes.values(), user_id))

    async def delete_user(self, user_id: str) -> None:
        """Delete a user row."""
        await self._write(self._sql.delete_user, (user_id,))

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

    async def use_single_use_key(self, key_id: str) -> KeyRow | None:
        """Delete and return a single-use key in one ``DELETE ... RETURNING`` statement.

        Databases without ``RETURNING`` override this with a locking transaction.
        """
        row = await self._one(self._sql.use_single_use_key, (key_id,))
        return None if row is None else self._sql.key_row(row)

    # -- sessions --------------------------------------------------------------------

    async def get_session(self, session_id: str) -> SessionRow | None:
        """Return the session row, or ``None``."""
        row = await self._one(self._sql.get_session, (session_id,))
        return None if row is None else self._sql.session_row(row)

    async def get_sessions_by_user_id(self, user_id: str) -> list[SessionRow]:
        """Every session of a user."""
        return [self._sql.session_row(r) for r in await self._all(self._sql.get_sessions_by_user_id, (user_id,))]

    async def set_session(self, session: SessionRow) -> None:
        """Insert a session."""
        params = (session.id, session.user_id, session.active_expires, session.idle_expires)
        await self._write(self._sql.insert_session, params, "session")

    async def update_session(self, session_id: str, *, active_expires: int, idle_expires: int) -> None:
        """Move a session's expiry."""
        await self._write(self._sql.update_session, (active_expires, idle_expires, session_id))

    async def delete_session(self, session_id: str) -> None:
        """Delete one session."""
        await self._write(self._sql.delete_session, (session_id,))

    async def delete_sessions_by_user_id(self, user_id: str) -> None:
        """Delete every session of a user."""
        await self._write(self._sql.delete_sessions_by_user_id, (user_id,))

    async def get_session_and_user(self, session_id: str) -> tuple[SessionRow, UserRow] | None:
        """The session and its user, in one query (a join)."""
        found = await self._one_with_names(self._sql.get_session_and_user, (session_id,))
        return None if found is None else self._sql.session_and_user_rows(*found)
