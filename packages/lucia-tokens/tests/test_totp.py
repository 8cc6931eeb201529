"""RFC 6238 TOTP: the RFC's test vectors, pyotp as an independent implementation, URIs."""

from __future__ import annotations

import base64
import hashlib

import pyotp
import pytest

from lucia_tokens.totp import (
    TOTPParameters,
    generate_secret,
    generate_totp,
    parse_provisioning_uri,
    provisioning_uri,
    verify_totp,
)

# RFC 6238 Appendix B: the seeds are ASCII "1234567890" repeated to the hash's size.
SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
VECTORS = [
    (59, "94287082", "SHA1"),
    (59, "46119246", "SHA256"),
    (59, "90693936", "SHA512"),
    (1111111109, "07081804", "SHA1"),
    (1111111109, "68084774", "SHA256"),
    (1111111109, "25091201", "SHA512"),
    (1111111111, "14050471", "SHA1"),
    (1111111111, "67062674", "SHA256"),
    (1111111111, "99943326", "SHA512"),
    (1234567890, "89005924", "SHA1"),
    (1234567890, "91819424", "SHA256"),
    (1234567890, "93441116", "SHA512"),
    (2000000000, "69279037", "SHA1"),
    (2000000000, "90698825", "SHA256"),
    (2000000000, "38618901", "SHA512"),
    (20000000000, "65353130", "SHA1"),
    (20000000000, "77737706", "SHA256"),
    (20000000000, "47863826", "SHA512"),
]
PYOTP_DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
NOW = 1_800_000_000.0


def _b32(seed: bytes) -> str:
    return base64.b32encode(seed).decode("ascii")


@pytest.mark.parametrize(("at", "expected", "algorithm"), VECTORS)
def test_t4_rfc6238_appendix_b_vectors(at: int, expected: str, algorithm: str) -> None:
    """Our codes equal RFC 6238's test vectors for SHA-1, SHA-256 and SHA-512."""
    secret = _b32(SEEDS[algorithm])
    assert generate_totp(secret, at=at, digits=8, algorithm=algorithm) == expected  # type: ignore[arg-type]
    assert verify_totp(secret, expected, at=at, digits=8, algorithm=algorithm, window=0) == at // 30  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256", "SHA512"])
@pytest.mark.parametrize("digits", [6, 7, 8])
def test_pyotp_codes_verify_with_ours_and_ours_with_pyotp(algorithm: str, digits: int) -> None:
    """For every algorithm and length, pyotp and we agree on each other's codes."""
    secret = generate_secret()
    theirs = pyotp.TOTP(secret, digits=digits, digest=PYOTP_DIGESTS[algorithm])
    for at in (NOW, NOW + 29, NOW + 30, 59.0, 2_000_000_000.0):
        assert verify_totp(secret, theirs.at(at), at=at, digits=digits, algorithm=algorithm) is not None  # type: ignore[arg-type]
        ours = generate_totp(secret, at=at, digits=digits, algorithm=algorithm)  # type: ignore[arg-type]
        assert theirs.verify(ours, for_time=at)


def test_pyotp_parses_our_provisioning_uri() -> None:
    """pyotp reads our URI's secret, label, issuer, algorithm, digits and period."""
    secret = generate_secret()
    uri = provisioning_uri(
        secret, account_name="ada lovelace@example.com", issuer="Example & Co", digits=8, algorithm="SHA256", period=60
    )
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.secret == secret
    assert parsed.name == "ada lovelace@example.com"
    assert parsed.issuer == "Example & Co"
    assert parsed.digits == 8 and parsed.interval == 60 and parsed.digest is hashlib.sha256
    assert parsed.at(NOW) == generate_totp(secret, at=NOW, digits=8, algorithm="SHA256", period=60)


@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256", "SHA512"])
def test_we_parse_pyotps_provisioning_uri(algorithm: str) -> None:
    """We read pyotp's URI, including the parameters it leaves out at their defaults."""
    secret = pyotp.random_base32()
    theirs = pyotp.TOTP(secret, digits=6 if algorithm == "SHA1" else 7, digest=PYOTP_DIGESTS[algorithm])
    uri = theirs.provisioning_uri(name="ada@example.com", issuer_name="Example Inc")
    params = parse_provisioning_uri(uri)
    assert params == TOTPParameters(
        secret=secret,
        account_name="ada@example.com",
        issuer="Example Inc",
        digits=theirs.digits,
        algorithm=algorithm,  # type: ignore[arg-type]
        period=30,
    )
    code = theirs.at(NOW)
    assert verify_totp(params.secret, code, at=NOW, digits=params.digits, algorithm=params.algorithm) is not None


def test_provisioning_uri_round_trips_through_our_parser() -> None:
    """Our parser reads back exactly what our builder wrote, and hides the secret in repr."""
    secret = generate_secret(length=32)
    uri = provisioning_uri(secret, account_name="ada", issuer="Ex", digits=7, algorithm="SHA512", period=45)
    params = parse_provisioning_uri(uri)
    assert params == TOTPParameters(secret, "ada", "Ex", 7, "SHA512", 45)
    assert secret not in repr(params)
    assert uri.startswith("otpauth://totp/Ex:ada?secret=")


@pytest.mark.parametrize(
    "uri",
    [
        "https://totp/ada?secret=JBSWY3DPEHPK3PXP",
        "otpauth://hotp/ada?secret=JBSWY3DPEHPK3PXP&counter=1",
        "otpauth://totp/ada",
        "otpauth://totp/ada?secret=not-base32!",
        "otpauth://totp/ada?secret=JBSWY3DPEHPK3PXP&digits=5",
        "otpauth://totp/ada?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
        "otpauth://totp/ada?secret=JBSWY3DPEHPK3PXP&period=x",
        "otpauth://totp/ada?secret=JBSWY3DPEHPK3PXP&secret=JBSWY3DPEHPK3PXP",
        "otpauth://totp/A:ada?secret=JBSWY3DPEHPK3PXP&issuer=B",
        "otpauth://totp/?secret=JBSWY3DPEHPK3PXP",
    ],
)
def test_malformed_provisioning_uris_are_refused(uri: str) -> None:
    """A URI that is not a well-formed TOTP URI raises ValueError."""
    with pytest.raises(ValueError):
        parse_provisioning_uri(uri)


def test_t4_window_is_one_step_each_side() -> None:
    """The previous and next step's codes verify; two steps away do not."""
    secret = generate_secret()
    for offset, accepted in ((-60, False), (-30, True), (0, True), (30, True), (60, False)):
        code = generate_totp(secret, at=NOW + offset)
        assert (verify_totp(secret, code, at=NOW) is not None) is accepted, offset
    assert verify_totp(secret, generate_totp(secret, at=NOW + 30), at=NOW, window=0) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "١٢٣٤٥٦", "12345a", "x" * 10_000])
def test_malformed_codes_never_verify(code: str) -> None:
    """A code of the wrong length or not of ASCII digits is simply wrong."""
    assert verify_totp(generate_secret(), code, at=NOW) is None


def test_secrets_are_random_base32_of_at_least_128_bits() -> None:
    """Secrets are base32 of 160 bits by default, distinct, and never shorter than 128 bits."""
    secrets_made = {generate_secret() for _ in range(100)}
    assert len(secrets_made) == 100
    assert all(len(s) == 32 and base64.b32decode(s) for s in secrets_made)
    assert len(generate_secret(length=16)) == 26
    with pytest.raises(ValueError):
        generate_secret(length=15)


def test_secret_spelling_is_forgiving() -> None:
    """Lower case, spaces and padding in a secret give the same codes."""
    secret = generate_secret()
    spaced = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)).lower() + "===="
    assert generate_totp(spaced, at=NOW) == generate_totp(secret, at=NOW)


@pytest.mark.parametrize("kwargs", [{"digits": 5}, {"digits": 9}, {"algorithm": "MD5"}, {"period": 0}, {"window": 11}])
def test_bad_options_are_refused(kwargs: dict[str, object]) -> None:
    """Digits outside 6-8, unknown algorithms, bad periods and windows raise ValueError."""
    with pytest.raises(ValueError):
        verify_totp(generate_secret(), "123456", at=NOW, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("secret", ["", "JBSW", "JBSWY3DPEHPK3PX1", "é" * 32])
def test_bad_secrets_are_refused(secret: str) -> None:
    """Secrets that are empty, too short or not base32 raise ValueError."""
    with pytest.raises(ValueError):
        generate_totp(secret, at=NOW)


@pytest.mark.parametrize(
    "label",
    [{"account_name": "\ud800"}, {"account_name": "ada\x00"}, {"account_name": "a" * 256}, {"issuer": "Ex\udfff"}],
)
def test_bad_labels_are_refused_not_crashed_on(label: dict[str, str]) -> None:
    """Lone surrogates, NUL and oversized labels raise ValueError instead of a UnicodeEncodeError."""
    options = {"account_name": "ada", "issuer": "Example", **label}
    with pytest.raises(ValueError):
        provisioning_uri(generate_secret(), account_name=options["account_name"], issuer=options["issuer"])
