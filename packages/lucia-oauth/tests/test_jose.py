"""JOSE by joserfc: allowlisted asymmetric algorithms, each bound to its key type; strict base64url (O4, H6)."""

from __future__ import annotations

import base64
import functools
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet

from lucia_oauth import LuciaOAuthError, LuciaOAuthIdTokenError, sign_jwt
from lucia_oauth._jose import DEFAULT_ALGORITHMS, import_jwks, parse_jws, verify_compact_jws


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_of(key: Any, **members: str) -> dict[str, Any]:
    """The public JWK of a cryptography private key, with extra members (``kid``, ``alg``, ``use``)."""
    public = key.public_key()
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = public.public_numbers()
        data = {"kty": "RSA", "n": b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")), "e": "AQAB"}
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        size = (key.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[key.curve.name]
        xy = public.public_numbers()
        data = {"kty": "EC", "crv": crv, "x": b64(xy.x.to_bytes(size, "big")), "y": b64(xy.y.to_bytes(size, "big"))}
    else:
        data = {"kty": "OKP", "crv": "Ed25519", "x": b64(public.public_bytes_raw())}
    return {**data, **members}


def compact(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def es_signer(key: ec.EllipticCurvePrivateKey, digest: Any, size: int) -> Any:
    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(digest)))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    return sign


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def rs256(header: dict[str, Any] | None = None, claims: dict[str, Any] | None = None) -> str:
    key = rsa_key()
    return compact(
        {"alg": "RS256", "kid": "r1", **(header or {})},
        claims if claims is not None else {"sub": "s"},
        lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
    )


@functools.cache
def rsa_keys() -> KeySet:
    return import_jwks({"keys": [jwk_of(rsa_key(), kid="r1", use="sig", alg="RS256")]})


def refused(token: Any, keys: KeySet, algorithms: Any = DEFAULT_ALGORITHMS) -> LuciaOAuthError:
    with pytest.raises(LuciaOAuthError) as caught:
        verify_compact_jws(token, keys, algorithms=algorithms)
    assert isinstance(caught.value, LuciaOAuthIdTokenError)
    assert caught.value.code == "OAUTH_INVALID_ID_TOKEN"
    return caught.value


def test_es256_jwt_signed_by_sign_jwt_verifies() -> None:
    """sign_jwt (Apple's client secret) produces an ES256 JWS that verifies with the public key."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    token = sign_jwt({"iss": "TEAMID", "sub": "com.example.app"}, pem.decode(), kid="KEY123")
    assert parse_jws(token).headers() == {"alg": "ES256", "typ": "JWT", "kid": "KEY123"}
    claims = verify_compact_jws(token, import_jwks({"keys": [jwk_of(key, kid="KEY123")]}), algorithms=["ES256"])
    assert claims == {"iss": "TEAMID", "sub": "com.example.app"}


def test_sign_jwt_refuses_a_key_that_is_not_p256() -> None:
    """Apple's client secret is ES256 only: a P-384 key is refused, and the error shows no key material."""
    pem = (
        ec.generate_private_key(ec.SECP384R1())
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    with pytest.raises(ValueError, match="P-256") as caught:
        sign_jwt({}, pem)
    assert "BEGIN" not in str(caught.value)


def test_es384_ps256_and_ed25519_verify() -> None:
    """ES384, PS256 and Ed25519 tokens verify with matching JWKs; EdDSA only when allowed explicitly."""
    p384 = ec.generate_private_key(ec.SECP384R1())
    token = compact({"alg": "ES384"}, {"a": 1}, es_signer(p384, hashes.SHA384(), 48))
    assert verify_compact_jws(token, import_jwks({"keys": [jwk_of(p384)]}), algorithms=DEFAULT_ALGORITHMS) == {"a": 1}

    key = rsa_key()
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    token = compact({"alg": "PS256", "kid": "r1"}, {"a": 1}, lambda data: key.sign(data, pss, hashes.SHA256()))
    assert verify_compact_jws(token, import_jwks({"keys": [jwk_of(key, kid="r1")]}), algorithms=DEFAULT_ALGORITHMS)

    edkey = ed25519.Ed25519PrivateKey.generate()
    okp = import_jwks({"keys": [jwk_of(edkey)]})
    assert verify_compact_jws(compact({"alg": "Ed25519"}, {"a": 1}, edkey.sign), okp, algorithms=DEFAULT_ALGORITHMS)
    legacy = compact({"alg": "EdDSA"}, {"a": 1}, edkey.sign)
    refused(legacy, okp)  # not in the default allowlist (RFC 9864 deprecates the name)
    with pytest.warns(SecurityWarning):
        assert verify_compact_jws(legacy, okp, algorithms=["EdDSA"]) == {"a": 1}


def test_o4_algorithm_outside_the_allowlist_is_refused() -> None:
    """A valid RS256 token is refused when only ES256 is allowed."""
    assert "not allowed" in refused(rs256(), rsa_keys(), ["ES256"]).detail


@pytest.mark.parametrize("alg", ["none", "HS256", "HS512"])
def test_o4_none_and_hmac_are_refused_even_when_configured(alg: str) -> None:
    """``none`` and HMAC never verify: not even an allowlist naming them lets them through."""
    public = rsa_key().public_key()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    sign = (lambda data: b"") if alg == "none" else (lambda data: hmac.new(pem, data, "sha512").digest())
    token = compact({"alg": alg, "kid": "r1"}, {"sub": "s"}, sign)
    keys = import_jwks({"keys": [jwk_of(rsa_key(), kid="r1"), {"kty": "oct", "kid": "r1", "k": b64(pem)}]})
    assert "not allowed" in refused(token, keys, [alg, "RS256"]).detail


def test_o4_jwk_alg_or_use_forbidding_the_token_is_refused() -> None:
    """A key published for encryption, or for another algorithm, does not verify signatures."""
    key = ec.generate_private_key(ec.SECP256R1())
    token = compact({"alg": "ES256", "kid": "e1"}, {}, es_signer(key, hashes.SHA256(), 32))
    for extra in ({"use": "enc"}, {"alg": "ES384"}):
        assert "no usable key" in refused(token, import_jwks({"keys": [jwk_of(key, kid="e1", **extra)]})).detail


def test_o4_key_of_another_type_or_curve_is_refused() -> None:
    """An ES256 token naming an RSA key, or a P-384 key, is refused: keys are bound to algorithms."""
    key = ec.generate_private_key(ec.SECP256R1())
    token = compact({"alg": "ES256", "kid": "k"}, {}, es_signer(key, hashes.SHA256(), 32))
    assert "does not fit" in refused(token, import_jwks({"keys": [jwk_of(rsa_key(), kid="k")]})).detail
    p384 = ec.generate_private_key(ec.SECP384R1())
    assert "does not fit" in refused(token, import_jwks({"keys": [jwk_of(p384, kid="k")]})).detail


def test_o4_truncated_ecdsa_signature_is_refused() -> None:
    """An ES256 signature of the wrong length is refused, not parsed loosely."""
    key = ec.generate_private_key(ec.SECP256R1())
    header, payload, signature = compact({"alg": "ES256"}, {}, es_signer(key, hashes.SHA256(), 32)).split(".")
    short = b64(base64.urlsafe_b64decode(signature + "==")[:-1])
    assert "signature" in refused(f"{header}.{payload}.{short}", import_jwks({"keys": [jwk_of(key)]})).detail


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "!!!.e30.",
        f"{b64(b'[1]')}.e30.",
        f"{b64(b'null')}.e30.",
        b64(b'"alg"') + ".e30.",
        f"{b64(json.dumps({'alg': 'RS256', 'crit': ['exp']}).encode())}.e30.",
        f"{b64(json.dumps({'alg': 'RS256', 'kid': 7}).encode())}.e30.",
        f"{b64(json.dumps({'alg': 7}).encode())}.e30.",
        "x" * 20000,
        "é.e30.",
        None,
    ],
)
def test_malformed_tokens_are_refused(token: Any) -> None:
    """Anything that is not a compact JWS with a JSON object header naming an alg is OAUTH_INVALID_ID_TOKEN."""
    with pytest.raises(LuciaOAuthIdTokenError) as caught:
        parse_jws(token)
    assert caught.value.code == "OAUTH_INVALID_ID_TOKEN"


def test_weak_symmetric_or_unknown_keys_are_dropped_from_the_jwks() -> None:
    """RSA under 2048 bits, symmetric ``oct`` keys, unknown curves and garbage never become usable keys."""
    small = rsa.generate_private_key(65537, 1024)
    keys = import_jwks(
        {
            "keys": [
                jwk_of(small, kid="small"),
                {"kty": "oct", "k": "c2VjcmV0", "kid": "oct"},
                {"kty": "EC", "crv": "P-192", "x": "AA", "y": "AA", "kid": "p192"},
                {"kty": "RSA", "n": "!!!", "e": "AQAB", "kid": "garbage"},
                {"kty": "PQC", "kid": "future"},
                "not-a-key",
            ]
        }
    )
    assert list(keys) == []


@pytest.mark.parametrize("document", [None, [], {"keys": "nope"}, {"no": "keys"}])
def test_a_jwks_that_is_not_a_key_set_is_an_invalid_response(document: Any) -> None:
    """A JWKS answer without a ``keys`` list is OAUTH_INVALID_RESPONSE."""
    with pytest.raises(LuciaOAuthError) as caught:
        import_jwks(document)
    assert caught.value.code == "OAUTH_INVALID_RESPONSE"


# -- H6: strict base64url ---------------------------------------------------------------------


@pytest.mark.parametrize("junk", ["!!!!", "****", "%%%%", "~~~~", "!", "$$", "A", "AA", "==", "=", "\t", " ", "Ā"])
def test_h6_junk_appended_to_the_signature_is_refused(junk: str) -> None:
    """A valid token with anything appended to its signature never verifies (lenient base64 ignored junk)."""
    token = rs256()
    assert verify_compact_jws(token, rsa_keys(), algorithms=DEFAULT_ALGORITHMS) == {"sub": "s"}
    refused(token + junk, rsa_keys())


def test_h6_non_canonical_base64url_is_refused() -> None:
    """The same signature bytes spelt with other unused trailing bits, or padded, do not verify."""
    token = rs256()
    head, _, signature = token.rpartition(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    # 256 signature bytes leave 4 unused bits in the last character: 15 other spellings decode alike.
    twins = [signature[:-1] + alphabet[last | bits] for bits in range(1, 16)]
    assert all(base64.urlsafe_b64decode(t + "==") == base64.urlsafe_b64decode(signature + "==") for t in twins)
    for twin in [*twins, signature + "==", signature.replace("-", "+").replace("_", "/")]:
        if twin != signature:
            refused(f"{head}.{twin}", rsa_keys())
    header, payload, _ = token.split(".")
    refused(f"{header}=.{payload}.{signature}", rsa_keys())
    refused(f"{header}.{payload}==.{signature}", rsa_keys())


_MUTATIONS = st.one_of(
    st.tuples(st.just("append"), st.text(min_size=1, max_size=8)),
    st.tuples(st.just("insert"), st.integers(min_value=0), st.text(min_size=1, max_size=3)),
    st.tuples(st.just("replace"), st.integers(min_value=0), st.characters()),
    st.tuples(st.just("delete"), st.integers(min_value=0), st.integers(min_value=1, max_value=4)),
    st.tuples(st.just("swap-segments"), st.permutations([0, 1, 2])),
)


def _mutate(token: str, mutation: tuple[Any, ...]) -> str:
    kind = mutation[0]
    if kind == "append":
        return token + mutation[1]
    if kind == "insert":
        at = mutation[1] % (len(token) + 1)
        return token[:at] + mutation[2] + token[at:]
    if kind == "replace":
        at = mutation[1] % len(token)
        return token[:at] + mutation[2] + token[at + 1 :]
    if kind == "delete":
        at = mutation[1] % len(token)
        return token[:at] + token[at + mutation[2] :]
    parts = token.split(".")
    return ".".join(parts[i] for i in mutation[1])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations=st.lists(_MUTATIONS, min_size=1, max_size=3))
def test_h6_fuzz_mutated_tokens_never_verify_and_fail_only_with_our_error(mutations: list[tuple[Any, ...]]) -> None:
    """Any edit of a valid token (appended, inserted, replaced, deleted characters, swapped parts) is refused.

    The only failure is LuciaOAuthIdTokenError: never a library or decoding exception.
    """
    original = rs256()
    token = original
    for mutation in mutations:
        token = _mutate(token, mutation)
    if token == original:
        return
    refused(token, rsa_keys())


@settings(max_examples=150, deadline=None)
@given(
    token=st.one_of(
        st.text(max_size=200),
        st.lists(st.text(alphabet="ABCDEFabcdef0123456789-_=+/!.", max_size=60), min_size=1, max_size=5).map(".".join),
        st.tuples(
            st.dictionaries(
                st.sampled_from(["alg", "kid", "crit", "typ", "b64", "jku"]),
                st.none() | st.text(max_size=8) | st.sampled_from(["RS256", "r1", "none", "HS256"]),
            ),
            st.binary(max_size=40),
            st.binary(max_size=300),
        ).map(lambda t: f"{b64(json.dumps(t[0]).encode())}.{b64(t[1])}.{b64(t[2])}"),
    )
)
def test_h6_fuzz_random_tokens_never_verify_and_fail_only_with_our_error(token: str) -> None:
    """Random text, base64url-looking parts and random headers never verify and raise only our error."""
    refused(token, rsa_keys())
