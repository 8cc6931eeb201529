"""What the application sees of a stored passkey."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from lucia.adapters import PasskeyCredentialRow

__all__ = ["PasskeyCredential"]


@dataclass(frozen=True, slots=True)
class PasskeyCredential:
    """A registered passkey (WebAuthn credential) of a user.

    It holds nothing secret: the public key and the user handle stay in storage.

    Attributes:
        credential_id: The credential id, base64url without padding (what the browser
            calls ``id``); pass it to :meth:`~lucia_webauthn.Passkeys.rename_credential`
            and :meth:`~lucia_webauthn.Passkeys.delete_credential`.
        user_id: The owner.
        name: The user's label for it (``"Laptop"``), or ``None``.
        sign_count: The last signature counter seen (0 for most synced passkeys).
        transports: How the browser can reach the authenticator (``"internal"``,
            ``"hybrid"``, ``"usb"``...), as reported at registration.
        aaguid: The authenticator model's AAGUID (all zeros when not disclosed).
        backed_up: Whether the credential is synced to a cloud account now.
        created_at: When it was registered (UTC).
        last_used_at: Its last successful sign-in (UTC), or ``None``.
    """

    credential_id: str
    user_id: str
    name: str | None
    sign_count: int
    transports: tuple[str, ...]
    aaguid: str
    backed_up: bool
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def from_row(cls, row: PasskeyCredentialRow) -> PasskeyCredential:
        """The public view of a stored row."""
        return cls(
            credential_id=row.id,
            user_id=row.user_id,
            name=row.name,
            sign_count=row.sign_count,
            transports=tuple(row.transports),
            aaguid=row.aaguid,
            backed_up=row.backed_up,
            created_at=_datetime(row.created_at),
            last_used_at=None if row.last_used_at is None else _datetime(row.last_used_at),
        )


def _datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
