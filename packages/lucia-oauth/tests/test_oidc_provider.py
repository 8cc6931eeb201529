"""The whole authorization-code flow against a real OpenID Connect server: oidc-provider (Node.js).

The browser is played by httpx: it follows the redirects and submits oidc-provider's
development login and consent forms, then hands the callback query to our code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest

from lucia import Lucia, LuciaError
from lucia_oauth import (
    AuthorizationURL,
    LuciaOAuthError,
    LuciaOAuthIdTokenError,
    LuciaOAuthRequestError,
    OIDCProvider,
    ProviderSession,
    check_callback,
    create_oauth_cookies,
    read_oauth_cookies,
)

pytestmark = [pytest.mark.anyio, pytest.mark.service("node")]

SignIn = Callable[[str, str, str], Awaitable[dict[str, str]]]
SignedIn = Callable[[str], Awaitable[tuple[AuthorizationURL, dict[str, str]]]]


def cookie_header(authorization: AuthorizationURL, auth: Lucia, next: str | None = None) -> str:
    """The Cookie header a browser would send back after ``create_oauth_cookies``."""
    return "; ".join(f"{c.name}={c.value}" for c in create_oauth_cookies(auth, authorization, next=next))


@pytest.fixture
def provider(auth: Lucia, oidc_server: Any) -> OIDCProvider:
    return OIDCProvider(auth, **oidc_server.client_options(), scope=["openid", "email", "profile"])


@pytest.fixture
def signed_in(sign_in_at_server: SignIn, provider: OIDCProvider, oidc_server: Any) -> SignedIn:
    """``authorization, params = await signed_in(login)``: a new flow, signed in at the server as ``login``."""

    async def sign_in(login: str) -> tuple[AuthorizationURL, dict[str, str]]:
        authorization = await provider.get_authorization_url()
        return authorization, await sign_in_at_server(authorization.url, login, oidc_server.redirect_uri)

    return sign_in


async def _assert_not_linked(auth: Lucia, login: str) -> None:
    """A refused sign-in created nothing: no key for ``login`` at the server."""
    with pytest.raises(LuciaError):
        await auth.get_key("oidc", login)


async def _session_with_refresh_token(signed_in: SignedIn, provider: OIDCProvider, login: str) -> ProviderSession:
    """A validated sign-in as ``login`` whose tokens hold a refresh token."""
    authorization, params = await signed_in(login)
    session = await provider.validate_callback(params["code"], code_verifier=authorization.code_verifier)
    assert session.tokens.refresh_token is not None
    return session


async def test_full_flow_creates_the_user_and_finds_it_on_the_second_sign_in(
    sign_in_at_server: SignIn, auth: Lucia, provider: OIDCProvider, oidc_server: Any
) -> None:
    """URL → login → consent → callback → verified claims → create_user → existing_user next time."""
    authorization = await provider.get_authorization_url()
    query = parse_qs(urlsplit(authorization.url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["nonce"] == [authorization.nonce]
    params = await sign_in_at_server(authorization.url, "alice", oidc_server.redirect_uri)

    callback = check_callback(
        params, read_oauth_cookies(cookie_header(authorization, auth), provider), issuer=provider.issuer
    )
    session = await provider.validate_callback(callback.code, code_verifier=callback.code_verifier)

    assert session.provider_id == "oidc"
    assert session.provider_user_id == "alice"
    assert session.provider_user["iss"] == oidc_server.issuer
    assert session.provider_user["email"] == "alice@example.test"
    assert session.email_verified is True
    assert session.tokens.id_token is not None
    assert session.existing_user is None
    user = await session.create_user({"username": "alice"})
    assert (await auth.get_key("oidc", "alice")).user_id == user.user_id

    again = await provider.get_authorization_url()
    params = await sign_in_at_server(again.url, "alice", oidc_server.redirect_uri)
    callback = check_callback(params, read_oauth_cookies(cookie_header(again, auth), provider), issuer=provider.issuer)
    second = await provider.validate_callback(callback.code, code_verifier=callback.code_verifier)
    assert second.existing_user is not None
    assert second.existing_user.user_id == user.user_id


async def test_explicit_nonce_from_the_cookie_is_accepted(
    signed_in: SignedIn, auth: Lucia, provider: OIDCProvider
) -> None:
    """Passing the nonce kept in the cookie verifies the id_token just like the derived one."""
    authorization, params = await signed_in("nina")
    callback = check_callback(params, read_oauth_cookies(cookie_header(authorization, auth), provider))
    assert callback.nonce == authorization.nonce
    session = await provider.validate_callback(
        callback.code, code_verifier=callback.code_verifier, nonce=callback.nonce
    )
    assert session.provider_user["nonce"] == authorization.nonce


async def test_o2_wrong_code_verifier_is_refused_by_the_server(
    signed_in: SignedIn, auth: Lucia, provider: OIDCProvider
) -> None:
    """The server refuses a code redeemed with another verifier: LuciaOAuthRequestError, nothing created."""
    _, params = await signed_in("bob")
    other = await provider.get_authorization_url()
    with pytest.raises(LuciaOAuthRequestError) as caught:
        await provider.validate_callback(params["code"], code_verifier=other.code_verifier)
    assert caught.value.status == 400
    assert caught.value.error == "invalid_grant"
    await _assert_not_linked(auth, "bob")


async def test_o2_missing_code_verifier_is_refused_locally_and_by_the_server(
    signed_in: SignedIn, auth: Lucia, provider: OIDCProvider
) -> None:
    """Without a verifier validate_callback refuses before sending; the server refuses the bare code too."""
    _, params = await signed_in("carol")
    with pytest.raises(LuciaOAuthError) as local:
        await provider.validate_callback(params["code"], code_verifier=None)
    assert local.value.code == "OAUTH_INVALID_CALLBACK"
    with pytest.raises(LuciaOAuthRequestError) as remote:
        await provider.exchange_code(params["code"], code_verifier=None)
    assert remote.value.status == 400
    await _assert_not_linked(auth, "carol")


async def test_o1_callback_with_another_state_is_refused_before_the_exchange(
    signed_in: SignedIn, auth: Lucia, provider: OIDCProvider
) -> None:
    """A real callback checked against another flow's state cookie is refused; the code stays unused."""
    authorization, params = await signed_in("dave")
    other = await provider.get_authorization_url()
    with pytest.raises(LuciaOAuthError) as caught:
        check_callback(params, read_oauth_cookies(cookie_header(other, auth), provider))
    assert caught.value.code == "OAUTH_INVALID_STATE"
    # The legitimate owner of the flow can still finish it: nothing was spent.
    callback = check_callback(params, read_oauth_cookies(cookie_header(authorization, auth), provider))
    session = await provider.validate_callback(callback.code, code_verifier=callback.code_verifier)
    assert session.provider_user_id == "dave"


async def test_a_code_is_refused_the_second_time(signed_in: SignedIn, provider: OIDCProvider) -> None:
    """Replaying an authorization code fails with the server's invalid_grant."""
    authorization, params = await signed_in("erin")
    await provider.validate_callback(params["code"], code_verifier=authorization.code_verifier)
    with pytest.raises(LuciaOAuthRequestError) as caught:
        await provider.validate_callback(params["code"], code_verifier=authorization.code_verifier)
    assert caught.value.error == "invalid_grant"


async def test_refresh_access_token_against_the_server(signed_in: SignedIn, provider: OIDCProvider) -> None:
    """A refresh token from the server yields a new, verified token set."""
    session = await _session_with_refresh_token(signed_in, provider, "frank")
    assert session.tokens.refresh_token is not None
    refreshed = await provider.refresh_access_token(session.tokens.refresh_token, subject="frank")
    assert refreshed.access_token != session.tokens.access_token
    assert refreshed.refresh_token is not None
    with pytest.raises(LuciaOAuthIdTokenError):  # H12: the real server's refreshed id_token is for frank
        await provider.refresh_access_token(refreshed.refresh_token, subject="not-frank")
    with pytest.raises(LuciaOAuthRequestError) as caught:
        await provider.refresh_access_token("not-a-refresh-token")
    assert caught.value.error == "invalid_grant"


async def test_o3_callback_from_another_issuer_is_refused(
    signed_in: SignedIn, auth: Lucia, provider: OIDCProvider, oidc_server: Any
) -> None:
    """The server sends RFC 9207 ``iss``; a callback naming another issuer is refused (mix-up)."""
    authorization, params = await signed_in("gina")
    assert params["iss"] == oidc_server.issuer
    with pytest.raises(LuciaOAuthError) as caught:
        check_callback(
            {**params, "iss": "https://evil.example"},
            read_oauth_cookies(cookie_header(authorization, auth), provider),
            issuer=provider.issuer,
        )
    assert caught.value.code == "OAUTH_INVALID_CALLBACK"


async def test_concurrent_refreshes_reach_the_server_once(signed_in: SignedIn, provider: OIDCProvider) -> None:
    """Five concurrent refreshes of one token share one answer, and the grant stays usable."""
    session = await _session_with_refresh_token(signed_in, provider, "hugo")
    results = []

    async def refresh() -> None:
        assert session.tokens.refresh_token is not None
        results.append(await provider.refresh_access_token(session.tokens.refresh_token, subject="hugo"))

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(refresh)
    assert len({id(r) for r in results}) == 1
    assert results[0].refresh_token is not None
    again = await provider.refresh_access_token(results[0].refresh_token, subject="hugo")
    assert again.access_token != results[0].access_token
