"""Session cookies: what is set, and that reading never fails."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lucia import Lucia, SessionCookieOptions
from lucia._crypto import TOKEN_PATTERN, generate_token
from lucia.adapters.memory import MemoryAdapter
from lucia.cookies import MAX_COOKIE_MAX_AGE, read_cookie
from lucia.testing import FakeClock

pytestmark = pytest.mark.anyio


async def test_c1_session_cookie_attributes_in_dev_and_prod(clock: FakeClock) -> None:
    """HttpOnly, SameSite=Lax, Path=/, no Domain, Secure only in PROD, Max-Age to the idle expiry."""
    for env, secure in (("DEV", False), ("PROD", True)):
        auth = Lucia(adapter=MemoryAdapter(), env=env, clock=clock)
        user = await auth.create_user(primary_key=None, attributes={})
        session = await auth.create_session(user.user_id)
        header = auth.create_session_cookie(session).serialize()
        parts = header.split("; ")
        assert parts[0] == f"auth_session={session.token}"
        assert "HttpOnly" in parts and "SameSite=Lax" in parts and "Path=/" in parts
        assert ("Secure" in parts) is secure
        assert not any(p.startswith("Domain=") for p in parts)
        assert f"Max-Age={15 * 86400}" in parts


def test_c1_blank_cookie_clears_the_session(clock: FakeClock) -> None:
    """Signing out sets an empty value with Max-Age=0."""
    auth = Lucia(adapter=MemoryAdapter(), clock=clock)
    header = auth.create_session_cookie(None).serialize()
    assert header.startswith("auth_session=; Max-Age=0;")
    assert "HttpOnly" in header


def test_c1_max_age_is_capped_at_400_days_and_options_apply(clock: FakeClock) -> None:
    """Max-Age never exceeds 400 days; configured name, SameSite=Strict and Domain appear."""
    from datetime import timedelta

    from lucia import SessionExpiresIn

    auth = Lucia(
        adapter=MemoryAdapter(),
        clock=clock,
        session_expires_in=SessionExpiresIn(active_period=timedelta(days=300), idle_period=timedelta(days=300)),
        session_cookie=SessionCookieOptions(name="sid", same_site="strict", domain="example.com"),
    )
    row = auth._policy.new_row("id", "u", int(clock() * 1000), persistent=True, expires_in=None, attributes={})
    session = auth._policy.session(row, generate_token(), "active", fresh=True)
    header = auth.create_session_cookie(session).serialize()
    assert f"Max-Age={MAX_COOKIE_MAX_AGE}" in header
    assert header.startswith("sid=") and "SameSite=Strict" in header and "Domain=example.com" in header
    assert "'**********'" in repr(auth.create_session_cookie(session))


def test_cookie_options_refuse_header_injection() -> None:
    """Cookie names and attributes cannot smuggle separators into Set-Cookie."""
    for bad in ({"name": "a;b"}, {"name": ""}, {"path": "/;Domain=evil"}, {"same_site": "none"}):
        with pytest.raises(ValueError):
            SessionCookieOptions(**bad)  # type: ignore[arg-type]


def test_c2_reading_finds_the_cookie_among_several_headers() -> None:
    """The session cookie is found across several Cookie headers; the first duplicate wins."""
    token, other = generate_token(), generate_token()
    assert read_cookie(["theme=dark", f"a=1; auth_session={token}; b=2"], "auth_session") == token
    assert read_cookie([f"auth_session={token}; auth_session={other}"], "auth_session") == token
    assert read_cookie([f'auth_session="{token}"'], "auth_session") == token
    assert read_cookie(["auth_sessionx=1; xauth_session=2"], "auth_session") is None


def test_c2_oversized_headers_are_anonymous() -> None:
    """A 100 KB Cookie header gives no session, even with a valid cookie inside."""
    token = generate_token()
    assert read_cookie([f"auth_session={token}; pad=" + "x" * 100_000], "auth_session") is None
    assert read_cookie(["pad=" + "x" * 10_000 + f"; auth_session={token}"], "auth_session") == token


@given(st.lists(st.text(), max_size=4))
def test_c2_garbage_cookie_headers_never_raise(headers: list[str]) -> None:
    """Any text in any number of Cookie headers gives a string or None, never an exception."""
    auth = Lucia(adapter=MemoryAdapter())
    result = auth.read_session_cookie(headers)
    assert result is None or len(result) == 40


@given(st.binary(max_size=200))
def test_c2_undecodable_bytes_never_raise(raw: bytes) -> None:
    """Bytes decoded leniently (as servers do) never break parsing."""
    auth = Lucia(adapter=MemoryAdapter())
    result = auth.read_session_cookie(raw.decode("latin-1"))
    assert result is None or TOKEN_PATTERN.fullmatch(result)
    assert read_cookie([raw], "auth_session") is None  # type: ignore[list-item]
