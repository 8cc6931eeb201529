"""Attestation and assertion verification, all of it by py_webauthn. Pure: no I/O.

py_webauthn checks the client data (type, challenge, origin), the RP ID hash, the
user-presence and user-verification flags, the backup flags, the COSE key and
algorithm, the attestation statement and the signature. Lucia adds policy only:
a response from a cross-origin iframe is refused, the attested credential id must be
the one the browser reported, the backup-eligibility of a credential cannot change, and
the signature counter is checked by the caller after the signature (so a forged
response can never raise a clone alarm).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from webauthn import verify_authentication_response, verify_registration_response
from webauthn.helpers import parse_client_data_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import CredentialDeviceType

from lucia_webauthn._errors import WebAuthnResponseError
from lucia_webauthn._response import AuthenticationResponse, RegistrationResponse, b64url_decode, b64url_encode

__all__ = ["Asserted", "Ceremony", "Registered", "verify_assertion", "verify_registration"]

_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class Registered:
    """What a verified registration gives to store."""

    credential_id: str
    public_key: bytes
    sign_count: int
    aaguid: str
    backup_eligible: bool
    backed_up: bool


@dataclass(frozen=True, slots=True)
class Asserted:
    """What a verified assertion reports."""

    sign_count: int
    backup_eligible: bool
    backed_up: bool


@dataclass(frozen=True, slots=True)
class Ceremony:
    """What a response must answer: the stored challenge, this relying party and its UV policy."""

    challenge: bytes
    rp_id: str
    origins: list[str]
    require_user_verification: bool


def verify_registration(response: RegistrationResponse, ceremony: Ceremony) -> Registered:
    """Verify a registration response against its ceremony.

    Raises:
        WebAuthnResponseError: It failed any check (``INVALID_RESPONSE``).
    """
    verified = _verified(
        response.credential,
        lambda: verify_registration_response(
            credential=response.credential,
            expected_challenge=ceremony.challenge,
            expected_rp_id=ceremony.rp_id,
            expected_origin=ceremony.origins,
            require_user_presence=True,
            require_user_verification=ceremony.require_user_verification,
        ),
        failed="the registration failed verification",
        malformed="the registration response is malformed",
    )
    credential_id = b64url_encode(verified.credential_id)
    if credential_id != response.credential_id:
        raise WebAuthnResponseError(None, "the attested credential id differs from the response's id")
    return Registered(
        credential_id=credential_id,
        public_key=bytes(verified.credential_public_key),
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
    )


def verify_assertion(
    response: AuthenticationResponse, ceremony: Ceremony, *, public_key: bytes, backup_eligible: bool
) -> Asserted:
    """Verify an authentication response against its ceremony and the stored public key.

    The signature counter is not judged here: the caller compares it with the stored
    one, after this has proven the signature.

    Raises:
        WebAuthnResponseError: It failed any check (``INVALID_RESPONSE``).
    """
    verified = _verified(
        response.credential,
        lambda: verify_authentication_response(
            credential=response.credential,
            expected_challenge=ceremony.challenge,
            expected_rp_id=ceremony.rp_id,
            expected_origin=ceremony.origins,
            credential_public_key=public_key,
            # 0 turns py_webauthn's counter check off (it runs before the signature check).
            credential_current_sign_count=0,
            require_user_verification=ceremony.require_user_verification,
        ),
        failed="the sign-in failed verification",
        malformed="the authentication response is malformed",
    )
    eligible = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    if eligible != backup_eligible:
        # WebAuthn L3 §7.2: a credential's backup eligibility is fixed at creation.
        raise WebAuthnResponseError(None, "the credential's backup eligibility changed")
    return Asserted(
        sign_count=verified.new_sign_count, backup_eligible=eligible, backed_up=verified.credential_backed_up
    )


def _verified(credential: Mapping[str, Any], verify: Callable[[], _V], *, failed: str, malformed: str) -> _V:
    """Refuse a cross-origin response, then run py_webauthn's ``verify``; any failure is ``INVALID_RESPONSE``.

    Args:
        credential: The response's JSON (its ``response.clientDataJSON`` is read first).
        verify: The py_webauthn call.
        failed: The message when py_webauthn refuses the response (its reason is appended).
        malformed: The message when ``verify`` fails otherwise.
    """
    _refuse_cross_origin(credential["response"]["clientDataJSON"])
    try:
        return verify()
    except WebAuthnException as exc:
        raise WebAuthnResponseError(None, f"{failed}: {_reason(exc)}") from exc
    except Exception as exc:
        # Some of py_webauthn's parsers raise plain ValueError/KeyError/TypeError on
        # junk inside well-formed base64url; any failure here means "not verified".
        raise WebAuthnResponseError(None, malformed) from exc


def _refuse_cross_origin(client_data_json: str) -> None:
    raw = b64url_decode(client_data_json, "response.clientDataJSON")
    try:
        client_data = parse_client_data_json(raw)
    except WebAuthnException as exc:
        raise WebAuthnResponseError(None, f"clientDataJSON is malformed: {_reason(exc)}") from exc
    except Exception as exc:
        raise WebAuthnResponseError(None, "clientDataJSON is malformed") from exc
    if client_data.cross_origin:
        raise WebAuthnResponseError(None, "the ceremony ran in a cross-origin iframe")


def _reason(exc: Exception) -> str:
    """py_webauthn's message, which may quote what the client sent: one short printable line."""
    text = " ".join(str(exc).split()).encode("ascii", "backslashreplace").decode("ascii")
    return text if len(text) <= 200 else text[:197] + "..."
