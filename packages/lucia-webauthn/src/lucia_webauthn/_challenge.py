"""Ceremony challenges: generated, stored and read back. Pure: no I/O.

A ceremony has two random values:

- the **challenge** (256 bits) the browser signs over; it is sent in the options and
  comes back inside ``clientDataJSON``;
- the **challenge id** (256 bits) the application keeps, in a short-lived HttpOnly
  cookie, to find the ceremony again. Only its SHA-256 is stored, so a dump of the
  challenge table gives no usable handle (as session ids, SECURITY S2).

A registration also stores the user handle it sent (``ChallengeRow.user_handle``), so
that finishing it stores the handle the authenticator actually keeps.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from lucia_webauthn._errors import WebAuthnChallengeError, WebAuthnResponseError
from lucia_webauthn._response import b64url_decode, b64url_encode

__all__ = [
    "CHALLENGE_BYTES",
    "USER_HANDLE_BYTES",
    "CeremonyKind",
    "StoredChallenge",
    "check_challenge_id",
    "new_challenge",
    "new_challenge_id",
    "new_user_handle",
    "read_stored_challenge",
    "stored_challenge_id",
]

CeremonyKind = Literal["registration", "authentication"]

#: Random bytes of a challenge (WebAuthn asks for at least 16).
CHALLENGE_BYTES = 32
#: Random bytes of a new user handle (WebAuthn allows up to 64).
USER_HANDLE_BYTES = 32
_CHALLENGE_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def new_challenge() -> bytes:
    """A fresh challenge from :mod:`secrets`."""
    return secrets.token_bytes(CHALLENGE_BYTES)


def new_challenge_id() -> str:
    """A fresh challenge id from :mod:`secrets` (43 base64url characters)."""
    return secrets.token_urlsafe(32)


def new_user_handle() -> str:
    """A fresh random user handle (base64url), for a user's first passkey."""
    return b64url_encode(secrets.token_bytes(USER_HANDLE_BYTES))


def check_challenge_id(challenge_id: object) -> str:
    """Return ``challenge_id`` if it has the shape of one, else raise ``INVALID_CHALLENGE``.

    Checked before any query: garbage from a cookie never reaches the store.
    """
    if not isinstance(challenge_id, str) or _CHALLENGE_ID.fullmatch(challenge_id) is None:
        raise WebAuthnChallengeError(None, "malformed challenge id")
    return challenge_id


def stored_challenge_id(challenge_id: str) -> str:
    """What the store keeps for a challenge id: its SHA-256, hex."""
    return hashlib.sha256(challenge_id.encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredChallenge:
    """The ``challenge`` column of a ceremony, decoded.

    Attributes:
        challenge: The bytes the browser must have signed over.
        user_handle: The user handle a registration sent (base64url); ``None`` for sign-in.
    """

    challenge: bytes
    user_handle: str | None = None

    def encode(self) -> str:
        """The value stored in ``ChallengeRow.challenge``."""
        return b64url_encode(self.challenge)


def read_stored_challenge(value: str, user_handle: str | None) -> StoredChallenge:
    """Decode a stored ceremony (``ChallengeRow.challenge`` and ``.user_handle``); damaged is unusable."""
    try:
        raw = b64url_decode(value, "stored challenge")
        if user_handle:
            b64url_decode(user_handle, "stored user handle")
    except WebAuthnResponseError:
        raise WebAuthnChallengeError(None, "the stored ceremony is damaged") from None
    return StoredChallenge(challenge=raw, user_handle=user_handle or None)
