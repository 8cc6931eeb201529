"""The exceptions of lucia-webauthn: one root under ``LuciaError``, one subclass per code.

``LuciaWebAuthnError`` is the root and is never raised bare: each failure raises the
subclass that owns its code, which keeps a stable :attr:`~lucia.LuciaError.code`. Catch
the type you handle (``except WebAuthnCounterReplayError``) or the root; log the code.
``LuciaWebAuthnError(code)`` still works and builds the subclass that owns ``code``.
No message ever contains a challenge, a challenge id or a signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal, get_args

from lucia import LuciaError

__all__ = [
    "WEBAUTHN_ERROR_CODES",
    "LuciaWebAuthnError",
    "WebAuthnChallengeError",
    "WebAuthnCounterReplayError",
    "WebAuthnErrorCode",
    "WebAuthnResponseError",
    "WebAuthnUnknownCredentialError",
]

WebAuthnErrorCode = Literal["INVALID_CHALLENGE", "INVALID_RESPONSE", "UNKNOWN_CREDENTIAL", "COUNTER_REPLAY"]

#: Every code of lucia-webauthn.
WEBAUTHN_ERROR_CODES: frozenset[str] = frozenset(get_args(WebAuthnErrorCode))

_DEFAULT_MESSAGES: Mapping[str, str] = {
    "INVALID_CHALLENGE": "The passkey ceremony is unknown, used, expired or of another kind; start it again.",
    "INVALID_RESPONSE": "The passkey response could not be verified.",
    "UNKNOWN_CREDENTIAL": "This passkey is not registered here.",
    "COUNTER_REPLAY": "The passkey's signature counter did not advance; the authenticator may be cloned.",
}


class LuciaWebAuthnError(LuciaError, family=True):
    """Every refused passkey ceremony or credential operation (a :class:`lucia.LuciaError`).

    Nothing was written (no credential, no counter update) and no user is returned. Each
    code has its own subclass:

    - ``INVALID_CHALLENGE`` (:class:`WebAuthnChallengeError`): the challenge id is
      malformed, unknown, already used, expired, of the other ceremony, or (registration)
      issued for another user.
    - ``INVALID_RESPONSE`` (:class:`WebAuthnResponseError`): the browser's response is not
      the JSON of a ``PublicKeyCredential``, has strict-base64url junk, answers another
      challenge, comes from a wrong origin or RP ID, has the user-presence or
      user-verification flag missing, a bad signature or attestation, or registers a
      credential that already exists.
    - ``UNKNOWN_CREDENTIAL`` (:class:`WebAuthnUnknownCredentialError`): no such credential,
      or it belongs to another user than the ceremony's.
    - ``COUNTER_REPLAY`` (:class:`WebAuthnCounterReplayError`): the signature is valid but
      the authenticator's signature counter went backwards or did not advance.

    Args:
        code: One of :data:`WEBAUTHN_ERROR_CODES`; a subclass takes its own as the default.
        detail: A human-readable explanation without any secret.
    """

    messages: ClassVar[Mapping[str, str]] = _DEFAULT_MESSAGES

    code: WebAuthnErrorCode

    def __init__(self, code: WebAuthnErrorCode | None = None, detail: str | None = None) -> None:
        # A subclass owns one code; the bare root needs one given (a typo here is a bug).
        super().__init__(code if code is not None else type(self).default_code, detail)


class WebAuthnChallengeError(LuciaWebAuthnError, codes=("INVALID_CHALLENGE",)):
    """The ceremony's challenge id is malformed, unknown, used, expired, of another kind or user."""


class WebAuthnResponseError(LuciaWebAuthnError, codes=("INVALID_RESPONSE",)):
    """The browser's response is malformed or failed verification (origin, RP ID, flags, signature)."""


class WebAuthnUnknownCredentialError(LuciaWebAuthnError, codes=("UNKNOWN_CREDENTIAL",)):
    """No such credential, or it belongs to another user than the ceremony's."""


class WebAuthnCounterReplayError(LuciaWebAuthnError, codes=("COUNTER_REPLAY",)):
    """A valid signature whose counter went backwards or did not advance: a possibly cloned authenticator."""
