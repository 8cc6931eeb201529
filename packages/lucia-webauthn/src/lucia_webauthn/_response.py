"""Reading the browser's ``PublicKeyCredential.toJSON()`` before anything else touches it.

Pure functions, no I/O: the response is bounded in size, its JSON shape and types are
checked, and every binary field must be strict base64url (the URL-safe alphabet, no
padding, no stray characters, canonical trailing bits). py_webauthn's own decoder is
lenient (it silently drops characters outside the alphabet), so only values that pass
here reach it. What comes out is a plain JSON ``dict`` holding exactly the fields
py_webauthn reads, plus the few values Lucia needs before verification (the credential
id to look up, the user handle, the transports).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lucia_webauthn._errors import WebAuthnResponseError

__all__ = [
    "MAX_CREDENTIAL_ID_BYTES",
    "MAX_RESPONSE_LENGTH",
    "AuthenticationResponse",
    "RegistrationResponse",
    "b64url_decode",
    "b64url_encode",
    "parse_authentication_response",
    "parse_registration_response",
]

#: Longest accepted response: the JSON text, and each base64url field of a mapping (characters).
MAX_RESPONSE_LENGTH = 64 * 1024
#: WebAuthn caps credential ids at 1023 bytes.
MAX_CREDENTIAL_ID_BYTES = 1023
#: WebAuthn caps user handles at 64 bytes.
_MAX_USER_HANDLE_BYTES = 64
_MAX_TRANSPORTS = 16
#: The transports WebAuthn Level 3 defines; others are dropped (hints only, never trusted).
_TRANSPORTS = frozenset({"usb", "nfc", "ble", "smart-card", "hybrid", "internal", "cable"})
_ATTACHMENTS = frozenset({"platform", "cross-platform"})
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(raw: bytes) -> str:
    """Base64url without padding, as WebAuthn's JSON uses."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(value: object, what: str, *, max_length: int = MAX_RESPONSE_LENGTH) -> bytes:
    """Decode strict base64url (no padding, canonical), or raise ``INVALID_RESPONSE``."""
    if not isinstance(value, str):
        raise WebAuthnResponseError(None, f"{what} must be a base64url string")
    if len(value) > max_length:
        raise WebAuthnResponseError(None, f"{what} is too long")
    if len(value) % 4 == 1 or _B64URL.fullmatch(value) is None:
        raise WebAuthnResponseError(None, f"{what} is not base64url")
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if b64url_encode(raw) != value:  # non-zero trailing bits: two spellings of one value
        raise WebAuthnResponseError(None, f"{what} is not canonical base64url")
    return raw


@dataclass(frozen=True, slots=True)
class RegistrationResponse:
    """A registration response of the right shape (not verified yet).

    Attributes:
        credential_id: The credential id (canonical base64url).
        transports: The known transports the browser reported.
        credential: The JSON for ``webauthn.verify_registration_response``.
    """

    credential_id: str
    transports: tuple[str, ...]
    credential: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuthenticationResponse:
    """An authentication response of the right shape (not verified yet).

    Attributes:
        credential_id: The credential id (canonical base64url).
        user_handle: The user handle the authenticator returned (base64url), or ``None``.
        credential: The JSON for ``webauthn.verify_authentication_response``.
    """

    credential_id: str
    user_handle: str | None
    credential: dict[str, Any]


def parse_registration_response(response: object) -> RegistrationResponse:
    """Check the shape of ``navigator.credentials.create()``'s ``toJSON()``.

    Raises:
        WebAuthnResponseError: Not such a response (``INVALID_RESPONSE``).
    """
    inner, credential = _common(response)
    fields = _binary_fields(inner, ("clientDataJSON", "attestationObject"))
    credential["response"] = fields
    transports = _transports(inner.get("transports"))
    if transports:
        fields["transports"] = list(transports)
    return RegistrationResponse(credential_id=credential["id"], transports=transports, credential=credential)


def parse_authentication_response(response: object) -> AuthenticationResponse:
    """Check the shape of ``navigator.credentials.get()``'s ``toJSON()``.

    Raises:
        WebAuthnResponseError: Not such a response (``INVALID_RESPONSE``).
    """
    inner, credential = _common(response)
    fields = _binary_fields(inner, ("clientDataJSON", "authenticatorData", "signature"))
    user_handle = inner.get("userHandle")
    # Browsers send null for a non-discoverable credential; some polyfills send "".
    if user_handle is None or user_handle == "":
        user_handle = None
    else:
        raw = b64url_decode(user_handle, "response.userHandle")
        if len(raw) > _MAX_USER_HANDLE_BYTES:
            raise WebAuthnResponseError(None, "response.userHandle is longer than 64 bytes")
        fields["userHandle"] = user_handle
    credential["response"] = fields
    return AuthenticationResponse(credential_id=credential["id"], user_handle=user_handle, credential=credential)


def _load(response: object) -> Mapping[str, Any]:
    if isinstance(response, str):
        if len(response) > MAX_RESPONSE_LENGTH:
            raise WebAuthnResponseError(None, "the response is too long")
        try:
            response = json.loads(response)
        except (ValueError, RecursionError):
            raise WebAuthnResponseError(None, "the response is not JSON") from None
    if not isinstance(response, Mapping):
        raise WebAuthnResponseError(None, "the response must be a JSON object (PublicKeyCredential.toJSON())")
    return response


def _common(response: object) -> tuple[Mapping[str, Any], dict[str, Any]]:
    outer = _load(response)
    if outer.get("type") != "public-key":
        raise WebAuthnResponseError(None, 'the response\'s type must be "public-key"')
    credential_id = outer.get("id")
    raw_id = b64url_decode(credential_id, "id", max_length=2 * MAX_CREDENTIAL_ID_BYTES)
    if not raw_id or len(raw_id) > MAX_CREDENTIAL_ID_BYTES:
        raise WebAuthnResponseError(None, "id must be 1 to 1023 bytes")
    if outer.get("rawId") != credential_id:
        raise WebAuthnResponseError(None, "rawId must equal id")
    inner = outer.get("response")
    if not isinstance(inner, Mapping):
        raise WebAuthnResponseError(None, "response.response must be a JSON object")
    credential: dict[str, Any] = {"id": credential_id, "rawId": credential_id, "type": "public-key"}
    attachment = outer.get("authenticatorAttachment")
    if attachment is not None and not isinstance(attachment, str):
        raise WebAuthnResponseError(None, "authenticatorAttachment must be a string")
    if attachment in _ATTACHMENTS:
        credential["authenticatorAttachment"] = attachment
    return inner, credential


def _binary_fields(inner: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in names:
        value = inner.get(name)
        if not b64url_decode(value, f"response.{name}"):
            raise WebAuthnResponseError(None, f"response.{name} is empty")
        fields[name] = value
    return fields


def _transports(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > _MAX_TRANSPORTS or not all(isinstance(t, str) for t in value):
        raise WebAuthnResponseError(None, "response.transports must be a short list of strings")
    return tuple(sorted({t for t in value if t in _TRANSPORTS}))
