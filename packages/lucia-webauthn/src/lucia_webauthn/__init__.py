"""Passkeys (WebAuthn) for Lucia: sign-up and sign-in without a password, or a second factor.

::

    from lucia_webauthn import Passkeys

    passkeys = Passkeys(auth, rp_id="example.com", rp_name="Example", origins=["https://example.com"])
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada@example.com")
    credential = await passkeys.finish_registration(user.user_id, challenge_id, posted_json)
    options, challenge_id = await passkeys.begin_authentication()
    user, credential = await passkeys.finish_authentication(challenge_id, posted_json)

Verification is py_webauthn's; storage is the auth's adapter (``lucia.adapters.PasskeyAdapter``).
"""

from lucia_webauthn._challenge import CeremonyKind
from lucia_webauthn._config import Requirement
from lucia_webauthn._credential import PasskeyCredential
from lucia_webauthn._errors import (
    WEBAUTHN_ERROR_CODES,
    LuciaWebAuthnError,
    WebAuthnChallengeError,
    WebAuthnCounterReplayError,
    WebAuthnErrorCode,
    WebAuthnResponseError,
    WebAuthnUnknownCredentialError,
)
from lucia_webauthn._passkeys import CHALLENGE_COOKIE_NAMES, Passkeys
from lucia_webauthn._version import __version__

__all__ = [
    "CHALLENGE_COOKIE_NAMES",
    "WEBAUTHN_ERROR_CODES",
    "CeremonyKind",
    "LuciaWebAuthnError",
    "PasskeyCredential",
    "Passkeys",
    "Requirement",
    "WebAuthnChallengeError",
    "WebAuthnCounterReplayError",
    "WebAuthnErrorCode",
    "WebAuthnResponseError",
    "WebAuthnUnknownCredentialError",
    "__version__",
]
