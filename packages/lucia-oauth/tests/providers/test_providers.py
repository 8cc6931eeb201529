"""Each named provider, signed in end to end against its EMULATION (see conftest.py).

These are emulated flows: the real services cannot be reached from here. The emulator
answers with the response shapes of each provider's public documentation and enforces
its client authentication method, PKCE, exact redirect URI and single-use codes.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import lucia_oauth.providers
from lucia import Lucia, LuciaError
from lucia_oauth import LuciaOAuthError, LuciaOAuthRequestError, OAuth2Provider, ProviderSession
from lucia_oauth.providers import (
    Apple,
    Auth0,
    Discord,
    Facebook,
    GitHub,
    GitLab,
    Google,
    Keycloak,
    LinkedIn,
    MicrosoftEntraID,
    Okta,
    Patreon,
    Reddit,
    Slack,
    Spotify,
    Twitch,
)

pytestmark = pytest.mark.anyio


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


async def _sign_in(
    provider: OAuth2Provider,
    emulator: Any,
    name: str,
    *,
    pkce: bool,
    scope: str,
    extra: dict[str, str] | None = None,
) -> ProviderSession:
    """One emulated sign-in: check the authorization URL, play the browser, validate the callback."""
    authorization = await provider.get_authorization_url()
    url, state, code_verifier = authorization
    assert url.startswith(emulator.url(name) + "/")
    params = _query(url)
    assert params["response_type"] == "code"
    assert params["client_id"] == emulator.client_id
    assert params["redirect_uri"] == emulator.redirect_uri
    assert params["state"] == state and len(state) >= 22
    assert params["scope"] == scope
    if pkce:
        assert code_verifier is not None
        assert params["code_challenge"] == emulator.s256(code_verifier)
        assert params["code_challenge_method"] == "S256"
    else:
        assert code_verifier is None
        assert "code_challenge" not in params
    for key, value in (extra or {}).items():
        assert params[key] == value
    assert emulator.client_secret not in url
    callback = emulator.authorize(url)
    assert callback["state"] == state
    return await provider.validate_callback(callback["code"], code_verifier=code_verifier, nonce=authorization.nonce)


def _token_requests(emulator: Any, name: str) -> list[Any]:
    path = emulator.emulations[name].token_path
    return [r for r in emulator.requests_to(name) if r.path == path]


def _assert_client_auth(emulator: Any, name: str, method: str) -> None:
    """Every token request authenticated the documented way; the secret never in a URL."""
    requests = _token_requests(emulator, name)
    assert requests
    basic = "Basic " + base64.b64encode(f"{emulator.client_id}:{emulator.client_secret}".encode()).decode()
    for request in requests:
        assert request.method == "POST"
        assert urlsplit(request.url).query == ""
        if method == "client_secret_basic":
            assert request.headers["authorization"] == basic
            assert "client_secret" not in request.form
        else:
            assert "authorization" not in request.headers
            assert request.form["client_id"] == emulator.client_id
            if method == "client_secret_post":
                assert request.form["client_secret"] == emulator.client_secret
    assert all(emulator.client_secret not in r.url for r in emulator.requests_to(name))


async def _create_then_find(
    provider: OAuth2Provider, emulator: Any, name: str, first: ProviderSession, **sign_in: Any
) -> None:
    """The first sign-in creates the user; the second finds it by (provider_id, provider_user_id)."""
    assert first.existing_user is None
    user = await first.create_user({"username": f"{name}-user"})
    key = await provider.auth.get_key(provider.provider_id, first.provider_user_id)
    assert key.user_id == user.user_id and key.primary
    second = await _sign_in(provider, emulator, name, **sign_in)
    assert second.provider_user_id == first.provider_user_id
    assert second.existing_user is not None
    assert second.existing_user.user_id == user.user_id


async def _assert_refresh(provider: OAuth2Provider, session: ProviderSession, *, rotates: bool) -> None:
    """The refresh token buys a new access token (and, where the provider rotates, a new refresh token)."""
    refresh_token = session.tokens.refresh_token
    assert refresh_token is not None
    refreshed = await provider.refresh_access_token(refresh_token)
    assert refreshed.access_token != session.tokens.access_token
    assert refreshed.refresh_token is not None
    assert (refreshed.refresh_token != refresh_token) is rotates
    user = await provider.get_provider_user(refreshed, claims={"sub": session.provider_user_id})
    assert user.provider_user_id == session.provider_user_id


async def _assert_no_refresh(provider: OAuth2Provider, session: ProviderSession) -> None:
    """A provider without refresh tokens issues none and refuses locally."""
    assert session.tokens.refresh_token is None
    with pytest.raises(LuciaOAuthError) as info:
        await provider.refresh_access_token("anything")
    assert info.value.code == "OAUTH_CONFIGURATION"


async def _assert_not_linked(auth: Lucia, provider_id: str, provider_user_id: str) -> None:
    """A refused sign-in created nothing: no key for the provider account."""
    with pytest.raises(LuciaError) as missing:
        await auth.get_key(provider_id, provider_user_id)
    assert missing.value.code == "AUTH_INVALID_KEY_ID"


def _secret(emulator: Any, **extra: Any) -> dict[str, Any]:
    """The registered client's options, plus the provider's own."""
    return {
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
        "redirect_uri": emulator.redirect_uri,
        **extra,
    }


# -- plain OAuth 2.0 providers ----------------------------------------------------------------


async def test_emulated_github_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated GitHub: PKCE, POST-body secret, numeric id, the verified primary email from /user/emails."""
    github = GitHub(auth, **_secret(emulator, base_url=emulator.url("github"), api_base_url=emulator.url("github")))
    flow = {"pkce": True, "scope": "read:user user:email"}
    session = await _sign_in(github, emulator, "github", **flow)
    assert session.provider_id == "github"
    assert session.provider_user_id == "583231"
    assert session.provider_user["login"] == "octocat"
    assert session.provider_user["primary_email"] == "octocat@github.com"
    assert session.email == "octocat@github.com" and session.email_verified is True
    assert session.tokens.token_type == "bearer"
    assert session.tokens.scope == ("read:user", "user:email")  # GitHub answers them comma-separated
    _assert_client_auth(emulator, "github", "client_secret_post")
    await _create_then_find(github, emulator, "github", session, **flow)
    await _assert_refresh(github, session, rotates=True)
    _assert_client_auth(emulator, "github", "client_secret_post")


async def test_emulated_discord_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Discord: PKCE, HTTP Basic client authentication, snowflake id, verified email."""
    discord = Discord(auth, **_secret(emulator, base_url=emulator.url("discord")))
    flow = {"pkce": True, "scope": "identify email"}
    session = await _sign_in(discord, emulator, "discord", **flow)
    assert session.provider_user_id == "80351110224678912"
    assert session.provider_user["global_name"] == "Nelly"
    assert session.email == "nelly@discord.com" and session.email_verified is True
    _assert_client_auth(emulator, "discord", "client_secret_basic")
    await _create_then_find(discord, emulator, "discord", session, **flow)
    await _assert_refresh(discord, session, rotates=True)
    _assert_client_auth(emulator, "discord", "client_secret_basic")


async def test_emulated_gitlab_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated self-managed GitLab (base_url): PKCE, POST-body secret, numeric id, email not vouched for."""
    gitlab = GitLab(auth, **_secret(emulator, base_url=emulator.url("gitlab")))
    flow = {"pkce": True, "scope": "read_user"}
    session = await _sign_in(gitlab, emulator, "gitlab", **flow)
    assert session.provider_user_id == "1"
    assert session.provider_user["username"] == "john_smith"
    assert session.email == "john@example.com" and session.email_verified is False
    _assert_client_auth(emulator, "gitlab", "client_secret_post")
    await _create_then_find(gitlab, emulator, "gitlab", session, **flow)
    await _assert_refresh(gitlab, session, rotates=True)


async def test_emulated_facebook_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Facebook: no PKCE, secret in the POST body (never the URL), Graph /me?fields=id,name,email."""
    facebook = Facebook(
        auth, **_secret(emulator, base_url=emulator.url("facebook"), api_base_url=emulator.url("facebook"))
    )
    flow = {"pkce": False, "scope": "public_profile,email"}
    session = await _sign_in(facebook, emulator, "facebook", **flow)
    assert session.provider_user_id == "10153862387463487"
    assert dict(session.provider_user) == {
        "id": "10153862387463487",
        "name": "Emulated Facebook User",
        "email": "fb.user@example.com",
    }
    assert session.email_verified is False
    me = [r for r in emulator.requests_to("facebook") if r.path.endswith("/me")]
    assert _query(me[-1].url) == {"fields": "id,name,email"}
    _assert_client_auth(emulator, "facebook", "client_secret_post")
    await _create_then_find(facebook, emulator, "facebook", session, **flow)
    await _assert_no_refresh(facebook, session)


async def test_emulated_twitch_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Twitch: no PKCE, POST-body secret, Client-Id header on Helix, list-valued scope."""
    twitch = Twitch(auth, **_secret(emulator, base_url=emulator.url("twitch"), api_base_url=emulator.url("twitch")))
    flow = {"pkce": False, "scope": "user:read:email"}
    session = await _sign_in(twitch, emulator, "twitch", **flow)
    assert session.provider_user_id == "141981764"
    assert session.provider_user["login"] == "twitchdev"
    assert session.email == "not-real@email.com" and session.email_verified is True
    assert session.tokens.scope == ("user:read:email",)
    _assert_client_auth(emulator, "twitch", "client_secret_post")
    await _create_then_find(twitch, emulator, "twitch", session, **flow)
    await _assert_refresh(twitch, session, rotates=True)


async def test_emulated_reddit_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Reddit: HTTP Basic, duration=permanent for a refresh token, /api/v1/me id."""
    reddit = Reddit(auth, **_secret(emulator, base_url=emulator.url("reddit"), api_base_url=emulator.url("reddit")))
    flow = {"pkce": False, "scope": "identity", "extra": {"duration": "permanent"}}
    session = await _sign_in(reddit, emulator, "reddit", **flow)
    assert session.provider_user_id == "1w72"
    assert session.provider_user["name"] == "spez"
    assert session.email is None
    user_agents = {r.headers.get("user-agent", "") for r in emulator.requests_to("reddit")[1:]}
    assert all(ua.startswith("lucia-oauth/") for ua in user_agents)
    _assert_client_auth(emulator, "reddit", "client_secret_basic")
    await _create_then_find(reddit, emulator, "reddit", session, **flow)
    await _assert_refresh(reddit, session, rotates=False)
    _assert_client_auth(emulator, "reddit", "client_secret_basic")


async def test_emulated_spotify_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Spotify: PKCE, HTTP Basic, /v1/me id, unverified email, refresh keeps the old token."""
    spotify = Spotify(auth, **_secret(emulator, base_url=emulator.url("spotify"), api_base_url=emulator.url("spotify")))
    flow = {"pkce": True, "scope": "user-read-email"}
    session = await _sign_in(spotify, emulator, "spotify", **flow)
    assert session.provider_user_id == "wizzler"
    assert session.provider_user["display_name"] == "JM Wizzler"
    assert session.email == "email@example.com" and session.email_verified is False
    _assert_client_auth(emulator, "spotify", "client_secret_basic")
    await _create_then_find(spotify, emulator, "spotify", session, **flow)
    await _assert_refresh(spotify, session, rotates=False)


async def test_emulated_patreon_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Patreon: no PKCE, POST-body secret, JSON:API identity resource with is_email_verified."""
    patreon = Patreon(auth, **_secret(emulator, base_url=emulator.url("patreon")))
    flow = {"pkce": False, "scope": "identity identity[email]"}
    session = await _sign_in(patreon, emulator, "patreon", **flow)
    assert session.provider_user_id == "12345678"
    assert session.provider_user["type"] == "user"
    assert session.provider_user["attributes"]["full_name"] == "Emulated Patron"
    assert session.email == "patron@example.com" and session.email_verified is True
    _assert_client_auth(emulator, "patreon", "client_secret_post")
    await _create_then_find(patreon, emulator, "patreon", session, **flow)
    await _assert_refresh(patreon, session, rotates=True)
    _assert_client_auth(emulator, "patreon", "client_secret_post")


async def test_emulated_github_without_email_scope_reads_no_emails(auth: Lucia, emulator: Any) -> None:
    """Emulated GitHub with only read:user: /user/emails is not called and no email is claimed."""
    github = GitHub(
        auth,
        **_secret(emulator, base_url=emulator.url("github"), api_base_url=emulator.url("github"), scope=["read:user"]),
    )
    before = len(emulator.requests_to("github"))
    session = await _sign_in(github, emulator, "github", pkce=True, scope="read:user")
    assert session.provider_user["primary_email"] is None
    assert session.email is None and session.email_verified is False
    assert not [r for r in emulator.requests_to("github")[before:] if r.path == "user/emails"]


async def test_emulated_github_unverified_primary_email_is_not_used(
    auth: Lucia, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Emulated GitHub whose primary address is unverified: no email, even if another one is verified."""
    emails = [
        {"email": "primary@example.com", "verified": False, "primary": True, "visibility": "private"},
        {"email": "other@example.com", "verified": True, "primary": False, "visibility": None},
    ]
    routes = {**emulator.emulations["github"].user_routes, "user/emails": lambda *_: emails}
    monkeypatch.setattr(emulator.emulations["github"], "user_routes", routes)
    github = GitHub(auth, **_secret(emulator, base_url=emulator.url("github"), api_base_url=emulator.url("github")))
    session = await _sign_in(github, emulator, "github", pkce=True, scope="read:user user:email")
    assert session.provider_user["primary_email"] is None
    assert session.email is None and session.email_verified is False


# -- OpenID Connect providers -----------------------------------------------------------------


def _assert_verified_nonce(emulator: Any, name: str, session: ProviderSession) -> None:
    """The id_token the emulator signed carried the nonce of the flow's authorization request."""
    assert session.tokens.id_token is not None
    claims = json.loads(emulator.b64url_decode(session.tokens.id_token.split(".")[1]))
    authorize = [r for r in emulator.requests_to(name) if r.path == emulator.emulations[name].authorize_path]
    assert claims["nonce"] == _query(authorize[-1].url)["nonce"]
    assert claims["iss"] == emulator.issuer(name)


async def test_emulated_google_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Google: discovery, PKCE, POST-body secret, verified id_token + userinfo, refresh."""
    google = Google(auth, **_secret(emulator, issuer=emulator.issuer("google")))
    flow = {"pkce": True, "scope": "openid profile email"}
    session = await _sign_in(google, emulator, "google", **flow)
    assert session.provider_user_id == "110169484474386276334"
    assert session.provider_user["name"] == "Emulated Google User"
    assert session.email == "someone@gmail.com" and session.email_verified is True
    _assert_verified_nonce(emulator, "google", session)
    _assert_client_auth(emulator, "google", "client_secret_post")
    await _create_then_find(google, emulator, "google", session, **flow)
    await _assert_refresh(google, session, rotates=True)


async def test_emulated_linkedin_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated LinkedIn (OIDC): no PKCE so a random nonce, POST-body secret, id_token + userinfo."""
    linkedin = LinkedIn(auth, **_secret(emulator, issuer=emulator.issuer("linkedin")))
    flow = {"pkce": False, "scope": "openid profile email"}
    session = await _sign_in(linkedin, emulator, "linkedin", **flow)
    assert session.provider_user_id == "782bbtaQ"
    assert session.provider_user["given_name"] == "John"
    assert session.email == "doe@email.com" and session.email_verified is True
    _assert_verified_nonce(emulator, "linkedin", session)
    _assert_client_auth(emulator, "linkedin", "client_secret_post")
    await _create_then_find(linkedin, emulator, "linkedin", session, **flow)
    assert session.tokens.refresh_token is None


async def test_emulated_auth0_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Auth0 (domain): issuer with its trailing slash, PKCE, POST-body secret, refresh."""
    auth0 = Auth0(
        auth, domain=emulator.url("auth0"), **_secret(emulator, scope=["openid", "profile", "email", "offline_access"])
    )
    assert auth0.issuer == emulator.url("auth0") + "/"
    flow = {"pkce": True, "scope": "openid profile email offline_access"}
    session = await _sign_in(auth0, emulator, "auth0", **flow)
    assert session.provider_user_id == "auth0|507f1f77bcf86cd799439020"
    assert session.provider_user["nickname"] == "jane"
    assert session.email_verified is True
    _assert_verified_nonce(emulator, "auth0", session)
    _assert_client_auth(emulator, "auth0", "client_secret_post")
    await _create_then_find(auth0, emulator, "auth0", session, **flow)
    await _assert_refresh(auth0, session, rotates=True)


async def test_emulated_okta_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Okta (domain + default authorization server): PKCE, HTTP Basic, refresh."""
    okta = Okta(auth, domain=emulator.url("okta"), **_secret(emulator))
    assert okta.issuer == emulator.issuer("okta")
    flow = {"pkce": True, "scope": "openid profile email"}
    session = await _sign_in(okta, emulator, "okta", **flow)
    assert session.provider_user_id == "00uid4BxXw6I6TV4m0g3"
    assert session.provider_user["preferred_username"] == "john.doe@example.com"
    _assert_verified_nonce(emulator, "okta", session)
    _assert_client_auth(emulator, "okta", "client_secret_basic")
    await _create_then_find(okta, emulator, "okta", session, **flow)
    await _assert_refresh(okta, session, rotates=True)
    _assert_client_auth(emulator, "okta", "client_secret_basic")


async def test_emulated_keycloak_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Keycloak (base URL + realm): PKCE, HTTP Basic, id_token + userinfo, refresh."""
    keycloak = Keycloak(auth, base_url=emulator.url("keycloak"), realm="emulated", **_secret(emulator))
    assert keycloak.issuer == emulator.issuer("keycloak")
    flow = {"pkce": True, "scope": "openid profile email"}
    session = await _sign_in(keycloak, emulator, "keycloak", **flow)
    assert session.provider_user_id.endswith(":alice")
    assert session.provider_user["preferred_username"] == "alice"
    _assert_verified_nonce(emulator, "keycloak", session)
    _assert_client_auth(emulator, "keycloak", "client_secret_basic")
    await _create_then_find(keycloak, emulator, "keycloak", session, **flow)
    await _assert_refresh(keycloak, session, rotates=True)


async def test_emulated_microsoft_entra_id_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Entra ID (one tenant): PKCE, POST-body secret, tenant issuer, claims from the id_token."""
    entra = MicrosoftEntraID(
        auth,
        tenant=emulator.entra_tenant,
        base_url=emulator.url("entra"),
        **_secret(emulator, scope=["openid", "profile", "email"]),
    )
    assert entra.issuer == emulator.issuer("entra")
    flow = {"pkce": True, "scope": "openid profile email"}
    session = await _sign_in(entra, emulator, "entra", **flow)
    assert session.provider_id == "microsoft-entra-id"
    assert session.provider_user_id == "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"
    assert session.provider_user["tid"] == emulator.entra_tenant
    assert session.provider_user["preferred_username"] == "user@contoso.example"
    assert session.email_verified is False
    assert not [r for r in emulator.requests_to("entra") if r.path == "oidc/userinfo"]
    _assert_verified_nonce(emulator, "entra", session)
    _assert_client_auth(emulator, "entra", "client_secret_post")
    await _create_then_find(entra, emulator, "entra", session, **flow)
    refreshed = await entra.refresh_access_token(session.tokens.refresh_token or "")
    assert refreshed.access_token != session.tokens.access_token


async def test_emulated_microsoft_entra_id_common_tenant_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Entra ID "common": a templated discovery issuer; iss names the user's tenant (tid)."""
    entra = MicrosoftEntraID(auth, tenant="common", base_url=emulator.url("entra-common"), **_secret(emulator))
    assert entra.issuer == emulator.configured_issuer("entra-common")
    flow = {"pkce": True, "scope": "openid profile email"}
    session = await _sign_in(entra, emulator, "entra-common", **flow)
    assert session.provider_user_id == "AAAAAAAAAAAAAAAAAAAAAHf2eKDvd0kUxDZmHzNXYdE"
    assert session.provider_user["iss"] == f"{emulator.url('entra-common')}/{emulator.entra_tenant}/v2.0"
    assert session.provider_user["tid"] == emulator.entra_tenant
    _assert_verified_nonce(emulator, "entra-common", session)
    await _create_then_find(entra, emulator, "entra-common", session, **flow)


async def test_emulated_microsoft_entra_id_common_refuses_iss_of_another_tenant(
    auth: Lucia, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Emulated Entra ID "common": an id_token whose iss names another tenant than its tid is refused."""
    emulation = emulator.emulations["entra-common"]
    monkeypatch.setattr(emulation, "token_issuer_path", "00000000-0000-0000-0000-000000000001/v2.0")
    entra = MicrosoftEntraID(auth, tenant="common", base_url=emulator.url("entra-common"), **_secret(emulator))
    url, _, code_verifier = await entra.get_authorization_url()
    callback = emulator.authorize(url)
    with pytest.raises(LuciaOAuthError) as info:
        await entra.validate_callback(callback["code"], code_verifier=code_verifier)
    assert info.value.code == "OAUTH_INVALID_ID_TOKEN"
    await _assert_not_linked(auth, "microsoft-entra-id", "AAAAAAAAAAAAAAAAAAAAAHf2eKDvd0kUxDZmHzNXYdE")


async def test_emulated_slack_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Sign in with Slack: OIDC without PKCE, the ok envelope dropped, ok:false refused."""
    slack = Slack(auth, **_secret(emulator, issuer=emulator.issuer("slack")))
    flow = {"pkce": False, "scope": "openid profile email"}
    session = await _sign_in(slack, emulator, "slack", **flow)
    assert session.provider_user_id == "U0R7JM"
    assert session.provider_user["https://slack.com/team_id"] == "T0R7GR"
    assert "ok" not in session.provider_user
    assert session.email == "krane@slack-corp.com" and session.email_verified is True
    _assert_verified_nonce(emulator, "slack", session)
    _assert_client_auth(emulator, "slack", "client_secret_post")
    await _create_then_find(slack, emulator, "slack", session, **flow)
    await _assert_no_refresh(slack, session)
    with pytest.raises(LuciaOAuthRequestError) as info:  # Slack refuses with HTTP 200 and ok=false
        await slack.validate_callback("used-or-unknown-code", nonce="n")
    assert info.value.error == "invalid_grant"


async def test_emulated_apple_flow(auth: Lucia, emulator: Any) -> None:
    """Emulated Apple: ES256 client-secret JWT, form_post callback, user in the verified id_token, refresh."""
    apple = Apple(
        auth,
        client_id=emulator.client_id,
        team_id=emulator.apple_team_id,
        key_id=emulator.apple_key_id,
        private_key=emulator.apple_private_key_pem,
        redirect_uri=emulator.redirect_uri,
        issuer=emulator.issuer("apple"),
    )
    flow = {"pkce": False, "scope": "openid name email", "extra": {"response_mode": "form_post"}}
    session = await _sign_in(apple, emulator, "apple", **flow)
    assert session.provider_user_id == "001234.8f2f3b4e5c6d7e8f9a0b1c2d3e4f5a6b.1234"
    assert session.provider_user["is_private_email"] == "true"
    assert session.email == "abc123@privaterelay.appleid.com" and session.email_verified is True
    _assert_verified_nonce(emulator, "apple", session)
    _assert_client_auth(emulator, "apple", "apple_jwt")
    secret = _token_requests(emulator, "apple")[-1].form["client_secret"]
    header = json.loads(emulator.b64url_decode(secret.split(".")[0]))
    claims = json.loads(emulator.b64url_decode(secret.split(".")[1]))
    assert header == {"alg": "ES256", "typ": "JWT", "kid": emulator.apple_key_id}
    assert (
        claims["iss"] == emulator.apple_team_id
        and claims["sub"] == emulator.client_id
        and claims["aud"] == emulator.issuer("apple")
    )
    assert "BEGIN" not in secret and emulator.apple_private_key_pem not in repr(apple)
    await _create_then_find(apple, emulator, "apple", session, **flow)
    await _assert_refresh(apple, session, rotates=False)


# -- what the emulator enforces reaches the application -----------------------------------------


async def test_emulated_wrong_pkce_verifier_is_refused(auth: Lucia, emulator: Any) -> None:
    """Emulated Discord refuses a code with another verifier; the error carries its status and nothing is created."""
    discord = Discord(auth, **_secret(emulator, base_url=emulator.url("discord")))
    url, _, _ = await discord.get_authorization_url()
    callback = emulator.authorize(url)
    other_verifier = "x" * 64
    with pytest.raises(LuciaOAuthRequestError) as info:
        await discord.validate_callback(callback["code"], code_verifier=other_verifier)
    assert info.value.status == 400 and info.value.error == "invalid_grant"
    await _assert_not_linked(auth, "discord", "80351110224678912")


async def test_emulated_apple_refuses_a_client_secret_from_another_key(auth: Lucia, emulator: Any) -> None:
    """Emulated Apple refuses a client secret signed with a key that is not the team's."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    apple = Apple(
        auth,
        client_id=emulator.client_id,
        team_id=emulator.apple_team_id,
        key_id=emulator.apple_key_id,
        private_key=other,
        redirect_uri=emulator.redirect_uri,
        issuer=emulator.issuer("apple"),
    )
    authorization = await apple.get_authorization_url()
    callback = emulator.authorize(authorization.url)
    with pytest.raises(LuciaOAuthRequestError) as info:
        await apple.validate_callback(callback["code"], nonce=authorization.nonce)
    assert info.value.status == 401 and info.value.error == "invalid_client"


def _apple(auth: Lucia, emulator: Any) -> Apple:
    return Apple(
        auth,
        client_id=emulator.client_id,
        team_id=emulator.apple_team_id,
        key_id=emulator.apple_key_id,
        private_key=emulator.apple_private_key_pem,
        redirect_uri=emulator.redirect_uri,
        issuer=emulator.issuer("apple"),
    )


#: emulation name -> (PKCE S256?, how to build the provider against the emulator)
FACTORIES: dict[str, tuple[bool, Any]] = {
    "apple": (False, _apple),
    "auth0": (True, lambda auth, e: Auth0(auth, domain=e.url("auth0"), **_secret(e))),
    "discord": (True, lambda auth, e: Discord(auth, **_secret(e, base_url=e.url("discord")))),
    "entra": (
        True,
        lambda auth, e: MicrosoftEntraID(auth, tenant=e.entra_tenant, base_url=e.url("entra"), **_secret(e)),
    ),
    "facebook": (
        False,
        lambda auth, e: Facebook(auth, **_secret(e, base_url=e.url("facebook"), api_base_url=e.url("facebook"))),
    ),
    "github": (
        True,
        lambda auth, e: GitHub(auth, **_secret(e, base_url=e.url("github"), api_base_url=e.url("github"))),
    ),
    "gitlab": (True, lambda auth, e: GitLab(auth, **_secret(e, base_url=e.url("gitlab")))),
    "google": (True, lambda auth, e: Google(auth, **_secret(e, issuer=e.issuer("google")))),
    "keycloak": (True, lambda auth, e: Keycloak(auth, base_url=e.url("keycloak"), realm="emulated", **_secret(e))),
    "linkedin": (False, lambda auth, e: LinkedIn(auth, **_secret(e, issuer=e.issuer("linkedin")))),
    "okta": (True, lambda auth, e: Okta(auth, domain=e.url("okta"), **_secret(e))),
    "patreon": (False, lambda auth, e: Patreon(auth, **_secret(e, base_url=e.url("patreon")))),
    "reddit": (
        False,
        lambda auth, e: Reddit(auth, **_secret(e, base_url=e.url("reddit"), api_base_url=e.url("reddit"))),
    ),
    "slack": (False, lambda auth, e: Slack(auth, **_secret(e, issuer=e.issuer("slack")))),
    "spotify": (
        True,
        lambda auth, e: Spotify(auth, **_secret(e, base_url=e.url("spotify"), api_base_url=e.url("spotify"))),
    ),
    "twitch": (
        False,
        lambda auth, e: Twitch(auth, **_secret(e, base_url=e.url("twitch"), api_base_url=e.url("twitch"))),
    ),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
async def test_o2_named_providers_send_an_s256_challenge_wherever_supported(
    auth: Lucia, emulator: Any, name: str
) -> None:
    """Emulated: a PKCE provider gets an S256 challenge (never plain); the others get none and no verifier."""
    pkce, make = FACTORIES[name]
    url, _, code_verifier = await make(auth, emulator).get_authorization_url()
    params = _query(url)
    if pkce:
        assert code_verifier is not None and len(code_verifier) >= 43
        assert params["code_challenge_method"] == "S256"
        assert params["code_challenge"] == emulator.s256(code_verifier)
    else:
        assert code_verifier is None
        assert "code_challenge" not in params and "code_challenge_method" not in params


@pytest.mark.parametrize("name", sorted(FACTORIES))
async def test_o3_named_providers_never_put_the_client_secret_in_a_url(auth: Lucia, emulator: Any, name: str) -> None:
    """Emulated: the code exchange authenticates by Basic or POST body as documented; no URL carries the secret."""
    _, make = FACTORIES[name]
    provider = make(auth, emulator)
    before = len(emulator.log)
    authorization = await provider.get_authorization_url()
    callback = emulator.authorize(authorization.url)
    assert callback["state"] == authorization.state
    await provider.validate_callback(
        callback["code"], code_verifier=authorization.code_verifier, nonce=authorization.nonce
    )
    seen = emulator.log[before:]
    assert seen
    assert all(emulator.client_secret not in r.url for r in seen)
    token_requests = [r for r in seen if r.path == emulator.emulations[name].token_path]
    assert len(token_requests) == 1
    assert token_requests[0].method == "POST" and urlsplit(token_requests[0].url).query == ""
    _assert_client_auth(emulator, name, emulator.emulations[name].client_auth)


@pytest.mark.parametrize("name", sorted(FACTORIES))
async def test_p5_named_provider_flows_log_no_secret(
    auth: Lucia, emulator: Any, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Emulated: a whole sign-in and refresh logged at DEBUG shows no secret, code, token or verifier."""
    _, make = FACTORIES[name]
    provider = make(auth, emulator)
    with caplog.at_level(logging.DEBUG):
        authorization = await provider.get_authorization_url()
    callback = emulator.authorize(authorization.url)  # the browser's part, not ours: not captured
    with caplog.at_level(logging.DEBUG):
        session = await provider.validate_callback(
            callback["code"], code_verifier=authorization.code_verifier, nonce=authorization.nonce
        )
        await session.create_user({"username": name})
        refresh_token = session.tokens.refresh_token
        refreshed = await provider.refresh_access_token(refresh_token) if refresh_token else None
    assert caplog.records, "the flow should log something at DEBUG"
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    secrets = [emulator.client_secret, callback["code"], authorization.state, session.tokens.access_token]
    secrets += [s for s in (authorization.code_verifier, session.tokens.refresh_token, session.tokens.id_token) if s]
    secrets += [refreshed.access_token] if refreshed is not None else []
    secrets += [r.form["client_secret"] for r in _token_requests(emulator, name) if "client_secret" in r.form]
    for secret in secrets:
        assert secret not in logged


def test_providers_exports_exactly_the_sixteen_named_providers() -> None:
    """lucia_oauth.providers exports the fixed provider names, sorted."""
    expected = [
        "Apple",
        "Auth0",
        "Discord",
        "Facebook",
        "GitHub",
        "GitLab",
        "Google",
        "Keycloak",
        "LinkedIn",
        "MicrosoftEntraID",
        "Okta",
        "Patreon",
        "Reddit",
        "Slack",
        "Spotify",
        "Twitch",
    ]
    assert lucia_oauth.providers.__all__ == expected
    for name in expected:
        assert issubclass(getattr(lucia_oauth.providers, name), OAuth2Provider)
