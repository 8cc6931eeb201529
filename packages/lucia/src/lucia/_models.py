"""The frozen data classes Lucia hands to applications."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = ["Key", "KeyType", "Session", "SessionState", "User"]

SessionState = Literal["active", "idle"]
KeyType = Literal["persistent", "single_use"]


@dataclass(frozen=True, slots=True)
class User:
    """A user: its id and the attributes ``get_user_attributes`` chose to expose."""

    user_id: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Session:
    """A live session.

    ``token`` is the secret the cookie carries; it is ``None`` when the session was
    read back from storage (only its hash is stored). ``session_id`` is what the
    database stores. ``fresh`` is true when the session was just created or renewed,
    which is the signal to set a new cookie.
    """

    session_id: str
    token: str | None
    user_id: str
    active_period_expires_at: datetime
    idle_period_expires_at: datetime
    state: SessionState
    fresh: bool

    def __repr__(self) -> str:
        # The token is a bearer secret: keep it out of logs and tracebacks.
        token = "'**********'" if self.token is not None else "None"
        return (
            f"Session(session_id={self.session_id!r}, token={token}, user_id={self.user_id!r}, "
            f"state={self.state!r}, fresh={self.fresh!r}, "
            f"idle_period_expires_at={self.idle_period_expires_at.isoformat()!r})"
        )


@dataclass(frozen=True, slots=True)
class Key:
    """A way of signing in: ``(provider_id, provider_user_id)`` bound to a user."""

    type: KeyType
    provider_id: str
    provider_user_id: str
    user_id: str
    primary: bool
    password_defined: bool
    expires_at: datetime | None
    is_expired: bool
