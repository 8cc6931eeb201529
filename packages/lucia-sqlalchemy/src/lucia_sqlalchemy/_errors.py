"""Which constraint an ``IntegrityError`` broke, read from the driver's own error.

SQLAlchemy wraps every driver's error in :class:`sqlalchemy.exc.IntegrityError`; the
driver's exception is ``.orig``. Each database family reports the broken constraint its
own way, so the decoding is per dialect; what the violation *means* for Lucia lives in
:func:`lucia.adapters.sql.constraint_error`, shared with every SQL adapter.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError

from lucia.adapters.sql import Violation

__all__ = ["violation_of"]

_PG_UNIQUE, _PG_FOREIGN_KEY = "23505", "23503"
_MYSQL_DUPLICATE, _MYSQL_NO_PARENT, _MYSQL_NO_PARENT_OLD = 1062, 1452, 1216


def violation_of(exc: IntegrityError, table: Table, dialect_name: str) -> Violation:
    """The kind of constraint that an insert into ``table`` broke.

    Only the table's primary key and its foreign keys are recognised; anything else
    (say a unique ``email`` column the application added) is :attr:`Violation.OTHER`.
    """
    orig = exc.orig
    if dialect_name == "postgresql":
        return _postgresql(orig, table)
    if dialect_name in ("mysql", "mariadb"):
        return _mysql(orig)
    if dialect_name == "sqlite":
        return _sqlite(orig, table)
    return Violation.OTHER


def _primary_key_names(table: Table) -> set[str]:
    names = {f"{table.name}_pkey"}  # PostgreSQL's default name, and the one lucia_tables() gives
    name = table.primary_key.name
    if isinstance(name, str) and name:
        names.add(name)
    return names


def _postgresql(orig: BaseException | None, table: Table) -> Violation:
    # psycopg 3 errors carry ``sqlstate`` and ``diag``; SQLAlchemy's asyncpg adapter
    # carries ``sqlstate`` and keeps asyncpg's error (with ``constraint_name``) as the cause.
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate == _PG_FOREIGN_KEY:
        return Violation.FOREIGN_KEY
    if sqlstate == _PG_UNIQUE:
        diag = getattr(orig, "diag", None)
        constraint = getattr(diag, "constraint_name", None) or getattr(
            getattr(orig, "__cause__", None), "constraint_name", None
        )
        if constraint in _primary_key_names(table):
            return Violation.PRIMARY_KEY
    return Violation.OTHER


def _mysql(orig: BaseException | None) -> Violation:
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    errno = args[0] if args else None
    message = str(args[1]) if len(args) > 1 else ""
    if errno == _MYSQL_DUPLICATE:
        # MariaDB: "Duplicate entry 'x' for key 'PRIMARY'"; MySQL 8: "... for key 'auth_key.PRIMARY'".
        if message.endswith(("'PRIMARY'", ".PRIMARY'")):
            return Violation.PRIMARY_KEY
        return Violation.OTHER
    if errno in (_MYSQL_NO_PARENT, _MYSQL_NO_PARENT_OLD):
        return Violation.FOREIGN_KEY
    return Violation.OTHER


def _sqlite(orig: BaseException | None, table: Table) -> Violation:
    message = str(orig)
    if message.startswith("FOREIGN KEY constraint failed"):
        return Violation.FOREIGN_KEY
    if message == f"UNIQUE constraint failed: {table.name}.id":
        return Violation.PRIMARY_KEY
    return Violation.OTHER
