"""The three Lucia tables as SQLAlchemy Core ``Table`` objects.

Column names and types follow the shared DDL of :mod:`lucia.adapters.sql` (and so the
Lucia-JS 1.x tables): a database created by ``create_schema()`` of this package, by
``lucia-postgresql`` / ``lucia-mysql`` / ``lucia-sqlite`` or by ``python -m lucia schema``
is the same database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeEngine

from lucia.adapters.sql import TableNames

__all__ = ["LuciaTables", "lucia_tables"]

_MYSQL = ("mysql", "mariadb")
#: MySQL/MariaDB table options: 4-byte UTF-8 and a binary collation. The collation is
#: made NO PAD when the table is created (:func:`_no_pad_collation`), so that ids compare
#: exactly: ``email:Bob``, ``email:bob`` and ``email:bob `` are three keys.
_MYSQL_OPTIONS: dict[str, Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}


def _no_pad_collation(table: Table, connection: Any, **_: Any) -> None:
    """Pick the server's binary NO PAD collation just before ``CREATE TABLE``.

    ``utf8mb4_bin`` ignores trailing spaces; the NO PAD one has a different name on
    MariaDB (``utf8mb4_nopad_bin``) and MySQL 8 (``utf8mb4_0900_bin``), known only once
    connected, the same choice ``lucia.adapters.sql.MARIADB`` / ``MYSQL`` make.
    """
    dialect = connection.dialect
    if dialect.name in _MYSQL:
        collation = "utf8mb4_nopad_bin" if getattr(dialect, "is_mariadb", False) else "utf8mb4_0900_bin"
        table.dialect_kwargs[f"{dialect.name}_collate"] = collation


def _id_type(mysql_length: int) -> TypeEngine[str]:
    """TEXT on PostgreSQL and SQLite, VARCHAR(n) on MySQL and anywhere else."""
    return String(mysql_length).with_variant(Text(), "postgresql", "sqlite")


def _long_text() -> TypeEngine[str]:
    """TEXT, or LONGTEXT on MySQL/MariaDB (whose TEXT stops at 64 KB)."""
    return Text().with_variant(mysql.LONGTEXT(), *_MYSQL)


def _millis() -> TypeEngine[int]:
    """BIGINT epoch milliseconds (INTEGER on SQLite, as its DDL spells it)."""
    return BigInteger().with_variant(Integer(), "sqlite")


def _flag() -> TypeEngine[bool]:
    """BOOLEAN (INTEGER on SQLite, as its DDL spells it)."""
    return Boolean().with_variant(Integer(), "sqlite")


@dataclass(frozen=True, slots=True)
class LuciaTables:
    """The user, session and key tables that :class:`SQLAlchemyAdapter` reads and writes.

    Build it with :func:`lucia_tables`; the tables belong to :attr:`metadata`.

    Attributes:
        user: ``auth_user``: ``id`` and one column per user attribute.
        session: ``auth_session``: ``id``, ``user_id``, ``active_expires``, ``idle_expires``.
        key: ``auth_key``: ``id``, ``user_id``, ``primary_key``, ``hashed_password``, ``expires``.
    """

    user: Table
    session: Table
    key: Table

    @property
    def metadata(self) -> MetaData:
        """The ``MetaData`` the three tables are attached to."""
        return self.user.metadata

    def __iter__(self) -> Iterator[Table]:
        """Iterate over the tables in creation order: user, session, key."""
        return iter((self.user, self.session, self.key))


def _split(name: str) -> tuple[str | None, str]:
    schema, _, bare = name.rpartition(".")
    return schema or None, bare


def lucia_tables(
    metadata: MetaData | None = None,
    *,
    user_table: str = "auth_user",
    session_table: str = "auth_session",
    key_table: str = "auth_key",
    user_columns: Iterable[Column[Any]] = (),
) -> LuciaTables:
    """Define Lucia's three tables on ``metadata`` (Alembic autogenerate then sees them).

    Example::

        metadata = MetaData()
        tables = lucia_tables(metadata, user_columns=[Column("username", String(255), unique=True)])
        adapter = SQLAlchemyAdapter(engine, tables=tables)

    Args:
        metadata: The application's ``MetaData``; a new one if omitted.
        user_table: Name of the user table, optionally schema-qualified (``"auth.user"``).
        session_table: Name of the session table.
        key_table: Name of the key table.
        user_columns: Extra columns of the user table, one per user attribute. Each
            ``Column`` object is attached to the table, so it must be a new one.

    Returns:
        The three tables.

    Raises:
        LuciaError: ``AUTH_INVALID_INPUT`` if a table name is not a plain identifier.
    """
    TableNames(user_table, session_table, key_table)  # the same name rules as every SQL adapter
    metadata = MetaData() if metadata is None else metadata
    (user_schema, user_name), (session_schema, session_name), (key_schema, key_name) = (
        _split(user_table),
        _split(session_table),
        _split(key_table),
    )
    user = Table(
        user_name,
        metadata,
        Column("id", _id_type(255), nullable=False),
        *user_columns,
        PrimaryKeyConstraint("id", name=f"{user_name}_pkey"),
        schema=user_schema,
        **_MYSQL_OPTIONS,
    )
    session = Table(
        session_name,
        metadata,
        Column("id", _id_type(127), nullable=False),
        Column("user_id", _id_type(255), nullable=False),
        Column("active_expires", _millis(), nullable=False),
        Column("idle_expires", _millis(), nullable=False),
        PrimaryKeyConstraint("id", name=f"{session_name}_pkey"),
        ForeignKeyConstraint(["user_id"], [user.c.id], name=f"{session_name}_user_id_fkey"),
        Index(f"{session_name}_user_id_idx", "user_id"),
        schema=session_schema,
        **_MYSQL_OPTIONS,
    )
    key = Table(
        key_name,
        metadata,
        Column("id", _id_type(255), nullable=False),
        Column("user_id", _id_type(255), nullable=False),
        Column("primary_key", _flag(), nullable=False),
        Column("hashed_password", _long_text(), nullable=True),
        Column("expires", _millis(), nullable=True),
        PrimaryKeyConstraint("id", name=f"{key_name}_pkey"),
        ForeignKeyConstraint(["user_id"], [user.c.id], name=f"{key_name}_user_id_fkey"),
        Index(f"{key_name}_user_id_idx", "user_id"),
        schema=key_schema,
        **_MYSQL_OPTIONS,
    )
    for table in (user, session, key):
        event.listen(table, "before_create", _no_pad_collation)
    return LuciaTables(user=user, session=session, key=key)
