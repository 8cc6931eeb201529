"""An in-process adapter: the reference implementation of the contract.

For tests, prototypes and examples; it keeps nothing across restarts and serves one
process::

    from lucia import Lucia
    from lucia.adapters.memory import MemoryAdapter

    auth = Lucia(adapter=MemoryAdapter())
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from lucia._errors import LuciaError
from lucia.adapters import ChallengeRow, KeyRow, PasskeyCredentialRow, SessionRow, UserRow
from lucia.throttle import MemoryThrottleStore, _InProcessStore

__all__ = ["MemoryAdapter"]


class MemoryAdapter(_InProcessStore):
    """Users, keys, sessions and passkeys in dictionaries.

    Every method is atomic: none awaits inside, so nothing interleaves with it on the
    event loop.
    """

    def __init__(self) -> None:
        self.users: dict[str, UserRow] = {}
        self.keys: dict[str, KeyRow] = {}
        self.sessions: dict[str, SessionRow] = {}
        self.passkeys: dict[str, PasskeyCredentialRow] = {}
        self.challenges: dict[str, ChallengeRow] = {}
        self._throttle = MemoryThrottleStore()

    def __repr__(self) -> str:
        return "MemoryAdapter()"

    def throttle_store(self) -> MemoryThrottleStore:
        """The throttle store that lives with this adapter (one process)."""
        return self._throttle

    # -- users -----------------------------------------------------------------------

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
        """Delete a user with its keys, sessions and passkeys."""
        for table in (self.keys, self.sessions, self.passkeys):
            for row_id in [r.id for r in table.values() if r.user_id == user_id]:
                del table[row_id]
        self.users.pop(user_id, None)

    # -- keys ------------------------------------------------------------------------

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
            self.keys[key_id] = replace(key, hashed_password=hashed_password)

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

    # -- sessions --------------------------------------------------------------------

    async def session_columns(self) -> frozenset[str] | None:
        """``None``: every field is stored."""
        return None

    def _find(self, session_id: str) -> SessionRow | None:
        found = self.sessions.get(session_id)
        if found is not None:
            return found
        return next((r for r in self.sessions.values() if r.previous_id == session_id), None)

    async def get_session(self, session_id: str) -> SessionRow | None:
        """The session with this id or previous id, or ``None``."""
        return self._find(session_id)

    async def get_sessions_by_user_id(self, user_id: str) -> list[SessionRow]:
        """Every session of a user."""
        return [s for s in self.sessions.values() if s.user_id == user_id]

    async def set_session(self, session: SessionRow, *, max_per_user: int | None = None) -> None:
        """Insert a session, then drop the user's oldest ones beyond ``max_per_user``."""
        if session.user_id not in self.users:
            raise LuciaError("AUTH_INVALID_USER_ID")
        if session.id in self.sessions:
            raise LuciaError("AUTH_DUPLICATE_SESSION_ID")
        self.sessions[session.id] = session
        if max_per_user is not None:
            mine = sorted(await self.get_sessions_by_user_id(session.user_id), key=lambda r: r.created_at or 0)
            for old in mine[: max(0, len(mine) - max_per_user)]:
                del self.sessions[old.id]

    async def renew_session(self, session_id: str, renewed: SessionRow) -> bool:
        """Replace a session by its renewal; ``False`` if it is gone."""
        if self.sessions.pop(session_id, None) is None:
            return False
        self.sessions[renewed.id] = renewed
        return True

    async def update_session(self, session_id: str, *, active_expires: int, idle_expires: int) -> None:
        """Move a session's expiry."""
        row = self.sessions.get(session_id)
        if row is not None:
            self.sessions[session_id] = replace(row, active_expires=active_expires, idle_expires=idle_expires)

    async def delete_session(self, session_id: str) -> None:
        """Delete the session with this id or previous id."""
        row = self._find(session_id)
        if row is not None:
            del self.sessions[row.id]

    async def delete_sessions_by_user_id(self, user_id: str, *, except_session_id: str | None = None) -> None:
        """Delete every session of a user but the one named ``except_session_id``."""
        for row in await self.get_sessions_by_user_id(user_id):
            if except_session_id is None or except_session_id not in (row.id, row.previous_id):
                del self.sessions[row.id]

    async def get_session_and_user(self, session_id: str) -> tuple[SessionRow, UserRow] | None:
        """The session and its user."""
        session = self._find(session_id)
        user = None if session is None else self.users.get(session.user_id)
        return None if session is None or user is None else (session, user)

    # -- passkeys --------------------------------------------------------------------

    async def set_passkey_credential(self, credential: PasskeyCredentialRow) -> None:
        """Insert a credential."""
        if credential.user_id not in self.users:
            raise LuciaError("AUTH_INVALID_USER_ID")
        if credential.id in self.passkeys:
            raise LuciaError("AUTH_DUPLICATE_KEY_ID", "a passkey with this credential id already exists")
        self.passkeys[credential.id] = credential

    async def get_passkey_credential(self, credential_id: str) -> PasskeyCredentialRow | None:
        """Return a credential, or ``None``."""
        return self.passkeys.get(credential_id)

    async def get_passkey_credentials_by_user_id(self, user_id: str) -> list[PasskeyCredentialRow]:
        """Every credential of a user."""
        return [c for c in self.passkeys.values() if c.user_id == user_id]

    async def update_passkey_credential_use(
        self, credential_id: str, *, expected_sign_count: int, sign_count: int, backed_up: bool, last_used_at: int
    ) -> bool:
        """Record a use if the counter did not move meanwhile."""
        found = self.passkeys.get(credential_id)
        if found is None or found.sign_count != expected_sign_count:
            return False
        self.passkeys[credential_id] = replace(
            found, sign_count=sign_count, backed_up=backed_up, last_used_at=last_used_at
        )
        return True

    async def rename_passkey_credential(self, user_id: str, credential_id: str, name: str) -> bool:
        """Rename a credential of this user."""
        found = self.passkeys.get(credential_id)
        if found is None or found.user_id != user_id:
            return False
        self.passkeys[credential_id] = replace(found, name=name)
        return True

    async def delete_passkey_credential(self, user_id: str, credential_id: str) -> bool:
        """Delete a credential of this user."""
        found = self.passkeys.get(credential_id)
        if found is None or found.user_id != user_id:
            return False
        del self.passkeys[credential_id]
        return True

    async def set_challenge(self, challenge: ChallengeRow) -> None:
        """Store a challenge."""
        self.challenges[challenge.id] = challenge

    async def use_challenge(self, challenge_id: str) -> ChallengeRow | None:
        """Delete and return a challenge."""
        return self.challenges.pop(challenge_id, None)

    async def delete_expired_challenges(self, now: int) -> None:
        """Delete expired challenges."""
        for challenge_id in [c.id for c in self.challenges.values() if c.expires <= now]:
            del self.challenges[challenge_id]
