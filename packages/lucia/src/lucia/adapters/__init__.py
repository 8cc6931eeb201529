"""The adapter contract: the rows adapters store and the protocols they implement.

Adapters store rows; every policy (expiry, hashing, renewal, grace, throttling) lives
in :class:`lucia.Lucia`. The methods mirror the Lucia-JS 1.x adapter API, plus the few
atomic primitives that API lacked (consuming a single-use key, renewing a session,
capping a user's sessions). Timestamps are integer milliseconds since the Unix epoch,
as in the Lucia-JS 1.x tables.

Errors: an adapter translates the constraint violations it knows into typed
:class:`lucia.LuciaError` subclasses (:func:`constraint_error`) with ``raise ... from
exc``; storage failures (connection lost, server down, timeout) become
:class:`lucia.StorageUnavailableError` / :class:`lucia.StorageTimeoutError` with the
driver's error as ``__cause__``; every other driver error propagates unchanged.

Sessions and renewal: renewing a session gives it a new id (and token). With the grace
window on, the renewed row remembers the id it replaced (``previous_id``) until
``previous_expires``: reads and deletes by that id find the renewed row, so the
replaced token keeps authenticating briefly and revoking it revokes its renewal. A
session table without the columns a feature needs (a Lucia-JS 1.x four-column table)
reports its columns through :meth:`SessionAdapter.session_columns`; the core then turns
that feature off or refuses it at start-up.

A third-party adapter proves itself with :mod:`lucia.testing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Protocol, runtime_checkable

from lucia._errors import LuciaError
from lucia.redaction import SECRET, redacted

__all__ = [
    "SESSION_POLICY_COLUMNS",
    "Adapter",
    "ChallengeRow",
    "KeyRow",
    "PasskeyAdapter",
    "PasskeyCredentialRow",
    "SessionAdapter",
    "SessionAndUserAdapter",
    "SessionRow",
    "TableRole",
    "UserAdapter",
    "UserRow",
    "Violation",
    "constraint_error",
]

#: The session columns Lucia adds to the four Lucia-JS 1.x ones (all nullable or defaulted).
SESSION_POLICY_COLUMNS: tuple[str, ...] = (
    "created_at",
    "persistent",
    "active_period",
    "idle_period",
    "absolute_period",
    "previous_id",
    "previous_expires",
)

#: Which stored record a write targets, for :func:`constraint_error`.
TableRole = Literal["user", "session", "key", "passkey"]


@dataclass(frozen=True, slots=True)
class UserRow:
    """A row of ``auth_user``: the id and every other stored column."""

    id: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


@redacted
@dataclass(frozen=True, slots=True)
class SessionRow:
    """A row of ``auth_session``. Times and periods are epoch / duration milliseconds.

    The first four fields are the Lucia-JS 1.x columns; the others are ``None`` (or
    ``True`` for ``persistent``) where the table lacks their column.

    Attributes:
        id: The stored session id (never printed: it is the token itself on a
            ``hash_session_ids=False`` database).
        user_id: The owner.
        active_expires: End of the active period.
        idle_expires: End of the idle period: the session is dead afterwards.
        created_at: The sign-in time, kept across renewals.
        persistent: False for a browser-session ("remember me: off") cookie.
        active_period: This session's own active period, ``None`` for Lucia's default.
        idle_period: This session's own idle period, ``None`` for Lucia's default.
        absolute_period: This session's own absolute lifetime, ``None`` for Lucia's default.
        previous_id: The id this row replaced when it was renewed (grace window).
        previous_expires: Until when ``previous_id`` still finds this row.
        attributes: The application's own session columns (device, IP address, ...).
    """

    id: str = field(metadata=SECRET)
    user_id: str
    active_expires: int
    idle_expires: int
    created_at: int | None = None
    persistent: bool = True
    active_period: int | None = None
    idle_period: int | None = None
    absolute_period: int | None = None
    previous_id: str | None = field(default=None, metadata=SECRET)
    previous_expires: int | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@redacted
@dataclass(frozen=True, slots=True)
class KeyRow:
    """A row of ``auth_key``. ``expires`` is set only on single-use keys."""

    id: str
    user_id: str
    primary_key: bool
    hashed_password: str | None = field(metadata=SECRET)
    expires: int | None = None


@dataclass(frozen=True, slots=True)
class PasskeyCredentialRow:
    """A stored WebAuthn credential (``auth_passkey``); see ``lucia-webauthn``.

    Attributes:
        id: The credential id, base64url without padding.
        user_id: The owner.
        user_handle: The random WebAuthn user handle of the owner (base64url), the same
            for all of a user's credentials; never the email or the database id.
        public_key: The COSE public key.
        sign_count: The last signature counter seen.
        transports: Transport hints (``"internal"``, ``"usb"``, ...).
        aaguid: The authenticator model's AAGUID (a UUID string).
        backup_eligible: Whether the credential may be synced (a "passkey").
        backed_up: Whether it is synced now.
        name: The user's label for it.
        created_at: Registration time (ms).
        last_used_at: Last successful sign-in (ms), or ``None``.
    """

    id: str
    user_id: str
    user_handle: str
    public_key: bytes
    sign_count: int
    transports: tuple[str, ...] = ()
    aaguid: str = ""
    backup_eligible: bool = False
    backed_up: bool = False
    name: str | None = None
    created_at: int = 0
    last_used_at: int | None = None


@redacted
@dataclass(frozen=True, slots=True)
class ChallengeRow:
    """A pending WebAuthn ceremony (``auth_passkey_challenge``): single-use, expiring.

    Attributes:
        id: The opaque id the application keeps (in a short-lived cookie).
        kind: ``"registration"`` or ``"authentication"``.
        user_id: The user a registration (or a user-scoped sign-in) is for, else ``None``.
        challenge: The challenge sent to the browser, base64url.
        expires: Expiry (ms).
        user_handle: For a registration, the WebAuthn user handle it was begun with.
    """

    id: str = field(metadata=SECRET)
    kind: str
    user_id: str | None
    challenge: str = field(metadata=SECRET)
    expires: int
    user_handle: str | None = None


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
        """Delete a user with its keys and everything else this adapter stores for it.

        Sessions and passkey credentials included, in one transaction (or the store's
        equivalent): when the user row cannot be deleted (an application table
        references it), nothing is deleted. A no-op for an unknown user.
        """

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

    async def session_columns(self) -> frozenset[str] | None:
        """The columns of the session table, or ``None`` when every field is stored (documents).

        The core reads it once at start-up to know which of
        :data:`SESSION_POLICY_COLUMNS` and which application columns exist.
        """

    async def get_session(self, session_id: str) -> SessionRow | None:
        """Return the session whose id is ``session_id``, or whose ``previous_id`` is, or ``None``."""

    async def get_sessions_by_user_id(self, user_id: str) -> list[SessionRow]:
        """Return every stored session of a user, dead ones included (a renewed one once)."""

    async def set_session(self, session: SessionRow, *, max_per_user: int | None = None) -> None:
        """Insert a session, writing the fields its table has columns for.

        With ``max_per_user``, atomically with the insert, delete the user's oldest
        sessions (by ``created_at``) so that at most ``max_per_user`` remain, whatever
        runs concurrently.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_SESSION_ID``, or ``AUTH_INVALID_USER_ID`` for an
                unknown user where the store can check it.
        """

    async def renew_session(self, session_id: str, renewed: SessionRow) -> bool:
        """Atomically replace the session ``session_id`` by ``renewed`` (new id and expiry).

        ``renewed`` carries the new ``id``, expiry and ``previous_id`` /
        ``previous_expires`` (``None`` when grace is off); its other fields are the old
        row's. Returns ``False`` and writes nothing when no session has the id
        ``session_id`` (unknown, revoked, or renewed already): of N concurrent renewals of
        one session at most one returns ``True``, and a revocation that returned before
        or runs concurrently never leaves the renewal alive.
        """

    async def update_session(self, session_id: str, *, active_expires: int, idle_expires: int) -> None:
        """Move a session's expiry (no-op for an unknown session)."""

    async def delete_session(self, session_id: str) -> None:
        """Delete the session whose id or ``previous_id`` is ``session_id`` (no-op if none)."""

    async def delete_sessions_by_user_id(self, user_id: str, *, except_session_id: str | None = None) -> None:
        """Delete every session of a user, or every one but the session named ``except_session_id``.

        The kept session is the one whose id or ``previous_id`` is ``except_session_id``.
        """


@runtime_checkable
class SessionAndUserAdapter(Protocol):
    """The optional capability of reading a session and its user in one round trip."""

    async def get_session_and_user(self, session_id: str) -> tuple[SessionRow, UserRow] | None:
        """Like :meth:`SessionAdapter.get_session`, with the user row; ``None`` if either is missing."""


@runtime_checkable
class PasskeyAdapter(Protocol):
    """Stores WebAuthn credentials and ceremony challenges (for ``lucia-webauthn``)."""

    async def set_passkey_credential(self, credential: PasskeyCredentialRow) -> None:
        """Insert a credential.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_KEY_ID`` for a credential id that exists,
                ``AUTH_INVALID_USER_ID`` for an unknown user.
        """

    async def get_passkey_credential(self, credential_id: str) -> PasskeyCredentialRow | None:
        """Return a credential, or ``None``."""

    async def get_passkey_credentials_by_user_id(self, user_id: str) -> list[PasskeyCredentialRow]:
        """Every credential of a user."""

    async def update_passkey_credential_use(
        self, credential_id: str, *, expected_sign_count: int, sign_count: int, backed_up: bool, last_used_at: int
    ) -> bool:
        """Record a successful use, only if the stored counter is still ``expected_sign_count``.

        Returns ``False`` (nothing written) when it changed meanwhile or the credential is gone.
        """

    async def rename_passkey_credential(self, user_id: str, credential_id: str, name: str) -> bool:
        """Rename a credential of this user; ``False`` if the user has no such credential."""

    async def delete_passkey_credential(self, user_id: str, credential_id: str) -> bool:
        """Delete a credential of this user; ``False`` if the user has no such credential."""

    async def set_challenge(self, challenge: ChallengeRow) -> None:
        """Store a pending ceremony challenge."""

    async def use_challenge(self, challenge_id: str) -> ChallengeRow | None:
        """Atomically delete and return a challenge: of N concurrent calls exactly one gets it."""

    async def delete_expired_challenges(self, now: int) -> None:
        """Delete the challenges whose ``expires`` is at or before ``now`` (ms)."""


@runtime_checkable
class Adapter(UserAdapter, SessionAdapter, Protocol):
    """An adapter that stores users, keys and sessions."""


class Violation(Enum):
    """Which kind of constraint a failed insert broke."""

    PRIMARY_KEY = "primary_key"
    FOREIGN_KEY = "foreign_key"
    OTHER = "other"


_CONSTRAINT_ERRORS: dict[tuple[str, Violation], tuple[str, str]] = {
    ("user", Violation.PRIMARY_KEY): ("AUTH_INVALID_USER_ID", "a user with this id already exists"),
    ("key", Violation.PRIMARY_KEY): ("AUTH_DUPLICATE_KEY_ID", "a key with this id already exists"),
    ("key", Violation.FOREIGN_KEY): ("AUTH_INVALID_USER_ID", "no user has this id"),
    ("session", Violation.PRIMARY_KEY): ("AUTH_DUPLICATE_SESSION_ID", "a session with this id already exists"),
    ("session", Violation.FOREIGN_KEY): ("AUTH_INVALID_USER_ID", "no user has this id"),
    ("passkey", Violation.PRIMARY_KEY): ("AUTH_DUPLICATE_KEY_ID", "a passkey with this credential id already exists"),
    ("passkey", Violation.FOREIGN_KEY): ("AUTH_INVALID_USER_ID", "no user has this id"),
}


def constraint_error(table: TableRole, violation: Violation) -> LuciaError | None:
    """The :class:`LuciaError` for a constraint broken by an insert into ``table``.

    ``None`` means the violation is the application's own (say a unique ``email``
    column) and the driver error should propagate unchanged.
    """
    found = _CONSTRAINT_ERRORS.get((table, violation))
    return None if found is None else LuciaError(found[0], found[1])
