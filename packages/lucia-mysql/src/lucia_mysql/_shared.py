"""What both MySQL adapters share: error numbers, their meaning, and retrying deadlock victims.

One place for the async adapter (aiomysql) and its blocking twin (PyMySQL, which
aiomysql wraps: the error classes are the same).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import pymysql

from lucia import StorageTimeoutError, StorageUnavailableError
from lucia.adapters import ChallengeRow, KeyRow, SessionRow, UserRow
from lucia.adapters.sql import SQLAdapter

__all__ = ["DeadlockRetries", "raise_storage_error"]

_T = TypeVar("_T")

#: pymysql.constants.CLIENT.FOUND_ROWS: UPDATE reports the rows it matched, as on the other databases.
_FOUND_ROWS = 1 << 1
#: Client error numbers (2003 can't connect, 2006 server gone, 2013 lost connection, ...)
#: and server ones (1053 shutdown, 1077 normal shutdown, 1152/1158-1161 aborted or network
#: errors, 1927 connection killed, 2055 lost connection) that mean "the server cannot be used now".
_UNAVAILABLE = frozenset({1040, 1053, 1077, 1152, 1158, 1159, 1160, 1161, 1927, 2002, 2003, 2006, 2013, 2055})
#: ER_LOCK_DEADLOCK, and how often a statement or transaction that lost a deadlock is run again.
_DEADLOCK = 1213
_DEADLOCK_RETRIES = 3
#: 1205 lock wait timeout, 1969 MariaDB max_statement_time, 3024 MySQL max_execution_time.
_TIMEOUT = frozenset({1205, 1969, 3024})


class DeadlockRetries(SQLAdapter):
    """The contract's statements and transactions, each run again when InnoDB picked it as a deadlock's victim."""

    async def _retrying(self, attempt: Callable[[], Awaitable[_T]]) -> _T:
        """Run a statement or a whole transaction again when InnoDB chose it as a deadlock's victim.

        InnoDB locks index entries, so writes on one session's rows (a renewal changing its
        id, a revocation by id or previous id, a user's deletion) can deadlock. The victim
        was rolled back whole, so running it again is simply a later turn.
        """
        for _ in range(_DEADLOCK_RETRIES):
            try:
                return await attempt()
            except pymysql.err.OperationalError as exc:
                if not exc.args or exc.args[0] != _DEADLOCK:
                    raise
        return await attempt()

    # The contract's transactions (lucia.adapters.sql), each retried as a whole after a deadlock.

    async def set_user(self, user: UserRow, key: KeyRow | None) -> None:
        """Insert a user and its primary key in one transaction."""
        base = super().set_user
        await self._retrying(lambda: base(user, key))

    async def delete_user(self, user_id: str) -> None:
        """Delete a user, its sessions, keys and passkeys in one transaction."""
        base = super().delete_user
        await self._retrying(lambda: base(user_id))

    async def set_session(self, session: SessionRow, *, max_per_user: int | None = None) -> None:
        """Insert a session; with ``max_per_user``, drop the oldest beyond it in the same transaction."""
        base = super().set_session
        await self._retrying(lambda: base(session, max_per_user=max_per_user))

    async def use_single_use_key(self, key_id: str) -> KeyRow | None:
        """Delete and return a single-use key (``DELETE ... RETURNING``, or lock and delete)."""
        base = super().use_single_use_key
        return await self._retrying(lambda: base(key_id))

    async def use_challenge(self, challenge_id: str) -> ChallengeRow | None:
        """Delete and return a challenge atomically."""
        base = super().use_challenge
        return await self._retrying(lambda: base(challenge_id))


def raise_storage_error(exc: BaseException) -> NoReturn:
    """Raise the storage error for a driver error that says the server is down or too slow, else ``exc``."""
    if isinstance(exc, TimeoutError):
        raise StorageTimeoutError(None, "MySQL did not answer within statement_timeout + 1 s") from exc
    number = exc.args[0] if isinstance(exc, pymysql.err.Error) and exc.args else None
    if number in _TIMEOUT:
        raise StorageTimeoutError(None, "MySQL stopped a statement that ran past statement_timeout") from exc
    lost = isinstance(exc, pymysql.err.InterfaceError) or (
        isinstance(exc, pymysql.err.InternalError) and "Packet sequence" in str(exc)
    )
    if number in _UNAVAILABLE or lost or (isinstance(exc, OSError) and not isinstance(exc, pymysql.err.Error)):
        raise StorageUnavailableError(None, "MySQL could not be reached or dropped the connection") from exc
    raise exc
