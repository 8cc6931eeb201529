"""The frozen data classes Lucia hands to applications."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from lucia.redaction import SECRET, redacted

__all__ = ["Key", "KeyType", "Session", "SessionState", "User"]

SessionState = Literal["active", "idle"]
KeyType = Literal["persistent", "single_use"]


@dataclass(frozen=True, slots=True)
class User:
    """A user: its id and the attributes ``get_user_attributes`` chose to expose."""

    user_id: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


@redacted
@dataclass(frozen=True, slots=True)
class Session:
    """A live session.

    Attributes:
        session_id: What the database stores (SHA-256 of the token, or the token itself
            with ``hash_session_ids=False``). Pass it to :meth:`lucia.Lucia.invalidate_session`.
        token: The secret the cookie carries; ``None`` when the session was read back
            from storage (only its hash is stored). Never printed.
        user_id: The user the session belongs to.
        active_period_expires_at: Until then the session is *active*.
        idle_period_expires_at: Until then the session is *idle* (and renewed when used);
            afterwards it is dead.
        state: ``"active"`` or ``"idle"``.
        fresh: True when the session was just created or renewed: set a new cookie.
        created_at: When the user signed in (kept across renewals), or ``None`` where the
            session table has no ``created_at`` column (a Lucia-JS 1.x table).
        attributes: The session's own stored columns (device, IP address, ...) after
            ``get_session_attributes``; ``{}`` when there are none.
        persistent: False for a "remember me: off" session: its cookie has no ``Max-Age``
            and ends with the browser session.
    """

    session_id: str = field(metadata=SECRET)
    token: str | None = field(metadata=SECRET)
    user_id: str
    active_period_expires_at: datetime
    idle_period_expires_at: datetime
    state: SessionState
    fresh: bool
    created_at: datetime | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    persistent: bool = True


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
