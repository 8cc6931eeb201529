"""What a psycopg error means for Lucia: one place for the async adapter and its blocking twin."""

from __future__ import annotations

from typing import Any

import psycopg
import psycopg.errors

from lucia import StorageError, StorageTimeoutError, StorageUnavailableError

__all__ = ["result_names", "storage_error"]

#: SQLSTATE classes and codes that mean "the server cannot be used now" rather than "bad SQL".
_UNAVAILABLE_STATES = ("08", "53", "57P")
_TIMEOUT_STATES = frozenset({"57014", "55P03"})  # query_canceled (statement_timeout), lock_not_available
#: psycopg's own "connection timeout expired" (3.2+).
_CONNECTION_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    error for error in (getattr(psycopg.errors, "ConnectionTimeout", None),) if error is not None
)


def storage_error(exc: psycopg.Error) -> StorageError | None:
    """The storage error for a driver error that says the server is down or too slow, else ``None``."""
    state = exc.sqlstate
    if state in _TIMEOUT_STATES or isinstance(exc, _CONNECTION_TIMEOUT):
        return StorageTimeoutError(None, "PostgreSQL cancelled a statement that ran past statement_timeout")
    if isinstance(exc, psycopg.OperationalError) and (state is None or state.startswith(_UNAVAILABLE_STATES)):
        return StorageUnavailableError(None, "PostgreSQL could not be reached or dropped the connection")
    return None


def result_names(
    cursor: psycopg.Cursor[Any] | psycopg.AsyncCursor[Any], conn: psycopg.BaseConnection[Any]
) -> list[str]:
    """The column names of a cursor's result, read off the raw result (cheaper than ``cursor.description``)."""
    result = cursor.pgresult
    assert result is not None
    encoding = conn.info.encoding
    return [(result.fname(i) or b"").decode(encoding) for i in range(result.nfields)]
