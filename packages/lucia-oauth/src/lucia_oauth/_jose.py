"""The small part of JOSE that sign-in needs: compact JWS, public JWKs, ES256 signing. No I/O.

Only asymmetric algorithms exist here, each bound to one key type, so an ``HS256``
token "signed" with a public key, or an ``alg: none`` token, can never verify.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from lucia_oauth._errors import LuciaOAuthError

__all__ = [
    "DEFAULT_ALGORITHMS",
    "JWS",
    "SUPPORTED_ALGORITHMS",
    "b64url_decode",
    "b64url_encode",
    "key_matches_algorithm",
    "parse_jws",
    "public_key_from_jwk",
    "sign_jwt",
    "verify_jws",
]

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_CURVES: dict[str, tuple[str, type[ec.EllipticCurve], int]] = {
    "ES256": ("P-256", ec.SECP256R1, 32),
    "ES384": ("P-384", ec.SECP384R1, 48),
    "ES512": ("P-521", ec.SECP521R1, 66),
}
#: Every algorithm this package can verify. Symmetric (``HS*``) and ``none`` are absent on purpose.
SUPPORTED_ALGORITHMS: frozenset[str] = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
#: The default allowlist of id_token algorithms.
DEFAULT_ALGORITHMS: tuple[str, ...] = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")

_MAX_TOKEN_LENGTH = 16 * 1024

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | Ed25519PublicKey | Ed448PublicKey


def _invalid(detail: str) -> LuciaOAuthError:
    return LuciaOAuthError("OAUTH_INVALID_ID_TOKEN", detail)


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(data: str) -> bytes:
    """Decode base64url with or without padding; raise ``ValueError`` on anything else."""
    if not isinstance(data, str) or any(c in data for c in "+/= \t\r\n"):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


@dataclass(frozen=True, slots=True)
class JWS:
    """A parsed compact JWS: its protected header, payload and signature (not yet verified)."""

    header: Mapping[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes

    def claims(self) -> dict[str, Any]:
        """The payload as a JSON object (raise ``OAUTH_INVALID_ID_TOKEN`` if it is not one)."""
        try:
            claims = json.loads(self.payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _invalid("the token payload is not JSON") from exc
        if not isinstance(claims, dict):
            raise _invalid("the token payload is not a JSON object")
        return claims


def parse_jws(token: object) -> JWS:
    """Split and decode a compact JWS without verifying it.

    Raises:
        LuciaOAuthError: ``OAUTH_INVALID_ID_TOKEN`` for anything that is not a compact JWS.
    """
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
        raise _invalid("the token is missing or too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise _invalid("the token is not a compact JWS")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = b64url_decode(parts[1])
        signature = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid("the token is not valid base64url JSON") from exc
    if not isinstance(header, dict):
        raise _invalid("the token header is not a JSON object")
    if "crit" in header:  # RFC 7515 §4.1.11: we understand no extension, so we must refuse
        raise _invalid("the token uses critical header extensions")
    return JWS(
        header=header, payload=payload, signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"), signature=signature
    )


def _int(value: object) -> int:
    if not isinstance(value, str):
        raise ValueError("missing key member")
    return int.from_bytes(b64url_decode(value), "big")


def public_key_from_jwk(jwk: Mapping[str, Any]) -> PublicKey:
    """The public key of a JWK (``RSA``, ``EC`` P-256/384/521, ``OKP`` Ed25519/Ed448).

    Raises:
        ValueError: For a symmetric, private-only, unknown or malformed key.
    """
    kty = jwk.get("kty")
    if kty == "RSA":
        n, e = _int(jwk.get("n")), _int(jwk.get("e"))
        if n.bit_length() < 2048:
            raise ValueError("RSA keys shorter than 2048 bits are refused")
        return rsa.RSAPublicNumbers(e, n).public_key()
    if kty == "EC":
        curves = {name: curve for name, curve, _ in _CURVES.values()}
        curve = curves.get(str(jwk.get("crv")))
        if curve is None:
            raise ValueError("unsupported EC curve")
        return ec.EllipticCurvePublicNumbers(_int(jwk.get("x")), _int(jwk.get("y")), curve()).public_key()
    if kty == "OKP":
        x = jwk.get("x")
        if not isinstance(x, str):
            raise ValueError("missing key member")
        if jwk.get("crv") == "Ed25519":
            return Ed25519PublicKey.from_public_bytes(b64url_decode(x))
        if jwk.get("crv") == "Ed448":
            return Ed448PublicKey.from_public_bytes(b64url_decode(x))
        raise ValueError("unsupported OKP curve")
    raise ValueError(f"unsupported key type {kty!r}")


def key_matches_algorithm(jwk: Mapping[str, Any], alg: str) -> bool:
    """Whether a JWK may verify ``alg``: its type fits, and its ``alg``/``use`` do not forbid it."""
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", alg) != alg:
        return False
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if alg[:2] in ("RS", "PS"):
        return kty == "RSA"
    if alg in _CURVES:
        return kty == "EC" and crv == _CURVES[alg][0]
    if alg == "EdDSA":
        return kty == "OKP" and crv in ("Ed25519", "Ed448")
    return False


def verify_jws(jws: JWS, jwk: Mapping[str, Any], *, algorithms: tuple[str, ...] | frozenset[str]) -> None:
    """Verify the signature of ``jws`` with ``jwk``, accepting only ``algorithms``.

    Raises:
        LuciaOAuthError: ``OAUTH_INVALID_ID_TOKEN`` if the algorithm is not allowed, the key
            does not fit the algorithm, or the signature is wrong.
    """
    alg = jws.header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms or alg not in SUPPORTED_ALGORITHMS:
        raise _invalid(f"the token algorithm {alg!r} is not allowed")
    if not key_matches_algorithm(jwk, alg):
        raise _invalid(f"the key does not fit the token algorithm {alg!r}")
    try:
        key = public_key_from_jwk(jwk)
    except ValueError as exc:
        raise _invalid(f"the signing key is unusable: {exc}") from exc
    try:
        if alg[:2] == "RS" and isinstance(key, rsa.RSAPublicKey):
            key.verify(jws.signature, jws.signing_input, padding.PKCS1v15(), _HASHES[alg[2:]]())
        elif alg[:2] == "PS" and isinstance(key, rsa.RSAPublicKey):
            digest = _HASHES[alg[2:]]()
            pss = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
            key.verify(jws.signature, jws.signing_input, pss, digest)
        elif alg in _CURVES and isinstance(key, ec.EllipticCurvePublicKey):
            size = _CURVES[alg][2]
            if len(jws.signature) != 2 * size:
                raise InvalidSignature
            r = int.from_bytes(jws.signature[:size], "big")
            s = int.from_bytes(jws.signature[size:], "big")
            key.verify(encode_dss_signature(r, s), jws.signing_input, ec.ECDSA(_HASHES[alg[2:]]()))
        elif alg == "EdDSA" and isinstance(key, Ed25519PublicKey | Ed448PublicKey):
            key.verify(jws.signature, jws.signing_input)
        else:  # pragma: no cover - key_matches_algorithm already refused this pairing
            raise InvalidSignature
    except InvalidSignature as exc:
        raise _invalid("the token signature is invalid") from exc


def sign_jwt(claims: Mapping[str, Any], private_key: ec.EllipticCurvePrivateKey, *, kid: str | None = None) -> str:
    """Sign ``claims`` as a compact JWS with an EC private key (ES256/384/512 by its curve).

    This is what Apple's client secret needs: an ES256 JWT signed with the team's key.

    Args:
        claims: The JWT claims.
        private_key: A P-256 (ES256), P-384 (ES384) or P-521 (ES512) private key.
        kid: The ``kid`` header, if any.
    """
    alg = next((a for a, (_, curve, _) in _CURVES.items() if isinstance(private_key.curve, curve)), None)
    if alg is None:
        raise ValueError("unsupported curve")
    header: dict[str, str] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    signing_input = ".".join(
        b64url_encode(json.dumps(part, separators=(",", ":")).encode()) for part in (header, dict(claims))
    )
    der = private_key.sign(signing_input.encode("ascii"), ec.ECDSA(_HASHES[alg[2:]]()))
    r, s = decode_dss_signature(der)
    size = _CURVES[alg][2]
    return f"{signing_input}.{b64url_encode(r.to_bytes(size, 'big') + s.to_bytes(size, 'big'))}"
