"""The flow cookies: per provider, short-lived, HttpOnly, SameSite=Lax (None for form_post); state in constant time."""

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
    Apple,
    AuthorizationURL,
    LuciaOAuthError,
    LuciaOAuthStateError,
    OAuth2Provider,
    OAuthCookies,
    check_callback,
    check_state,
    clear_oauth_cookies,
    create_oauth_cookies,
    form_post_callback_paths,
    oauth_cookie_name,
    read_oauth_cookies,
)
from lucia_oauth import _cookies as cookies_module

DEV = Lucia(adapter=MemoryAdapter(), env="DEV")
PROD = Lucia(adapter=MemoryAdapter(), env="PROD")
FLOW = AuthorizationURL(
    "https://provider.example/authorize?x=1", "s" * 43, "v" * 64, nonce="n" * 43, provider_id="example"
)


def provider(provider_id: str = "example", **options: Any) -> OAuth2Provider:
    return OAuth2Provider(
        DEV,
        provider_id=provider_id,
        client_id="client",
        client_secret="secret",
        redirect_uri=f"https://app.example/login/{provider_id}/callback",
        authorization_endpoint="https://provider.example/authorize",
        token_endpoint="https://provider.example/token",
        **options,
    )


EXAMPLE = provider()


def header_for(auth: Lucia, authorization: AuthorizationURL = FLOW, **options: Any) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in create_oauth_cookies(auth, authorization, **options))


def read_example(header: Any) -> OAuthCookies:
    return read_oauth_cookies(header, EXAMPLE)


def test_o1_cookies_are_short_lived_httponly_lax_and_secure_in_prod() -> None:
    """state, code_verifier and nonce cookies: HttpOnly, SameSite=Lax, Path=/, Max-Age=600, Secure only in PROD."""
    for auth, secure in ((DEV, False), (PROD, True)):
        cookies = create_oauth_cookies(auth, FLOW)
        assert [c.name for c in cookies] == [
            "oauth_state_example",
            "oauth_code_verifier_example",
            "oauth_nonce_example",
        ]
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
    cleared = clear_oauth_cookies(PROD, EXAMPLE)
    assert {c.name for c in cleared} == {
        oauth_cookie_name(prefix, "example")
        for prefix in (STATE_COOKIE, CODE_VERIFIER_COOKIE, NONCE_COOKIE, NEXT_COOKIE)
    }
    for cookie in cleared:
        assert cookie.value == ""
        assert "Max-Age=0" in cookie.serialize()
        assert "Secure" in cookie.serialize()


def test_o1_cookies_round_trip() -> None:
    """What create_oauth_cookies sets, read_oauth_cookies reads back."""
    cookies = read_example(header_for(DEV, next="/account?tab=2"))
    assert cookies == OAuthCookies(
        state=FLOW.state, code_verifier=FLOW.code_verifier, nonce=FLOW.nonce, next="/account?tab=2"
    )
    assert FLOW.state not in repr(cookies) and "v" * 64 not in repr(cookies)


def test_o1_state_mismatch_or_missing_is_refused() -> None:
    """A different, empty or missing state on either side is OAUTH_INVALID_STATE."""
    cookies = read_example(header_for(DEV))
    for params in ({"code": "c", "state": "t" * 43}, {"code": "c"}, {"code": "c", "state": ""}):
        with pytest.raises(LuciaOAuthError) as caught:
            check_callback(params, cookies)
        assert caught.value.code == "OAUTH_INVALID_STATE"
    with pytest.raises(LuciaOAuthError) as no_cookie:
        check_callback({"code": "c", "state": FLOW.state}, read_example(None))
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
        check_callback({"state": FLOW.state}, read_example(header_for(DEV)))
    assert caught.value.code == "OAUTH_INVALID_CALLBACK"


def test_callback_passes_code_verifier_and_nonce_on() -> None:
    """A good callback yields the code with the verifier and nonce from the cookies."""
    callback = check_callback({"state": FLOW.state, "code": "abc"}, read_example(header_for(DEV)))
    assert (callback.code, callback.code_verifier, callback.nonce, callback.next) == ("abc", "v" * 64, "n" * 43, "/")
    assert "abc" not in repr(callback)


def test_provider_error_text_is_not_echoed_verbatim() -> None:
    """An ``error`` parameter with markup is reported without repeating it."""
    with pytest.raises(LuciaOAuthError) as caught:
        check_callback({"error": "<script>alert(1)</script>"}, read_example(None))
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
    assert oauth_cookie_name(NEXT_COOKIE, "example") not in header_for(DEV, next=target)
    forged = f"{header_for(DEV)}; {oauth_cookie_name(NEXT_COOKIE, 'example')}={target}"
    callback = check_callback({"state": FLOW.state, "code": "c"}, read_example(forged))
    assert callback.next == "/"


def test_c4_relative_and_allowlisted_targets_are_kept() -> None:
    """A relative path, or an absolute URL on an allowed origin, survives the round trip."""
    callback = check_callback({"state": FLOW.state, "code": "c"}, read_example(header_for(DEV, next="/a?b=c&d=e")))
    assert callback.next == "/a?b=c&d=e"
    allowed = ["https://app.example.com"]
    header = header_for(DEV, next="https://app.example.com/home", allowed_origins=allowed)
    callback = check_callback({"state": FLOW.state, "code": "c"}, read_example(header), allowed_origins=allowed)
    assert callback.next == "https://app.example.com/home"


@given(st.text(max_size=300))
def test_garbage_cookie_headers_read_as_absent_never_raise(header: str) -> None:
    """Any Cookie header reads without raising; odd values read as absent, so the state check fails closed."""
    cookies = read_example([header, header])
    for value in (cookies.state, cookies.code_verifier, cookies.nonce):
        assert value is None or (value.isascii() and ";" not in value and " " not in value)


# -- H12: one set of cookies per provider -------------------------------------------------------


def test_h12_cookie_names_carry_the_provider_id() -> None:
    """Every flow cookie is named after its provider; odd provider ids are percent-encoded into valid names."""
    github = AuthorizationURL("https://github.com/x", "g" * 43, "v" * 64, provider_id="github")
    assert [c.name for c in create_oauth_cookies(DEV, github, next="/a")] == [
        "oauth_state_github",
        "oauth_code_verifier_github",
        "oauth_next_github",
    ]
    assert oauth_cookie_name(STATE_COOKIE, "corp sso;=x") == "oauth_state_corp%20sso%3B%3Dx"
    odd = provider("corp sso;=x")
    cookies = create_oauth_cookies(
        DEV, AuthorizationURL("https://p.example", "o" * 43, None, provider_id=odd.provider_id)
    )
    assert read_oauth_cookies("; ".join(f"{c.name}={c.value}" for c in cookies), odd).state == "o" * 43


def test_h12_two_flows_with_two_providers_do_not_clobber_each_other() -> None:
    """Sign-ins started in two tabs (GitHub, then Google) both finish: each callback finds its own state."""
    github, google = provider("github"), provider("google")
    first = AuthorizationURL("https://github.com/x", "g" * 43, "gv" * 32, provider_id="github")
    second = AuthorizationURL("https://google.com/x", "o" * 43, "ov" * 32, nonce="n" * 43, provider_id="google")
    jar: dict[str, str] = {}
    for cookie in [*create_oauth_cookies(DEV, first, next="/a"), *create_oauth_cookies(DEV, second, next="/b")]:
        jar[cookie.name] = cookie.value  # a browser keeps one value per cookie name
    header = "; ".join(f"{name}={value}" for name, value in jar.items())
    done = check_callback({"state": "g" * 43, "code": "c1"}, read_oauth_cookies(header, github))
    assert (done.code_verifier, done.nonce, done.next) == ("gv" * 32, None, "/a")
    done = check_callback({"state": "o" * 43, "code": "c2"}, read_oauth_cookies(header, google))
    assert (done.code_verifier, done.nonce, done.next) == ("ov" * 32, "n" * 43, "/b")
    with pytest.raises(LuciaOAuthStateError):  # one provider's state never opens the other's flow
        check_callback({"state": "o" * 43, "code": "c3"}, read_oauth_cookies(header, github))
    cleared = {c.name for c in clear_oauth_cookies(DEV, github)}
    assert cleared.isdisjoint(c.name for c in create_oauth_cookies(DEV, second))


# -- H13: form_post callbacks -------------------------------------------------------------------


def test_h13_form_post_flow_cookies_are_samesite_none_and_secure_even_in_dev() -> None:
    """A flow answered by a cross-site form POST keeps its cookies SameSite=None; Secure (else they are not sent)."""
    apple = provider("apple", authorization_params={"response_mode": "form_post"})
    assert apple.uses_form_post
    flow = AuthorizationURL(
        "https://appleid.example/x", "a" * 43, None, nonce="n" * 43, provider_id="apple", form_post=True
    )
    for auth in (DEV, PROD):
        for cookie in [*create_oauth_cookies(auth, flow, next="/home"), *clear_oauth_cookies(auth, apple)]:
            header = cookie.serialize()
            assert "SameSite=None" in header and "Secure" in header and "HttpOnly" in header, header
    for cookie in create_oauth_cookies(DEV, FLOW):
        assert "SameSite=Lax" in cookie.serialize()


@pytest.mark.anyio
async def test_h13_form_post_is_declared_by_the_flow_and_the_provider() -> None:
    """get_authorization_url marks a response_mode=form_post flow; only such providers' paths are exempted."""
    apple = provider("apple", authorization_params={"response_mode": "form_post"})
    flow = await apple.get_authorization_url()
    assert flow.form_post and flow.provider_id == "apple"
    assert not (await EXAMPLE.get_authorization_url()).form_post
    assert form_post_callback_paths([EXAMPLE, apple, provider("github")]) == ["/login/apple/callback"]


def test_h13_apple_with_name_or_email_is_a_form_post_provider() -> None:
    """Apple asks for response_mode=form_post with the name or email scope, and its callback path is then exempt."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    options: dict[str, Any] = {"client_id": "c", "team_id": "T", "key_id": "K", "private_key": pem}
    apple = Apple(DEV, redirect_uri="https://app.example/login/apple/callback", **options)
    assert apple.uses_form_post
    assert form_post_callback_paths([apple]) == ["/login/apple/callback"]
    assert not Apple(DEV, redirect_uri="https://app.example/cb", scope=[], **options).uses_form_post
