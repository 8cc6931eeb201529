"""JOSE for sign-in, by joserfc: id_token signatures, the issuer's JWKS, Apple's ES256 client secret. No I/O.

joserfc (maintained, by the author of Authlib) owns every byte of JOSE: strict base64url
(no padding, no foreign characters, no non-canonical trailing bits), header and ``crit``
checks, JWK import, ``kid`` selection, the binding of each algorithm to its key type and
curve, and the signature check. This module only states our policy on top of it:

- the algorithm allowlist (:data:`DEFAULT_ALGORITHMS`): asymmetric algorithms only, so
  ``none`` and every ``HS*`` never verify, whatever the token or the JWKS says;
- no ``crit`` extension is understood, so a token that marks one critical is refused;
- JWKS keys that cannot verify signatures are dropped on import (symmetric ``oct`` keys,
  unknown types or curves, ``use: enc``, RSA under 2048 bits);
- every failure is a :class:`~lucia_oauth.LuciaOAuthIdTokenError`, never a library error.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    InvalidKeyIdError,
    JoseError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import ECKey, JWKRegistry, Key, KeySet

from lucia_oauth._errors import LuciaOAuthIdTokenError, LuciaOAuthResponseError

__all__ = [
    "DEFAULT_ALGORITHMS",
    "MAX_TOKEN_LENGTH",
    "SUPPORTED_ALGORITHMS",
    "import_jwks",
    "load_es256_private_key",
    "parse_jws",
    "select_key",
    "sign_jwt",
    "verify_compact_jws",
    "verify_jws",
]

#: Every algorithm an id_token may be allowed to use. Symmetric (``HS*``) and ``none`` are absent on purpose.
SUPPORTED_ALGORITHMS: frozenset[str] = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "Ed25519", "Ed448", "EdDSA"}
)
#: The default allowlist of id_token algorithms. ``EdDSA`` (deprecated by RFC 9864 for
#: ``Ed25519``/``Ed448``) can be allowed explicitly; joserfc then warns on each use.
DEFAULT_ALGORITHMS: tuple[str, ...] = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "Ed25519",
)
#: Longer tokens are refused before any parsing.
MAX_TOKEN_LENGTH = 16 * 1024
#: The base64url length of a 2048-bit RSA modulus: shorter ones are refused before import.
_MIN_RSA_MODULUS_CHARS = 342
_MIN_RSA_BITS = 2048


def _invalid(detail: str) -> LuciaOAuthIdTokenError:
    return LuciaOAuthIdTokenError(None, detail)


def _registry(algorithms: Collection[str]) -> jws.JWSRegistry:
    """A registry that allows exactly ``algorithms`` (never empty: joserfc reads empty as its defaults)."""
    allowed = [a for a in algorithms if a in SUPPORTED_ALGORITHMS]
    if not allowed:
        raise _invalid("no id_token algorithm is allowed")
    registry = jws.JWSRegistry(algorithms=allowed)
    registry.strict_check_header = False  # RFC 7515 §4: ignore what is not understood unless it is "crit"
    registry.max_header_length = registry.max_signature_length = 2048  # x5t and RSA-8192 signatures fit
    return registry


def import_jwks(document: object) -> KeySet:
    """The signature keys of a JWKS document that we may use (an empty set when none is).

    Raises:
        LuciaOAuthError: ``OAUTH_INVALID_RESPONSE`` if the document is not an object with a ``keys`` list.
    """
    keys = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(keys, list):
        raise LuciaOAuthResponseError(None, "the JWKS is not a JSON object with 'keys'")
    usable: list[Key] = []
    for data in keys:
        key = _import_public_key(data)
        if key is not None:
            usable.append(key)
    return KeySet(usable)


def _import_public_key(data: object) -> Key | None:
    if not isinstance(data, dict) or data.get("use", "sig") != "sig" or data.get("kty") not in ("RSA", "EC", "OKP"):
        return None
    modulus = data.get("n")
    if data["kty"] == "RSA" and (not isinstance(modulus, str) or len(modulus) < _MIN_RSA_MODULUS_CHARS):
        return None  # under 2048 bits: refused here, before joserfc would only warn
    try:
        key = JWKRegistry.import_key(data)
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    if key.key_type == "RSA" and getattr(key.raw_value, "key_size", 0) < _MIN_RSA_BITS:
        return None
    return key


def parse_jws(token: object) -> jws.CompactSignature:
    """Split and decode a compact JWS without verifying it (joserfc's strict base64url).

    Raises:
        LuciaOAuthError: ``OAUTH_INVALID_ID_TOKEN`` for anything that is not a compact JWS
            with a JSON object header naming an ``alg``, or that marks an extension critical.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise _invalid("the token is missing, too long or not ASCII")
    try:
        obj = jws.extract_compact(token.encode("ascii"))
    except (JoseError, ValueError, TypeError) as exc:
        raise _invalid("the token is not a compact JWS with strict base64url parts") from exc
    header = obj.headers()
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        raise _invalid("the token header is not a JSON object with an 'alg'")
    if "crit" in header:  # RFC 7515 §4.1.11: we understand no extension, so we must refuse
        raise _invalid("the token uses critical header extensions")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _invalid("the token 'kid' is not a string")
    return obj


def select_key(keys: KeySet, obj: jws.CompactSignature) -> Key | None:
    """The key of ``keys`` the token names (joserfc's ``kid`` selection), or ``None``.

    With a ``kid``, the key with that ``kid`` whose ``alg``/``use`` do not forbid the token's
    algorithm; without one, the only key of the set, if it has exactly one.
    """
    header = obj.headers()
    try:
        return keys.get_by_kid(header.get("kid"), {"alg": header["alg"], "use": "sig"})
    except (InvalidKeyIdError, ValueError, TypeError):
        return None


def verify_jws(obj: jws.CompactSignature, key: Key, *, algorithms: Collection[str]) -> dict[str, Any]:
    """Verify the signature of ``obj`` with ``key``, accepting only ``algorithms``; return the claims.

    Raises:
        LuciaOAuthError: ``OAUTH_INVALID_ID_TOKEN`` if the algorithm is not allowed, the key
            does not fit the algorithm (type, curve, ``use``, ``alg``), the signature is
            wrong, or the payload is not a JSON object.
    """
    alg = obj.headers()["alg"]
    if alg not in algorithms or alg not in SUPPORTED_ALGORITHMS:
        raise _invalid(f"the token algorithm {alg!r} is not allowed")
    try:
        if not jws.validate_compact(obj, key, registry=_registry(algorithms)):
            raise BadSignatureError
    except UnsupportedAlgorithmError as exc:
        raise _invalid(f"the token algorithm {alg!r} is not allowed") from exc
    except BadSignatureError as exc:
        raise _invalid("the token signature is invalid") from exc
    except (JoseError, ValueError, TypeError) as exc:
        raise _invalid(f"the key does not fit the token algorithm {alg!r}") from exc
    try:
        claims = json.loads(obj.payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid("the token payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise _invalid("the token payload is not a JSON object")
    return claims


def verify_compact_jws(token: object, keys: KeySet, *, algorithms: Collection[str]) -> dict[str, Any]:
    """Parse, pick the key by ``kid`` and verify a compact JWS in one call; return its claims.

    Raises:
        LuciaOAuthError: ``OAUTH_INVALID_ID_TOKEN`` for any failure (never another exception).
    """
    obj = parse_jws(token)
    key = select_key(keys, obj)
    if key is None:
        raise _invalid(f"no usable key for kid {obj.headers().get('kid')!r}")
    return verify_jws(obj, key, algorithms=algorithms)


def load_es256_private_key(pem: str | bytes) -> ECKey:
    """A P-256 private key from PEM text (Apple's ``.p8`` file).

    Raises:
        ValueError: If it is not a PEM P-256 private key (the message shows no key material).
    """
    try:
        key: ECKey = ECKey.import_key(pem.encode("ascii") if isinstance(pem, str) else pem)
    except (JoseError, ValueError, TypeError, UnicodeError):
        raise ValueError("not a PEM EC private key") from None
    if not key.is_private or key.curve_name != "P-256":
        raise ValueError("not a P-256 (ES256) private key")
    return key


def sign_jwt(claims: Mapping[str, Any], private_key: ECKey | str | bytes, *, kid: str | None = None) -> str:
    """Sign ``claims`` as a compact JWS (``typ: JWT``) with an ES256 key, by joserfc.

    This is what Apple's client secret needs: an ES256 JWT signed with the team's key.

    Args:
        claims: The JWT claims.
        private_key: A P-256 private key: a joserfc ``ECKey`` or its PEM text.
        kid: The ``kid`` header, if any.

    Raises:
        ValueError: If the key is not a P-256 private key.
    """
    key = private_key if isinstance(private_key, ECKey) else load_es256_private_key(private_key)
    if not key.is_private or key.curve_name != "P-256":
        raise ValueError("not a P-256 (ES256) private key")
    header: dict[str, Any] = {"alg": "ES256"}
    if kid is not None:
        header["kid"] = kid
    return jwt.encode(header, dict(claims), key, algorithms=["ES256"])
