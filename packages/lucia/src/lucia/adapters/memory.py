"""An in-process adapter: the reference implementation of the contract.

For tests, prototypes and examples; it keeps nothing across restarts and serves one
process::

    from lucia import Lucia
    from lucia.adapters.memory import MemoryAdapter

    auth = Lucia(adapter=MemoryAdapter())
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lucia._errors import LuciaError
from lucia.adapters import KeyRow, SessionRow, UserRow

__all__ = ["MemoryAdapter"]


class MemoryAdapter:
    """Users, keys and sessions in dictionaries. Every method is atomic (no awaits inside)."""

    def __init__(self) -> None:
        self.users: dict[str, UserRow] = {}
        self.keys: dict[str, KeyRow] = {}
        self.sessions: dict[str, SessionRow] = {}

    async def get_user(self, user_id: str) -> UserRow | None:
        """Return the user row, or ``None``."""
        return self.users.get(user_id)

    async def set_user(self, user: UserRow, key: KeyRow | None) -> None:
        """Insert a user and its primary key, both or neither."""
        if user.id in self.users:
            raise LuciaError("AUTH_INVALID_USER_ID", "a user with this id already exists")
        if key is not None and key.id in self.keys:
            raise LuciaError("AUTH_DUPLICATE_KEY_ID")
        self.users[user.id] = UserRow(id=user.id, attributes=dict(user.attributes))
        if key is not None:
            self.keys[key.id] = key

    async def update_user(self, user_id: str, attributes: Mapping[str, Any]) -> None:
        """Set some attributes of a user."""
        row = self.users.get(user_id)
        if row is not None:
            self.users[user_id] = UserRow(id=user_id, attributes={**row.attributes, **attributes})

    async def delete_user(self, user_id: str) -> None:
        """Delete a user row."""
        self.users.pop(user_id, None)

    async def get_key(self, key_id: str) -> KeyRow | None:
        """Return the key row, or ``None``."""
        return self.keys.get(key_id)

    async def get_keys_by_user_id(self, user_id: str) -> list[KeyRow]:
        """Every key of a user."""
        return [key for key in self.keys.values() if key.user_id == user_id]

    async def set_key(self, key: KeyRow) -> None:
        """Insert a key."""
        if key.user_id not in self.users:
            raise LuciaError("AUTH_INVALID_USER_ID")
        if key.id in self.keys:
            raise LuciaError("AUTH_DUPLICATE_KEY_ID")
        self.keys[key.id] = key

    async def update_key(self, key_id: str, *, hashed_password: str | None) -> None:
        """Replace the password hash of a key."""
        key = self.keys.get(key_id)
        if key is not None:
            self.keys[key_id] = KeyRow(key.id, key.user_id, key.primary_key, hashed_password, key.expires)

    async def delete_key(self, key_id: str) -> None:
        """Delete a non-primary key."""
        key = self.keys.get(key_id)
        if key is not None and not key.primary_key:
            del self.keys[key_id]

    async def delete_keys_by_user_id(self, user_id: str) -> None:
        """Delete every key of a user."""
        for key_id in [k.id for k in self.keys.values() if k.user_id == user_id]:
            del self.keys[key_id]

    async def use_single_use_key(self, key_id: str) -> KeyRow | None:
        """Delete and return a single-use key."""
        key = self.keys.get(key_id)
        if key is None or key.expires is None:
            return None
        return self.keys.pop(key_id)

    async def get_session(self, session_id: str) -> SessionRow | None:
        """Return the session row, or ``None``."""
        return self.sessions.get(session_id)

    async def get_sessions_by_user_id(self, user_id: str) -> list[SessionRow]:
        """Every session of a user."""
        return [s for s in self.sessions.values() if s.user_id == user_id]

    async def set_session(self, session: SessionRow) -> None:
        """Insert a session."""
        if session.user_id not in self.users:
            raise LuciaError("AUTH_INVALID_USER_ID")
        if session.id in self.sessions:
            raise LuciaError("AUTH_DUPLICATE_SESSION_ID")
        self.sessions[session.id] = session

    async def update_session(self, session_id: str, *, active_expires: int, idle_expires: int) -> None:
        """Move a session's expiry."""
        row = self.sessions.get(session_id)
        if row is not None:
            self.sessions[session_id] = SessionRow(row.id, row.user_id, active_expires, idle_expires)

    async def delete_session(self, session_id: str) -> None:
        """Delete one session."""
        self.sessions.pop(session_id, None)

    async def delete_sessions_by_user_id(self, user_id: str) -> None:
        """Delete every session of a user."""
        for session_id in [s.id for s in self.sessions.values() if s.user_id == user_id]:
            del self.sessions[session_id]

    async def get_session_and_user(self, session_id: str) -> tuple[SessionRow, UserRow] | None:
        """The session and its user."""
        session = self.sessions.get(session_id)
        user = None if session is None else self.users.get(session.user_id)
        return None if session is None or user is None else (session, user)
