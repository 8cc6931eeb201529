"""Construction refuses configurations that cannot work; the challenge cookie helpers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from lucia import Lucia
from lucia.adapters.memory import MemoryAdapter
from lucia_webauthn import Passkeys


@pytest.fixture
def auth() -> Lucia:
    return Lucia(adapter=MemoryAdapter())


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"rp_id": "https://example.com"}, ValueError),
        ({"rp_id": "Example.com"}, ValueError),
        ({"rp_id": "example.com:443"}, ValueError),
        ({"rp_id": "127.0.0.1", "origins": ["http://127.0.0.1"]}, ValueError),
        ({"rp_id": "localhost", "origins": ["http://127.0.0.1:8000"]}, ValueError),
        ({"rp_id": ""}, ValueError),
        ({"rp_name": " "}, ValueError),
        ({"origins": "https://example.com"}, TypeError),
        ({"origins": []}, ValueError),
        ({"origins": [None]}, TypeError),
        ({"origins": ["https://example.com/"]}, ValueError),
        ({"origins": ["https://example.com/login"]}, ValueError),
        ({"origins": ["https://EXAMPLE.com"]}, ValueError),
        ({"origins": ["https://example.com:443"]}, ValueError),
        ({"origins": ["https://user@example.com"]}, ValueError),
        ({"origins": ["http://example.com"]}, ValueError),
        ({"origins": ["https://evil.example"]}, ValueError),
        ({"origins": ["https://notexample.com"]}, ValueError),
        ({"origins": ["ftp://example.com"]}, ValueError),
        ({"challenge_expires_in": timedelta(0)}, ValueError),
        ({"challenge_expires_in": timedelta(days=2)}, ValueError),
        ({"challenge_expires_in": 300}, ValueError),
        ({"user_verification": "always"}, ValueError),
        ({"resident_key": True}, ValueError),
        ({"store": object()}, TypeError),
    ],
)
def test_configurations_that_cannot_work_are_refused(auth: Lucia, options: dict[str, Any], error: type) -> None:
    """Bad RP IDs, origins, expiries, requirement levels and stores fail at construction."""
    settings: dict[str, Any] = {"rp_id": "example.com", "rp_name": "Example", "origins": ["https://example.com"]}
    with pytest.raises(error):
        Passkeys(auth, **{**settings, **options})


@pytest.mark.parametrize(
    ("rp_id", "origins"),
    [
        ("example.com", ["https://example.com", "https://www.example.com", "https://example.com:8443"]),
        ("localhost", ["http://localhost:8000", "https://localhost", "http://app.localhost:3000"]),
        ("example.com", ["android:apk-key-hash:" + "A" * 43]),
    ],
)
def test_origins_as_browsers_send_them_are_accepted(auth: Lucia, rp_id: str, origins: list[str]) -> None:
    """Subdomains, ports, loopback http in development and Android app origins are fine."""
    assert Passkeys(auth, rp_id=rp_id, rp_name="Example", origins=origins).origins == tuple(origins)


def test_the_store_defaults_to_the_auth_adapter(auth: Lucia) -> None:
    """Without ``store=`` the passkeys live in the auth's adapter."""
    passkeys = Passkeys(auth, rp_id="example.com", rp_name="Example", origins=["https://example.com"])
    assert passkeys.store is auth.users
    other = MemoryAdapter()
    assert Passkeys(auth, rp_id="example.com", rp_name="E", origins=["https://example.com"], store=other).store is other


@pytest.mark.parametrize(("env", "prefix", "secure"), [("DEV", "", False), ("PROD", "__Host-", True)])
def test_the_challenge_cookie(env: str, prefix: str, secure: bool) -> None:
    """HttpOnly, SameSite=Strict, Path=/, lasting the ceremony; ``__Host-`` and Secure in PROD; one per kind."""
    passkeys = Passkeys(
        Lucia(adapter=MemoryAdapter(), env=env),  # type: ignore[arg-type]
        rp_id="example.com",
        rp_name="Example",
        origins=["https://example.com"],
        challenge_expires_in=timedelta(minutes=2),
    )
    challenge_id = "A" * 43
    cookie = passkeys.challenge_cookie("registration", challenge_id)
    header = cookie.serialize()
    assert header.startswith(f"{prefix}lucia_passkey_registration={challenge_id}; Max-Age=120; Path=/; HttpOnly")
    assert header.endswith("SameSite=Strict") and ("; Secure" in header) is secure
    assert passkeys.read_challenge_cookie("registration", f"a=b; {cookie.name}={challenge_id}") == challenge_id
    assert passkeys.read_challenge_cookie("authentication", f"{cookie.name}={challenge_id}") is None
    assert (
        passkeys.challenge_cookie("authentication", None)
        .serialize()
        .startswith(f"{prefix}lucia_passkey_authentication=; Max-Age=0;")
    )


@pytest.mark.parametrize("header", [None, "", "garbage", "lucia_passkey_registration=short", ["x=1", 5], "=" * 40_000])
def test_reading_the_challenge_cookie_never_raises(auth: Lucia, header: Any) -> None:
    """Missing, malformed and oversized cookie headers give ``None``."""
    passkeys = Passkeys(auth, rp_id="example.com", rp_name="Example", origins=["https://example.com"])
    assert passkeys.read_challenge_cookie("registration", header) is None
