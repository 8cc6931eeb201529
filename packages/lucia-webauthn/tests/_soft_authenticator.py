"""A software passkey authenticator and the browser around it, for the tests.

``SoftAuthenticator`` keeps P-256 keys (``cryptography``), answers ``create()`` /
``get()`` options with exactly what ``PublicKeyCredential.toJSON()`` gives a page, and
encodes its authenticator data, COSE keys and attestation objects with ``cbor2`` (a
test dependency only: the package itself never encodes CBOR). Every field can be
spoiled per call for the negative tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

RP_ID = "example.com"
ORIGIN = "https://example.com"

# Authenticator data flags (WebAuthn §6.1).
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
#: The AAGUID the software authenticator reports (a made-up model).
AAGUID = bytes.fromhex("6c7563696177656261757468746573ff")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


class NoCredentialError(Exception):
    """The authenticator holds no credential the options allow (the browser's NotAllowedError)."""


class ExcludedCredentialError(Exception):
    """The authenticator holds an excluded credential (the browser's InvalidStateError)."""


@dataclass
class SoftCredential:
    """One credential kept by the software authenticator (a discoverable one)."""

    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    counter: int


def _sign(key: ec.EllipticCurvePrivateKey, auth_data: bytes, client_data: bytes) -> bytes:
    """The ES256 signature over authenticator data and the hash of the client data (WebAuthn §6.3.3)."""
    return key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))


def _public_key_credential(credential: SoftCredential, response: dict[str, Any]) -> dict[str, Any]:
    """What ``PublicKeyCredential.toJSON()`` gives a page for ``credential``, around its ``response``."""
    return {
        "id": b64url(credential.credential_id),
        "rawId": b64url(credential.credential_id),
        "type": "public-key",
        "authenticatorAttachment": "platform",
        "clientExtensionResults": {},
        "response": response,
    }


class SoftAuthenticator:
    """A software passkey authenticator with its browser: ``create(options)``, ``get(options)``.

    Args:
        origin: The page's origin the browser writes into ``clientDataJSON``.
        flags: Authenticator data flags of every answer (``UP | UV | BE | BS`` by default:
            a synced passkey after a biometric check).
        counter_step: How much the signature counter grows per use; 0 as synced
            passkeys report.
        attestation: ``"none"`` or ``"packed"`` (self attestation, signed by the new key).
    """

    def __init__(
        self,
        *,
        origin: str = ORIGIN,
        flags: int = UP | UV | BE | BS,
        counter_step: int = 1,
        attestation: str = "none",
    ) -> None:
        self.origin = origin
        self.flags = flags
        self.counter_step = counter_step
        self.attestation = attestation
        self.credentials: dict[bytes, SoftCredential] = {}

    def create(
        self,
        options: Mapping[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: str | None = None,
        client_type: str = "webauthn.create",
        flags: int | None = None,
        cross_origin: bool = False,
    ) -> dict[str, Any]:
        """Make a credential for ``options`` (``PublicKeyCredentialCreationOptionsJSON``)."""
        for excluded in options.get("excludeCredentials", []):
            if unb64url(excluded["id"]) in self.credentials:
                raise ExcludedCredentialError(excluded["id"])
        rp_id = rp_id or options["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        credential = SoftCredential(
            credential_id=secrets.token_bytes(32),
            key=key,
            rp_id=options["rp"]["id"],
            user_handle=unb64url(options["user"]["id"]),
            counter=0,
        )
        numbers = key.public_key().public_numbers()
        cose_key = cbor2.dumps(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )
        attested = AAGUID + len(credential.credential_id).to_bytes(2, "big") + credential.credential_id + cose_key
        auth_data = self._auth_data(rp_id, (self.flags if flags is None else flags) | AT, 0) + attested
        client_data = self._client_data(client_type, challenge or options["challenge"], origin, cross_origin)
        statement: dict[str, Any] = {}
        if self.attestation == "packed":
            statement = {"alg": -7, "sig": _sign(key, auth_data, client_data)}
        attestation_object = cbor2.dumps({"fmt": self.attestation, "attStmt": statement, "authData": auth_data})
        self.credentials[credential.credential_id] = credential
        return _public_key_credential(
            credential,
            {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation_object),
                "transports": ["hybrid", "internal"],
            },
        )

    def get(
        self,
        options: Mapping[str, Any],
        *,
        credential_id: str | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: str | None = None,
        client_type: str = "webauthn.get",
        flags: int | None = None,
        counter: int | None = None,
        cross_origin: bool = False,
    ) -> dict[str, Any]:
        """Sign in for ``options`` (``PublicKeyCredentialRequestOptionsJSON``)."""
        credential = self._choose(options, credential_id)
        if counter is None:
            credential.counter += self.counter_step
            counter = credential.counter
        auth_data = self._auth_data(rp_id or options["rpId"], self.flags if flags is None else flags, counter)
        client_data = self._client_data(client_type, challenge or options["challenge"], origin, cross_origin)
        return _public_key_credential(
            credential,
            {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(_sign(credential.key, auth_data, client_data)),
                "userHandle": b64url(credential.user_handle),
            },
        )

    def _choose(self, options: Mapping[str, Any], credential_id: str | None) -> SoftCredential:
        allowed = {unb64url(c["id"]) for c in options.get("allowCredentials", [])}
        for credential in self.credentials.values():
            if credential_id is not None and b64url(credential.credential_id) != credential_id:
                continue
            if credential.rp_id == options["rpId"] and (not allowed or credential.credential_id in allowed):
                return credential
        raise NoCredentialError()

    def _client_data(self, client_type: str, challenge: str, origin: str | None, cross_origin: bool) -> bytes:
        data = {
            "type": client_type,
            "challenge": challenge,
            "origin": origin or self.origin,
            "crossOrigin": cross_origin,
        }
        return json.dumps(data).encode()

    @staticmethod
    def _auth_data(rp_id: str, flags: int, counter: int) -> bytes:
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + counter.to_bytes(4, "big")
