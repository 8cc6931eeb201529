"""The adapter contract: the rows adapters store and the protocols they implement.

Adapters store rows; every policy (expiry, hashing, renewal) lives in :class:`lucia.Lucia`.
The methods mirror the Lucia-JS 1.x adapter API. Timestamps are integer milliseconds
since the Unix epoch, as in the Lucia-JS 1.x tables.

Errors: an adapter translates the constraint violations it knows into
:class:`lucia.LuciaError` (``AUTH_DUPLICATE_KEY_ID``, ``AUTH_DUPLICATE_SESSION_ID``,
``AUTH_INVALID_USER_ID`` for an unknown or duplicate user id) with ``raise ... from exc``
and lets every other driver error propagate unchanged.

A third-party adapter proves itself with :mod:`lucia.testing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "Adapter",
    "KeyRow",
    "SessionAdapter",
    "SessionAndUserAdapter",
    "SessionRow",
    "UserAdapter",
    "UserRow",
]


@dataclass(frozen=True, slots=True)
class UserRow:
    """A row of ``auth_user``: the id and every other stored column."""

    id: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A row of ``auth_session``. Expiry columns are epoch milliseconds."""

    id: str
    user_id: str
    active_expires: int
    idle_expires: int


@dataclass(frozen=True, slots=True)
class KeyRow:
    """A row of ``auth_key``. ``expires`` is set only on single-use keys."""

    id: str
    user_id: str
    primary_key: bool
    hashed_password: str | None
    expires: int | None

    def __repr__(self) -> str:
        password = "'**********'" if self.hashed_password is not None else "None"
        return (
            f"KeyRow(id={self.id!r}, user_id={self.user_id!r}, primary_key={self.primary_key!r}, "
            f"hashed_password={password}, expires={self.expires!r})"
        )


@runtime_checkable
class UserAdapter(Protocol):
    """Stores users and their keys."""

    async def get_user(self, user_id: str) -> UserRow | None:
        """Return the user row, or ``None``."""

    async def set_user(self, user: UserRow, key: KeyRow | None) -> None:
        """Insert a user and, atomically with it, its primary key.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_KEY_ID`` if the key id exists,
                ``AUTH_INVALID_USER_ID`` if the user id exists. Neither row is left behind.
        """

    async def update_user(self, user_id: str, attributes: Mapping[str, Any]) -> None:
        """Set the given attribute columns of a user (no-op for an unknown user)."""

    async def delete_user(self, user_id: str) -> None:
        """Delete the user row (its keys and sessions are deleted first by the core)."""

    async def get_key(self, key_id: str) -> KeyRow | None:
        """Return the key row, or ``None``."""

    async def get_keys_by_user_id(self, user_id: str) -> list[KeyRow]:
        """Return every key of a user."""

    async def set_key(self, key: KeyRow) -> None:
        """Insert a key.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_KEY_ID`` or ``AUTH_INVALID_USER_ID`` (unknown user).
        """

    async def update_key(self, key_id: str, *, hashed_password: str | None) -> None:
        """Replace the stored password hash of a key (no-op for an unknown key)."""

    async def delete_key(self, key_id: str) -> None:
        """Delete a non-primary key; a primary key is left alone."""

    async def delete_keys_by_user_id(self, user_id: str) -> None:
        """Delete every key of a user, primary ones included."""

    async def use_single_use_key(self, key_id: str) -> KeyRow | None:
        """Atomically delete a single-use key (``expires`` set) and return it.

        Of N concurrent calls for one key exactly one gets the row; the others, and any
        call for a persistent key (which is left untouched), get ``None``.
        """


@runtime_checkable
class SessionAdapter(Protocol):
    """Stores sessions."""

    async def get_session(self, session_id: str) -> SessionRow | None:
        """Return the session row, or ``None``."""

    async def get_sessions_by_user_id(self, user_id: str) -> list[SessionRow]:
        """Return every stored session of a user, dead ones included."""

    async def set_session(self, session: SessionRow) -> None:
        """Insert a session.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_SESSION_ID``, or ``AUTH_INVALID_USER_ID`` for an
                unknown user where the store can check it.
        """

    async def update_session(self, session_id: str, *, active_expires: int, idle_expires: int) -> None:
        """Move a session's expiry (no-op for an unknown session)."""

    async def delete_session(self, session_id: str) -> None:
        """Delete one session (no-op for an unknown one)."""

    async def delete_sessions_by_user_id(self, user_id: str) -> None:
        """Delete every session of a user."""


@runtime_checkable
class SessionAndUserAdapter(Protocol):
    """The optional capability of reading a session and its user in one round trip."""

    async def get_session_and_user(self, session_id: str) -> tuple[SessionRow, UserRow] | None:
        """Return the session row and its user row, or ``None``."""


@runtime_checkable
class Adapter(UserAdapter, SessionAdapter, Protocol):
    """An adapter that stores users, keys and sessions."""
