"""What a ``sqlite3`` error means for Lucia: one place for both the async adapter and its twin."""

from __future__ import annotations

import sqlite3
from typing import NoReturn

from lucia import StorageTimeoutError, StorageUnavailableError
from lucia.adapters import TableRole, constraint_error
from lucia.adapters.sql import SQLITE

__all__ = ["raise_storage_error", "translate_integrity_error"]


def raise_storage_error(exc: sqlite3.Error) -> NoReturn:
    """A locked database is a timeout; a file that cannot be opened or read is unavailable.

    A schema or programming error (no such table or column, a syntax error) propagates as it is.
    """
    message = str(exc).lower()
    if "locked" in message or "busy" in message:
        raise StorageTimeoutError(None, "the SQLite database stayed locked by another connection") from exc
    if "no such" in message or "syntax" in message or "has no column" in message:
        raise exc
    raise StorageUnavailableError(None, "the SQLite database could not be used") from exc


def translate_integrity_error(exc: sqlite3.IntegrityError, table: TableRole | None) -> NoReturn:
    """The typed error for a constraint Lucia knows; the application's own constraints propagate."""
    error = None if table is None else constraint_error(table, SQLITE.violation(exc))
    if error is None:
        raise exc
    raise error from exc
