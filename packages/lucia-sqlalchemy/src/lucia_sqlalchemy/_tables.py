"""Lucia's tables as SQLAlchemy Core ``Table`` objects on the application's ``MetaData``.

Column names and types follow the shared DDL of :mod:`lucia.adapters.sql` (and so the
Lucia-JS 1.x tables for the first three): a database created by ``create_schema()`` of
this package, by Alembic from these tables, by ``lucia-postgresql`` / ``lucia-mysql`` /
``lucia-sqlite`` or by ``python -m lucia schema`` is the same database.

MySQL and MariaDB: every table carries its charset and binary NO PAD collation as table
options (:data:`TABLE_OPTIONS`), so whatever emits the ``CREATE TABLE`` — ``create_all``,
Alembic's ``op.create_table``, :meth:`SQLAlchemyAdapter.create_schema` — gives the same
table, in which ``email:bob`` and ``email:bob `` are two ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    true,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateTable, SchemaItem
from sqlalchemy.sql.compiler import DDLCompiler
from sqlalchemy.types import TypeEngine

from lucia import InvalidInputError
from lucia.adapters import SESSION_POLICY_COLUMNS
from lucia.adapters.sql import TableNames
from lucia.validation import RESERVED_SESSION_COLUMNS, RESERVED_USER_COLUMNS, is_identifier

__all__ = ["TABLE_OPTIONS", "LuciaTables", "lucia_tables"]

_MYSQL = ("mysql", "mariadb")
#: MySQL 8's and MariaDB's binary NO PAD collations: ids compare byte for byte, trailing
#: spaces included (``utf8mb4_bin`` is PAD SPACE: it would find ``bob`` for ``bob ``).
_MYSQL_COLLATION = "utf8mb4_0900_bin"
_MARIADB_COLLATION = "utf8mb4_nopad_bin"

#: Table options of every Lucia table on MySQL 8 (``mysql_*``) and MariaDB (``mariadb_*``):
#: InnoDB, 4-byte UTF-8, binary NO PAD collation. Give them to your own tables that
#: reference Lucia's (a foreign key needs the same charset and collation on both sides):
#: ``Table("post", metadata, ..., **TABLE_OPTIONS)`` or ``__table_args__ = dict(TABLE_OPTIONS)``.
#: Other databases ignore them.
TABLE_OPTIONS: Mapping[str, str] = MappingProxyType(
    {
        "mysql_engine": "InnoDB",
        "mysql_charset": "utf8mb4",
        "mysql_collate": _MYSQL_COLLATION,
        "mariadb_engine": "InnoDB",
        "mariadb_charset": "utf8mb4",
        "mariadb_collate": _MARIADB_COLLATION,
    }
)

_TABLE_KWARGS: dict[str, Any] = dict(TABLE_OPTIONS)
#: Session columns an application column may not shadow, lower case.
_RESERVED_SESSION = frozenset({*RESERVED_SESSION_COLUMNS, *SESSION_POLICY_COLUMNS})


def _id_type(mysql_length: int) -> TypeEngine[str]:
    """TEXT on PostgreSQL and SQLite, VARCHAR(n) on MySQL and anywhere else."""
    return String(mysql_length).with_variant(Text(), "postgresql", "sqlite")


def _long_text() -> TypeEngine[str]:
    """TEXT, or LONGTEXT on MySQL/MariaDB (whose TEXT stops at 64 KB)."""
    return Text().with_variant(mysql.LONGTEXT(), *_MYSQL)


def _bytes() -> TypeEngine[bytes]:
    """BYTEA / BLOB, or LONGBLOB on MySQL/MariaDB."""
    return LargeBinary().with_variant(mysql.LONGBLOB(), *_MYSQL)


def _millis() -> TypeEngine[int]:
    """BIGINT epoch milliseconds (INTEGER on SQLite, as its DDL spells it)."""
    return BigInteger().with_variant(Integer(), "sqlite")


def _flag() -> TypeEngine[bool]:
    """BOOLEAN (INTEGER on SQLite, as its DDL spells it)."""
    return Boolean().with_variant(Integer(), "sqlite")


@dataclass(frozen=True, slots=True)
class LuciaTables:
    """The tables :class:`SQLAlchemyAdapter` reads and writes, made by :func:`lucia_tables`.

    Attributes:
        user: ``auth_user``: ``id`` and one column per user attribute.
        session: ``auth_session``: the four Lucia-JS columns (``id``, ``user_id``,
            ``active_expires``, ``idle_expires``), the session-policy columns (all
            nullable or defaulted) and one column per session attribute.
        key: ``auth_key``: ``id``, ``user_id``, ``primary_key``, ``hashed_password``, ``expires``.
        throttle: ``auth_throttle``: per-key sign-in failures (:meth:`SQLAlchemyAdapter.throttle_store`).
        throttle_event: ``auth_throttle_event``: per-client failed attempts.
        passkey: ``auth_passkey``: WebAuthn credentials (deleted with their user).
        passkey_challenge: ``auth_passkey_challenge``: pending WebAuthn ceremonies.
    """

    user: Table
    session: Table
    key: Table
    throttle: Table
    throttle_event: Table
    passkey: Table
    passkey_challenge: Table

    @property
    def metadata(self) -> MetaData:
        """The ``MetaData`` the tables are attached to."""
        return self.user.metadata

    def __iter__(self) -> Iterator[Table]:
        """Iterate over the tables in creation order (the user table first)."""
        return iter((self.user, self.session, self.key, *self._newer()))

    def _newer(self) -> tuple[Table, ...]:
        return (self.throttle, self.throttle_event, self.passkey, self.passkey_challenge)


def _split(name: str) -> tuple[str | None, str]:
    schema, _, bare = name.rpartition(".")
    return schema or None, bare


def _checked_columns(columns: Iterable[Column[Any]], reserved: frozenset[str], what: str) -> list[Column[Any]]:
    """The application's columns, if their names are ones Lucia's attributes can use."""
    checked: list[Column[Any]] = []
    seen: set[str] = set()
    for column in columns:
        if not isinstance(column, Column):
            raise InvalidInputError(None, f"{what} must be sqlalchemy.Column objects")
        name = column.name
        # The names create_user / create_session accept: plain identifiers, never one of
        # Lucia's own columns in any letter case (MySQL and SQLite compare names so).
        if not isinstance(name, str) or not is_identifier(name):
            raise InvalidInputError(None, f"{what}: {name!r} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)"[:160])
        if name.lower() in reserved:
            raise InvalidInputError(None, f"{what}: {name!r} is a column Lucia manages")
        if name.lower() in seen:
            raise InvalidInputError(None, f"{what}: {name!r} is given twice (names compare in any letter case)")
        seen.add(name.lower())
        checked.append(column)
    return checked


def lucia_tables(
    metadata: MetaData | None = None,
    *,
    user_table: str = "auth_user",
    session_table: str = "auth_session",
    key_table: str = "auth_key",
    throttle_table: str = "auth_throttle",
    throttle_event_table: str = "auth_throttle_event",
    passkey_table: str = "auth_passkey",
    passkey_challenge_table: str = "auth_passkey_challenge",
    user_columns: Iterable[Column[Any]] = (),
    session_columns: Iterable[Column[Any]] = (),
) -> LuciaTables:
    """Define Lucia's tables on ``metadata`` (Alembic autogenerate then sees them).

    Example::

        metadata = MetaData()
        tables = lucia_tables(
            metadata,
            user_columns=[Column("email", String(255), unique=True)],
            session_columns=[Column("ip_address", String(64))],
        )
        adapter = SQLAlchemyAdapter(engine, tables=tables)

    Names may be schema-qualified (``"auth.user"``); each table name (without its schema)
    is a plain identifier of at most 40 characters, so that the constraint and index
    names derived from it fit every database's identifier limit.

    Args:
        metadata: The application's ``MetaData``; a new one if omitted.
        user_table: Name of the user table.
        session_table: Name of the session table.
        key_table: Name of the key table.
        throttle_table: Name of the per-key throttle table.
        throttle_event_table: Name of the per-client throttle event table.
        passkey_table: Name of the passkey credential table.
        passkey_challenge_table: Name of the passkey challenge table.
        user_columns: Columns of the user table, one per user attribute. Each ``Column``
            object is attached to the table, so it must be a new one.
        session_columns: Columns of the session table, one per session attribute
            (``create_session(user_id, attributes={...})``). Nullable (or defaulted), so
            a Lucia-JS 1.x process inserting four columns keeps working.

    Returns:
        The tables.

    Raises:
        InvalidInputError: A table name is not a plain identifier, is too long or is
            given twice; a
            column name is not a plain identifier, is one Lucia manages (``id`` for
            users; ``id``, ``user_id``, the expiry and policy columns for sessions, in
            any letter case) or is given twice.
    """
    names = (
        user_table,
        session_table,
        key_table,
        throttle_table,
        throttle_event_table,
        passkey_table,
        passkey_challenge_table,
    )
    TableNames(*names)  # the same name rules as every SQL adapter, checked before anything is built
    if len({name.lower() for name in names}) != len(names):
        raise InvalidInputError(None, "each Lucia table needs its own name (names compare in any letter case)")
    extra_user = _checked_columns(user_columns, RESERVED_USER_COLUMNS, "user_columns")
    extra_session = _checked_columns(session_columns, _RESERVED_SESSION, "session_columns")
    metadata = MetaData() if metadata is None else metadata

    def table(qualified: str, *items: SchemaItem) -> Table:
        schema, name = _split(qualified)
        # Named like PostgreSQL names them by default, so every DDL path gives the same names.
        primary_key = PrimaryKeyConstraint("id", name=f"{name}_pkey")
        return Table(name, metadata, *items, primary_key, schema=schema, **_TABLE_KWARGS)

    def owned_by_user(qualified: str, *, cascade: bool = False) -> ForeignKeyConstraint:
        name = _split(qualified)[1]
        return ForeignKeyConstraint(
            ["user_id"], [user.c.id], name=f"{name}_user_id_fkey", ondelete="CASCADE" if cascade else None
        )

    def index(qualified: str, *columns: str) -> Index:
        return Index(f"{_split(qualified)[1]}_{columns[0]}_idx", *columns)

    user = table(user_table, Column("id", _id_type(255), nullable=False), *extra_user)
    session = table(
        session_table,
        Column("id", _id_type(127), nullable=False),
        Column("user_id", _id_type(255), nullable=False),
        Column("active_expires", _millis(), nullable=False),
        Column("idle_expires", _millis(), nullable=False),
        Column("created_at", _millis(), nullable=True),
        Column("persistent", _flag(), nullable=False, server_default=true()),
        Column("active_period", _millis(), nullable=True),
        Column("idle_period", _millis(), nullable=True),
        Column("absolute_period", _millis(), nullable=True),
        Column("previous_id", _id_type(127), nullable=True),
        Column("previous_expires", _millis(), nullable=True),
        *extra_session,
        owned_by_user(session_table),
        index(session_table, "user_id"),
        index(session_table, "previous_id"),
    )
    key = table(
        key_table,
        Column("id", _id_type(255), nullable=False),
        Column("user_id", _id_type(255), nullable=False),
        Column("primary_key", _flag(), nullable=False),
        Column("hashed_password", _long_text(), nullable=True),
        Column("expires", _millis(), nullable=True),
        owned_by_user(key_table),
        index(key_table, "user_id"),
    )
    throttle = table(
        throttle_table,
        Column("id", String(127), nullable=False),
        Column("failures", _millis(), nullable=False),
        Column("last_failure", _millis(), nullable=False),
        Column("expires", _millis(), nullable=False),
        index(throttle_table, "expires"),
    )
    throttle_event = table(
        throttle_event_table,
        Column("id", String(64), nullable=False),
        Column("bucket", String(127), nullable=False),
        Column("at", _millis(), nullable=False),
        Column("expires", _millis(), nullable=False),
        index(throttle_event_table, "bucket", "at"),
        index(throttle_event_table, "expires"),
    )
    passkey = table(
        passkey_table,
        Column("id", String(255), nullable=False),
        Column("user_id", _id_type(255), nullable=False),
        Column("user_handle", String(255), nullable=False),
        Column("public_key", _bytes(), nullable=False),
        Column("sign_count", _millis(), nullable=False),
        Column("transports", String(255), nullable=False),
        Column("aaguid", String(64), nullable=False),
        Column("backup_eligible", _flag(), nullable=False),
        Column("backed_up", _flag(), nullable=False),
        Column("name", String(255), nullable=True),
        Column("created_at", _millis(), nullable=False),
        Column("last_used_at", _millis(), nullable=True),
        owned_by_user(passkey_table, cascade=True),
        index(passkey_table, "user_id"),
        index(passkey_table, "user_handle"),
    )
    passkey_challenge = table(
        passkey_challenge_table,
        Column("id", String(127), nullable=False),
        Column("kind", String(32), nullable=False),
        Column("user_id", _id_type(255), nullable=True),
        Column("challenge", String(255), nullable=False),
        Column("expires", _millis(), nullable=False),
        Column("user_handle", String(255), nullable=True),
        index(passkey_challenge_table, "expires"),
    )
    return LuciaTables(user, session, key, throttle, throttle_event, passkey, passkey_challenge)


# -- MariaDB reached through the ``mysql`` dialect name ----------------------------------
#
# SQLAlchemy applies ``mysql_*`` table options when the URL says ``mysql://`` even if the
# server turns out to be MariaDB (``dialect.is_mariadb``), and MariaDB (10.x, and 11.x
# before its MySQL-compatibility aliases) does not know MySQL 8's ``utf8mb4_0900_bin``.
# This compile hook makes such a table use its ``mariadb_collate`` there instead, for
# ``create_all``, Alembic's ``op.create_table`` and any other path that compiles a
# ``CREATE TABLE``. It changes nothing for a table that does not carry both options, nor
# on MySQL, nor under the ``mariadb`` dialect name (which applies ``mariadb_*`` itself).

_COLLATE = re.compile(r"\bCOLLATE([ =])(\w+)")
_dispatcher: Any = CreateTable.__dict__.get("_compiler_dispatcher")
_previous_mysql_create_table: Any = None if _dispatcher is None else _dispatcher.specs.get("mysql")


@compiles(CreateTable, "mysql")
def _create_table_on_mysql_or_mariadb(create: CreateTable, compiler: DDLCompiler, **kw: Any) -> str:
    if _previous_mysql_create_table is not None:  # keep any hook registered before ours
        text: str = _previous_mysql_create_table(create, compiler, **kw)
    else:
        text = compiler.visit_create_table(create, **kw)  # type: ignore[no-untyped-call,unused-ignore]
    options = create.element.kwargs
    mysql_collation, mariadb_collation = options.get("mysql_collate"), options.get("mariadb_collate")
    if not getattr(compiler.dialect, "is_mariadb", False) or not mysql_collation or not mariadb_collation:
        return text
    # The table options follow the column list's closing parenthesis.
    head, parenthesis, tail = text.rpartition(")")

    def swap(match: re.Match[str]) -> str:
        return f"COLLATE{match.group(1)}{mariadb_collation}" if match.group(2) == mysql_collation else match.group(0)

    return head + parenthesis + _COLLATE.sub(swap, tail)
