"""The flow cookies: short-lived, HttpOnly, SameSite=Lax, Secure in PROD; state compared in constant time."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lucia import Lucia
from lucia.adapters.memory import MemoryAdapter
from lucia_oauth import (
    CODE_VERIFIER_COOKIE,
    NEXT_COOKIE,
    NONCE_COOKIE,
    STATE_COOKIE,
    AuthorizationURL,
    LuciaOAuthError,
    OAuthCookies,
    check_callback,
    check_state,
    clear_oauth_cookies,
    create_oauth_cookies,
    read_oauth_cookies,
)
from lucia_oauth import _cookies as cookies_module

DEV = Lucia(adapter=MemoryAdapter(), env="DEV")
PROD = Lucia(adapter=MemoryAdapter(), env="PROD")
FLOW = AuthorizationURL("https://provider.example/authorize?x=1", "s" * 43, "v" * 64, nonce="n" * 43)


def header_for(auth: Lucia, authorization: AuthorizationURL = FLOW, **options: Any) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in create_oauth_cookies(auth, authorization, **options))


def test_o1_cookies_are_short_lived_httponly_lax_and_secure_in_prod() -> None:
    """state, code_verifier and nonce cookies: HttpOnly, SameSite=Lax, Path=/, Max-Age=600, Secure only in PROD."""
    for auth, secure in ((DEV, False), (PROD, True)):
        cookies = create_oauth_cookies(auth, FLOW)
        assert [c.name for c in cookies] == [STATE_COOKIE, CODE_VERIFIER_COOKIE, NONCE_COOKIE]
        for cookie in cookies:
            header = cookie.serialize()
            assert "HttpOnly" in header
            assert "SameSite=Lax" in header
            assert "Path=/" in header
            assert "Max-Age=600" in header
            assert ("Secure" in header) is secure
            assert "Domain" not in header


def test_o1_clearing_expires_every_flow_cookie() -> None:
    """After the callback the cookies are blanked with Max-Age=0: a flow is single-use."""
    cleared = clear_oauth_cookies(PROD)
    assert {c.name for c in cleared} == {STATE_COOKIE, CODE_VERIFIER_COOKIE, NONCE_COOKIE, NEXT_COOKIE}
    for cookie in cleared:
        assert cookie.value == ""
        assert "Max-Age=0" in cookie.serialize()
        assert "Secure" in cookie.serialize()


def test_o1_cookies_round_trip() -> None:
    """What create_oauth_cookies sets, read_oauth_cookies reads back."""
    read = read_oauth_cookies(header_for(DEV, next="/account?tab=2"))
    assert read == OAuthCookies(
        state=FLOW.state, code_verifier=FLOW.code_verifier, nonce=FLOW.nonce, next="/account?tab=2"
    )
    assert FLOW.state not in repr(read) and "v" * 64 not in repr(read)


def test_o1_state_mismatch_or_missing_is_refused() -> None:
    """A different, empty or missing state on either side is OAUTH_INVALID_STATE."""
    cookies = read_oauth_cookies(header_for(DEV))
    for params in ({"code": "c", "state": "t" * 43}, {"code": "c"}, {"code": "c", "state": ""}):
        with pytest.raises(LuciaOAuthError) as caught:
            check_callback(params, cookies)
        assert caught.value.code == "OAUTH_INVALID_STATE"
    with pytest.raises(LuciaOAuthError) as no_cookie:
        check_callback({"code": "c", "state": FLOW.state}, read_oauth_cookies(None))
    assert no_cookie.value.code == "OAUTH_INVALID_STATE"


def test_o1_state_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """check_state compares with hmac.compare_digest, never ``==``."""
    calls: list[tuple[bytes, bytes]] = []
    real = cookies_module.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(cookies_module.hmac, "compare_digest", spy)
    check_state("abc" * 15, "abc" * 15)
    with pytest.raises(LuciaOAuthError):
        check_state("abc" * 15, "abd" * 15)
    assert len(calls) == 2


def test_callback_without_code_is_refused() -> None:
    """A matching state without a code is OAUTH_INVALID_CALLBACK."""
    with pytest.raises(LuciaOAuthError) as caught:
        check_callback({"state": FLOW.state}, read_oauth_cookies(header_for(DEV)))
    assert caught.value.code == "OAUTH_INVALID_CALLBACK"


def test_callback_passes_code_verifier_and_nonce_on() -> None:
    """A good callback yields the code with the verifier and nonce from the cookies."""
    callback = check_callback({"state": FLOW.state, "code": "abc"}, read_oauth_cookies(header_for(DEV)))
    assert (callback.code, callback.code_verifier, callback.nonce, callback.next) == ("abc", "v" * 64, "n" * 43, "/")
    assert "abc" not in repr(callback)


def test_provider_error_text_is_not_echoed_verbatim() -> None:
    """An ``error`` parameter with markup is reported without repeating it."""
    with pytest.raises(LuciaOAuthError) as caught:
        check_callback({"error": "<script>alert(1)</script>"}, read_oauth_cookies(None))
    assert caught.value.code == "OAUTH_PROVIDER_ERROR"
    assert "<script>" not in str(caught.value)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "/\\evil.com",
        "https:evil.com",
        "javascript:alert(1)",
        "%2F%2Fevil.com",
        "/%2Fevil.com",
        "https://evil.com/",
        " //evil.com",
        "\t/\\evil.com",
        "/%5Cevil.com",
    ],
)
def test_c4_unsafe_post_login_targets_are_dropped(target: str) -> None:
    """Off-site post-login targets never reach the cookie, and a forged cookie is replaced by "/"."""
    assert NEXT_COOKIE not in header_for(DEV, next=target)
    forged = f"{header_for(DEV)}; {NEXT_COOKIE}={target}"
    callback = check_callback({"state": FLOW.state, "code": "c"}, read_oauth_cookies(forged))
    assert callback.next == "/"


def test_c4_relative_and_allowlisted_targets_are_kept() -> None:
    """A relative path, or an absolute URL on an allowed origin, survives the round trip."""
    callback = check_callback(
        {"state": FLOW.state, "code": "c"}, read_oauth_cookies(header_for(DEV, next="/a?b=c&d=e"))
    )
    assert callback.next == "/a?b=c&d=e"
    allowed = ["https://app.example.com"]
    header = header_for(DEV, next="https://app.example.com/home", allowed_origins=allowed)
    callback = check_callback({"state": FLOW.state, "code": "c"}, read_oauth_cookies(header), allowed_origins=allowed)
    assert callback.next == "https://app.example.com/home"


@given(st.text(max_size=300))
def test_garbage_cookie_headers_read_as_absent_never_raise(header: str) -> None:
    """Any Cookie header reads without raising; odd values read as absent, so the state check fails closed."""
    read = read_oauth_cookies([header, header])
    for value in (read.state, read.code_verifier, read.nonce):
        assert value is None or (value.isascii() and ";" not in value and " " not in value)
