"""The JOSE subset: only allowlisted asymmetric algorithms, each bound to its key type."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from lucia_oauth import LuciaOAuthError, sign_jwt
from lucia_oauth._jose import (
    DEFAULT_ALGORITHMS,
    b64url_decode,
    b64url_encode,
    parse_jws,
    public_key_from_jwk,
    verify_jws,
)


def _b(value: int, size: int | None = None) -> str:
    return b64url_encode(value.to_bytes(size or (value.bit_length() + 7) // 8, "big"))


def ec_jwk(key: ec.EllipticCurvePrivateKey, crv: str = "P-256", size: int = 32) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    return {"kty": "EC", "crv": crv, "x": _b(numbers.x, size), "y": _b(numbers.y, size)}


def rsa_jwk(key: rsa.RSAPrivateKey) -> dict[str, Any]:
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "n": _b(numbers.n), "e": _b(numbers.e)}


def compact(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    signing_input = f"{b64url_encode(json.dumps(header).encode())}.{b64url_encode(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url_encode(sign(signing_input.encode()))}"


def test_es256_jwt_signed_by_sign_jwt_verifies() -> None:
    """sign_jwt (Apple's client secret) produces an ES256 JWS that verifies with the public key."""
    key = ec.generate_private_key(ec.SECP256R1())
    token = sign_jwt({"iss": "TEAMID", "sub": "com.example.app"}, key, kid="KEY123")
    jws = parse_jws(token)
    assert jws.header == {"alg": "ES256", "typ": "JWT", "kid": "KEY123"}
    verify_jws(jws, ec_jwk(key), algorithms=DEFAULT_ALGORITHMS)
    assert jws.claims()["iss"] == "TEAMID"


def test_es384_and_ps256_and_eddsa_verify() -> None:
    """ES384, PS256 and EdDSA (Ed25519) tokens verify with matching JWKs."""
    p384 = ec.generate_private_key(ec.SECP384R1())
    verify_jws(parse_jws(sign_jwt({"a": 1}, p384)), ec_jwk(p384, "P-384", 48), algorithms=DEFAULT_ALGORITHMS)

    key = rsa.generate_private_key(65537, 2048)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    token = compact({"alg": "PS256"}, {"a": 1}, lambda data: key.sign(data, pss, hashes.SHA256()))
    verify_jws(parse_jws(token), rsa_jwk(key), algorithms=DEFAULT_ALGORITHMS)

    edkey = ed25519.Ed25519PrivateKey.generate()
    raw = edkey.public_key().public_bytes_raw()
    token = compact({"alg": "EdDSA"}, {"a": 1}, edkey.sign)
    verify_jws(
        parse_jws(token), {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}, algorithms=DEFAULT_ALGORITHMS
    )


def test_o4_algorithm_outside_the_allowlist_is_refused() -> None:
    """A valid RS256 token is refused when only ES256 is allowed."""
    key = rsa.generate_private_key(65537, 2048)
    token = compact({"alg": "RS256"}, {}, lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256()))
    with pytest.raises(LuciaOAuthError, match="not allowed"):
        verify_jws(parse_jws(token), rsa_jwk(key), algorithms=("ES256",))


def test_o4_jwk_alg_or_use_forbidding_the_token_is_refused() -> None:
    """A key published for encryption, or for another algorithm, does not verify signatures."""
    key = ec.generate_private_key(ec.SECP256R1())
    jws = parse_jws(sign_jwt({}, key))
    for extra in ({"use": "enc"}, {"alg": "ES384"}):
        with pytest.raises(LuciaOAuthError, match="does not fit"):
            verify_jws(jws, {**ec_jwk(key), **extra}, algorithms=DEFAULT_ALGORITHMS)


def test_o4_truncated_ecdsa_signature_is_refused() -> None:
    """An ES256 signature of the wrong length is refused, not parsed loosely."""
    key = ec.generate_private_key(ec.SECP256R1())
    header, payload, signature = sign_jwt({}, key).split(".")
    short = b64url_encode(b64url_decode(signature)[:-1])
    with pytest.raises(LuciaOAuthError, match="signature"):
        verify_jws(parse_jws(f"{header}.{payload}.{short}"), ec_jwk(key), algorithms=DEFAULT_ALGORITHMS)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "!!!.e30.",
        f"{b64url_encode(b'[1]')}.e30.",
        f"{b64url_encode(json.dumps({'alg': 'RS256', 'crit': ['exp']}).encode())}.e30.",
        "x" * 20000,
        None,
    ],
)
def test_malformed_tokens_are_refused(token: Any) -> None:
    """Anything that is not a compact JWS with a JSON header is OAUTH_INVALID_ID_TOKEN."""
    with pytest.raises(LuciaOAuthError) as caught:
        parse_jws(token)
    assert caught.value.code == "OAUTH_INVALID_ID_TOKEN"


def test_weak_or_symmetric_keys_are_unusable() -> None:
    """RSA under 2048 bits, symmetric ``oct`` keys and unknown curves are refused."""
    small = rsa.generate_private_key(65537, 1024)
    for jwk in (rsa_jwk(small), {"kty": "oct", "k": "c2VjcmV0"}, {"kty": "EC", "crv": "P-192", "x": "AA", "y": "AA"}):
        with pytest.raises(ValueError):
            public_key_from_jwk(jwk)
