"""Each named provider, signed in end to end against its EMULATION (see conftest.py).

These are emulated flows: the real services cannot be reached from here. The emulator
answers with the response shapes of each provider's public documentation and enforces
its client authentication method, PKCE, exact redirect URI and single-use codes.

One table (:data:`CASES`) states what each provider must do; one parametrised test runs
the whole flow for every row. Provider quirks that need a flow of their own follow it.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import pytest

from lucia import Lucia, LuciaError
from lucia_oauth import LuciaOAuthError, LuciaOAuthRequestError, OAuth2Provider, ProviderSession
from lucia_oauth import providers as named

pytestmark = pytest.mark.anyio

Refresh = Literal["rotates", "keeps", "not_issued", "unsupported"]


def _client(emulator: Any, **extra: Any) -> dict[str, Any]:
    """The registered client's options, plus the provider's own."""
    return {**emulator.client_options(), **extra}


def _hosted(cls: type[OAuth2Provider], name: str, **extra: Any) -> Callable[[Lucia, Any], OAuth2Provider]:
    """A plain provider whose hosts (authorization and API) are the emulation's."""
    return lambda auth, e: cls(auth, **_client(e, base_url=e.url(name), api_base_url=e.url(name), **extra))


def _apple(auth: Lucia, emulator: Any, **extra: Any) -> named.Apple:
    """Apple with the team's key (or another, in ``extra``) against its emulation."""
    return named.Apple(auth, **{**emulator.apple_options(), **extra})


@dataclass(frozen=True)
class Case:
    """What one named provider must do against its emulation."""

    name: str  # the emulation
    make: Callable[[Lucia, Any], OAuth2Provider]
    pkce: bool  # whether the provider documents PKCE (S256)
    scope: str  # the scope parameter as sent
    provider_user_id: str
    user: Mapping[str, Any]  # expected members of provider_user
    email: str | None
    email_verified: bool
    refresh: Refresh
    provider_id: str = ""  # default: the emulation's name
    params: Mapping[str, str] = field(default_factory=dict)  # extra authorization parameters
    tokens: Mapping[str, Any] = field(default_factory=dict)  # expected attributes of the tokens
    check: Callable[[ProviderSession, Any], None] | None = None  # what only this provider does


def _entra_reads_no_userinfo(session: ProviderSession, emulator: Any) -> None:
    assert session.provider_user["tid"] == emulator.entra_tenant
    assert not [r for r in emulator.requests_to("entra") if r.path == "oidc/userinfo"]


def _entra_common_iss_names_the_tenant(session: ProviderSession, emulator: Any) -> None:
    assert session.provider_user["tid"] == emulator.entra_tenant
    assert session.provider_user["iss"] == f"{emulator.url('entra-common')}/{emulator.entra_tenant}/v2.0"


def _slack_drops_its_envelope(session: ProviderSession, emulator: Any) -> None:
    assert "ok" not in session.provider_user


def _apple_client_secret_is_an_es256_jwt(session: ProviderSession, emulator: Any) -> None:
    secret = _token_requests(emulator, "apple")[-1].form["client_secret"]
    header, claims = (json.loads(emulator.b64url_decode(part)) for part in secret.split(".")[:2])
    assert header == {"alg": "ES256", "typ": "JWT", "kid": emulator.apple_key_id}
    assert (claims["iss"], claims["sub"], claims["aud"]) == (
        emulator.apple_team_id,
        emulator.client_id,
        emulator.issuer("apple"),
    )
    assert claims["exp"] - claims["iat"] == 300
    assert "BEGIN" not in secret


CASES = [
    Case(
        "apple",
        _apple,
        pkce=False,
        scope="openid name email",
        params={"response_mode": "form_post"},
        provider_user_id="001234.8f2f3b4e5c6d7e8f9a0b1c2d3e4f5a6b.1234",
        user={"is_private_email": "true"},
        email="abc123@privaterelay.appleid.com",
        email_verified=True,  # Apple writes "true"
        refresh="keeps",
        check=_apple_client_secret_is_an_es256_jwt,
    ),
    Case(
        "auth0",
        lambda auth, e: named.Auth0(
            auth, domain=e.url("auth0"), **_client(e, scope=["openid", "profile", "email", "offline_access"])
        ),
        pkce=True,
        scope="openid profile email offline_access",
        provider_user_id="auth0|507f1f77bcf86cd799439020",
        user={"nickname": "jane"},
        email="janedoe@example.com",
        email_verified=True,
        refresh="rotates",
    ),
    Case(
        "discord",
        lambda auth, e: named.Discord(auth, **_client(e, base_url=e.url("discord"))),
        pkce=True,
        scope="identify email",
        provider_user_id="80351110224678912",
        user={"global_name": "Nelly"},
        email="nelly@discord.com",
        email_verified=True,
        refresh="rotates",
    ),
    Case(
        "entra",
        lambda auth, e: named.MicrosoftEntraID(auth, tenant=e.entra_tenant, base_url=e.url("entra"), **_client(e)),
        provider_id="microsoft-entra-id",
        pkce=True,
        scope="openid profile email",
        provider_user_id="AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        user={"preferred_username": "user@contoso.example"},
        email="user@contoso.example",
        email_verified=False,  # Entra ID does not vouch for email
        refresh="rotates",
        check=_entra_reads_no_userinfo,
    ),
    Case(
        "entra-common",
        lambda auth, e: named.MicrosoftEntraID(auth, tenant="common", base_url=e.url("entra-common"), **_client(e)),
        provider_id="microsoft-entra-id",
        pkce=True,
        scope="openid profile email",
        provider_user_id="AAAAAAAAAAAAAAAAAAAAAHf2eKDvd0kUxDZmHzNXYdE",
        user={"preferred_username": "worker@fabrikam.example"},
        email=None,
        email_verified=False,
        refresh="rotates",
        check=_entra_common_iss_names_the_tenant,
    ),
    Case(
        "facebook",
        _hosted(named.Facebook, "facebook"),
        pkce=False,
        scope="public_profile,email",
        provider_user_id="10153862387463487",
        user={"id": "10153862387463487", "name": "Emulated Facebook User", "email": "fb.user@example.com"},
        email="fb.user@example.com",
        email_verified=False,
        refresh="unsupported",
    ),
    Case(
        "github",
        _hosted(named.GitHub, "github"),
        pkce=True,
        scope="read:user user:email",
        provider_user_id="583231",
        user={"login": "octocat", "primary_email": "octocat@github.com"},
        email="octocat@github.com",
        email_verified=True,
        tokens={"token_type": "bearer", "scope": ("read:user", "user:email")},  # GitHub answers "a,b"
        refresh="rotates",
    ),
    Case(
        "gitlab",
        lambda auth, e: named.GitLab(auth, **_client(e, base_url=e.url("gitlab"))),
        pkce=True,
        scope="read_user",
        provider_user_id="1",
        user={"username": "john_smith"},
        email="john@example.com",
        email_verified=False,
        refresh="rotates",
    ),
    Case(
        "google",
        lambda auth, e: named.Google(auth, **_client(e, issuer=e.issuer("google"))),
        pkce=True,
        scope="openid profile email",
        provider_user_id="110169484474386276334",
        user={"name": "Emulated Google User"},
        email="someone@gmail.com",
        email_verified=True,
        refresh="rotates",
    ),
    Case(
        "keycloak",
        lambda auth, e: named.Keycloak(auth, base_url=e.url("keycloak"), realm="emulated", **_client(e)),
        pkce=True,
        scope="openid profile email",
        provider_user_id="f:0f8b8f8e-2f4a-4c3e-9d5f-0c1a2b3c4d5e:alice",
        user={"preferred_username": "alice"},
        email="alice@example.com",
        email_verified=True,
        refresh="rotates",
    ),
    Case(
        "linkedin",
        lambda auth, e: named.LinkedIn(auth, **_client(e, issuer=e.issuer("linkedin"))),
        pkce=False,
        scope="openid profile email",
        provider_user_id="782bbtaQ",
        user={"given_name": "John"},
        email="doe@email.com",
        email_verified=True,
        refresh="not_issued",
    ),
    Case(
        "okta",
        lambda auth, e: named.Okta(auth, domain=e.url("okta"), **_client(e)),
        pkce=True,
        scope="openid profile email",
        provider_user_id="00uid4BxXw6I6TV4m0g3",
        user={"preferred_username": "john.doe@example.com"},
        email="john.doe@example.com",
        email_verified=True,
        refresh="rotates",
    ),
    Case(
        "patreon",
        lambda auth, e: named.Patreon(auth, **_client(e, base_url=e.url("patreon"))),
        pkce=False,
        scope="identity identity[email]",
        provider_user_id="12345678",
        user={"type": "user", "id": "12345678"},
        email="patron@example.com",
        email_verified=True,
        refresh="rotates",
    ),
    Case(
        "reddit",
        _hosted(named.Reddit, "reddit"),
        pkce=False,
        scope="identity",
        params={"duration": "permanent"},  # Reddit's only way to issue a refresh token
        provider_user_id="1w72",
        user={"name": "spez"},
        email=None,
        email_verified=False,
        refresh="keeps",
    ),
    Case(
        "slack",
        lambda auth, e: named.Slack(auth, **_client(e, issuer=e.issuer("slack"))),
        pkce=False,
        scope="openid profile email",
        provider_user_id="U0R7JM",
        user={"https://slack.com/team_id": "T0R7GR"},
        email="krane@slack-corp.com",
        email_verified=True,
        refresh="unsupported",
        check=_slack_drops_its_envelope,
    ),
    Case(
        "spotify",
        _hosted(named.Spotify, "spotify"),
        pkce=True,
        scope="user-read-email",
        provider_user_id="wizzler",
        user={"display_name": "JM Wizzler"},
        email="email@example.com",
        email_verified=False,
        refresh="keeps",
    ),
    Case(
        "twitch",
        _hosted(named.Twitch, "twitch"),
        pkce=False,
        scope="user:read:email",
        provider_user_id="141981764",
        user={"login": "twitchdev"},
        email="not-real@email.com",
        email_verified=True,
        tokens={"scope": ("user:read:email",)},  # Twitch answers a JSON list
        refresh="rotates",
    ),
]
CASE_OF = {case.name: case for case in CASES}


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def _token_requests(emulator: Any, name: str) -> list[Any]:
    path = emulator.emulations[name].token_path
    return [r for r in emulator.requests_to(name) if r.path == path]


async def _sign_in(provider: OAuth2Provider, emulator: Any, case: Case) -> ProviderSession:
    """One emulated sign-in: check the authorization URL, play the browser, validate the callback."""
    authorization = await provider.get_authorization_url()
    url, state, code_verifier = authorization
    assert url.startswith(emulator.url(case.name) + "/")
    params = _query(url)
    assert params["response_type"] == "code"
    assert params["client_id"] == emulator.client_id
    assert params["redirect_uri"] == emulator.redirect_uri
    assert params["state"] == state and len(state) >= 22
    assert params["scope"] == case.scope
    _assert_pkce(emulator, case, params, code_verifier)
    for key, value in case.params.items():
        assert params[key] == value
    assert emulator.client_secret not in url
    callback = emulator.authorize(url)
    assert callback["state"] == state
    return await provider.validate_callback(callback["code"], code_verifier=code_verifier, nonce=authorization.nonce)


def _assert_pkce(emulator: Any, case: Case, params: Mapping[str, str], code_verifier: str | None) -> None:
    """An S256 challenge of a strong verifier where the provider supports PKCE; nothing (never plain) elsewhere."""
    if case.pkce:
        assert code_verifier is not None and len(code_verifier) >= 43
        assert params["code_challenge"] == emulator.s256(code_verifier)
        assert params["code_challenge_method"] == "S256"
    else:
        assert code_verifier is None
        assert "code_challenge" not in params and "code_challenge_method" not in params


def _assert_client_auth(emulator: Any, name: str) -> None:
    """Every token request authenticated the documented way; the secret never in a URL."""
    method = emulator.emulations[name].client_auth
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


def _assert_verified_nonce(emulator: Any, name: str, session: ProviderSession) -> None:
    """The id_token the emulator signed carried the nonce of the flow's authorization request."""
    assert session.tokens.id_token is not None
    claims = json.loads(emulator.b64url_decode(session.tokens.id_token.split(".")[1]))
    authorize = [r for r in emulator.requests_to(name) if r.path == emulator.emulations[name].authorize_path]
    assert claims["nonce"] == _query(authorize[-1].url)["nonce"]
    assert claims["iss"] == emulator.issuer(name)


async def _assert_refresh(provider: OAuth2Provider, session: ProviderSession, refresh: Refresh) -> None:
    """A refresh token buys a new access token (and, where the provider rotates, a new refresh token)."""
    refresh_token = session.tokens.refresh_token
    if refresh in ("not_issued", "unsupported"):
        assert refresh_token is None
        if refresh == "unsupported":
            with pytest.raises(LuciaOAuthError) as info:
                await provider.refresh_access_token("anything")
            assert info.value.code == "OAUTH_CONFIGURATION"
        return
    assert refresh_token is not None
    refreshed = await provider.refresh_access_token(refresh_token, subject=session.provider_user_id)
    assert refreshed.access_token != session.tokens.access_token
    assert refreshed.refresh_token is not None
    assert (refreshed.refresh_token != refresh_token) is (refresh == "rotates")
    user = await provider.get_provider_user(refreshed, claims={"sub": session.provider_user_id})
    assert user.provider_user_id == session.provider_user_id


async def _assert_not_linked(auth: Lucia, provider_id: str, provider_user_id: str) -> None:
    """A refused sign-in created nothing: no key for the provider account."""
    with pytest.raises(LuciaError) as missing:
        await auth.get_key(provider_id, provider_user_id)
    assert missing.value.code == "AUTH_INVALID_KEY_ID"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_emulated_sign_in_flow(auth: Lucia, emulator: Any, case: Case) -> None:
    """Emulated: URL (state, S256 where supported), documented client auth, user, create-then-find, refresh."""
    provider = case.make(auth, emulator)
    session = await _sign_in(provider, emulator, case)
    assert session.provider_id == (case.provider_id or case.name)
    assert session.provider_user_id == case.provider_user_id
    assert {k: session.provider_user.get(k) for k in case.user} == dict(case.user)
    assert (session.email, session.email_verified) == (case.email, case.email_verified)
    for attribute, value in case.tokens.items():
        assert getattr(session.tokens, attribute) == value
    if emulator.emulations[case.name].issuer_path is not None:
        _assert_verified_nonce(emulator, case.name, session)
    _assert_client_auth(emulator, case.name)
    if case.check is not None:
        case.check(session, emulator)

    assert session.existing_user is None
    user = await session.create_user({"username": f"{case.name}-user"})
    key = await auth.get_key(provider.provider_id, session.provider_user_id)
    assert key.user_id == user.user_id and key.primary
    second = await _sign_in(provider, emulator, case)
    assert second.provider_user_id == session.provider_user_id
    assert second.existing_user is not None and second.existing_user.user_id == user.user_id

    await _assert_refresh(provider, session, case.refresh)
    _assert_client_auth(emulator, case.name)


# -- what only some providers do ---------------------------------------------------------------


async def test_emulated_github_without_email_scope_reads_no_emails(auth: Lucia, emulator: Any) -> None:
    """Emulated GitHub with only read:user: /user/emails is not called and no email is claimed."""
    github = _hosted(named.GitHub, "github", scope=["read:user"])(auth, emulator)
    before = len(emulator.requests_to("github"))
    session = await _sign_in(github, emulator, replace(CASE_OF["github"], scope="read:user"))
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
    session = await _sign_in(CASE_OF["github"].make(auth, emulator), emulator, CASE_OF["github"])
    assert session.provider_user["primary_email"] is None
    assert session.email is None and session.email_verified is False


async def test_emulated_facebook_reads_graph_me_with_explicit_fields(auth: Lucia, emulator: Any) -> None:
    """Emulated Facebook: the Graph API returns only the fields asked for, so id,name,email are asked."""
    await _sign_in(CASE_OF["facebook"].make(auth, emulator), emulator, CASE_OF["facebook"])
    me = [r for r in emulator.requests_to("facebook") if r.path.endswith("/me")]
    assert _query(me[-1].url) == {"fields": "id,name,email"}


async def test_emulated_reddit_requests_carry_our_user_agent(auth: Lucia, emulator: Any) -> None:
    """Emulated Reddit: every back-channel request names lucia-oauth in its User-Agent, as Reddit asks."""
    before = len(emulator.requests_to("reddit"))
    await _sign_in(CASE_OF["reddit"].make(auth, emulator), emulator, CASE_OF["reddit"])
    back_channel = [r for r in emulator.requests_to("reddit")[before:] if r.method == "POST" or r.path == "api/v1/me"]
    assert back_channel and all(r.headers["user-agent"].startswith("lucia-oauth/") for r in back_channel)


async def test_emulated_slack_refusal_with_http_200_is_a_request_error(auth: Lucia, emulator: Any) -> None:
    """Emulated Slack refuses with HTTP 200 and ok=false: still a LuciaOAuthRequestError."""
    slack = CASE_OF["slack"].make(auth, emulator)
    with pytest.raises(LuciaOAuthRequestError) as info:
        await slack.validate_callback("used-or-unknown-code", nonce="n")
    assert info.value.error == "invalid_grant"


async def test_emulated_microsoft_entra_id_common_refuses_iss_of_another_tenant(
    auth: Lucia, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Emulated Entra ID "common": an id_token whose iss names another tenant than its tid is refused."""
    emulation = emulator.emulations["entra-common"]
    monkeypatch.setattr(emulation, "token_issuer_path", "00000000-0000-0000-0000-000000000001/v2.0")
    entra = CASE_OF["entra-common"].make(auth, emulator)
    url, _, code_verifier = await entra.get_authorization_url()
    callback = emulator.authorize(url)
    with pytest.raises(LuciaOAuthError) as info:
        await entra.validate_callback(callback["code"], code_verifier=code_verifier)
    assert info.value.code == "OAUTH_INVALID_ID_TOKEN"
    await _assert_not_linked(auth, "microsoft-entra-id", CASE_OF["entra-common"].provider_user_id)


async def test_emulated_wrong_pkce_verifier_is_refused(auth: Lucia, emulator: Any) -> None:
    """Emulated Discord refuses a code with another verifier; the error carries its status and nothing is created."""
    discord = CASE_OF["discord"].make(auth, emulator)
    url, _, _ = await discord.get_authorization_url()
    callback = emulator.authorize(url)
    with pytest.raises(LuciaOAuthRequestError) as info:
        await discord.validate_callback(callback["code"], code_verifier="x" * 64)
    assert info.value.status == 400 and info.value.error == "invalid_grant"
    await _assert_not_linked(auth, "discord", CASE_OF["discord"].provider_user_id)


async def test_emulated_apple_refuses_a_client_secret_from_another_key(auth: Lucia, emulator: Any) -> None:
    """Emulated Apple refuses a client secret signed with a key that is not the team's."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    apple = _apple(auth, emulator, private_key=other)
    authorization = await apple.get_authorization_url()
    callback = emulator.authorize(authorization.url)
    with pytest.raises(LuciaOAuthRequestError) as info:
        await apple.validate_callback(callback["code"], nonce=authorization.nonce)
    assert info.value.status == 401 and info.value.error == "invalid_client"


# -- every provider, one promise at a time -------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_o2_named_providers_send_an_s256_challenge_wherever_supported(
    auth: Lucia, emulator: Any, case: Case
) -> None:
    """Emulated: a PKCE provider gets an S256 challenge (never plain); the others get none and no verifier."""
    url, _, code_verifier = await case.make(auth, emulator).get_authorization_url()
    _assert_pkce(emulator, case, _query(url), code_verifier)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_o3_named_providers_never_put_the_client_secret_in_a_url(auth: Lucia, emulator: Any, case: Case) -> None:
    """Emulated: the code exchange authenticates by Basic or POST body as documented; no URL carries the secret."""
    provider = case.make(auth, emulator)
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
    token_requests = [r for r in seen if r.path == emulator.emulations[case.name].token_path]
    assert len(token_requests) == 1
    assert token_requests[0].method == "POST" and urlsplit(token_requests[0].url).query == ""
    _assert_client_auth(emulator, case.name)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_p5_named_provider_flows_log_no_secret(
    auth: Lucia, emulator: Any, case: Case, caplog: pytest.LogCaptureFixture
) -> None:
    """Emulated: a whole sign-in and refresh logged at DEBUG shows no secret, code, token or verifier."""
    provider = case.make(auth, emulator)
    with caplog.at_level(logging.DEBUG):
        authorization = await provider.get_authorization_url()
    records = list(caplog.records)
    callback = emulator.authorize(authorization.url)  # the browser's part, not ours: not captured
    caplog.clear()  # whatever another test left the httpx loggers at
    with caplog.at_level(logging.DEBUG):
        session = await provider.validate_callback(
            callback["code"], code_verifier=authorization.code_verifier, nonce=authorization.nonce
        )
        await session.create_user({"username": case.name})
        refresh_token = session.tokens.refresh_token
        refreshed = (
            await provider.refresh_access_token(refresh_token, subject=session.provider_user_id)
            if refresh_token
            else None
        )
    records += caplog.records
    assert records, "the flow should log something at DEBUG"
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in records)
    secrets = [emulator.client_secret, callback["code"], authorization.state, session.tokens.access_token]
    secrets += [s for s in (authorization.code_verifier, session.tokens.refresh_token, session.tokens.id_token) if s]
    secrets += [refreshed.access_token] if refreshed is not None else []
    secrets += [r.form["client_secret"] for r in _token_requests(emulator, case.name) if "client_secret" in r.form]
    for secret in secrets:
        assert secret not in logged


def test_providers_exports_the_sixteen_named_providers_and_their_options() -> None:
    """lucia_oauth.providers exports the fixed provider names and their options classes, sorted."""
    pinned: list[str] = json.loads((Path(__file__).parent.parent / "public_names.json").read_text())[
        "lucia_oauth.providers"
    ]
    providers = [name for name in pinned if not name.endswith("Options")]
    assert named.__all__ == pinned == sorted(pinned)
    assert len(providers) == 16
    for name in providers:
        assert issubclass(getattr(named, name), OAuth2Provider)


async def test_the_table_covers_every_named_provider(auth: Lucia, emulator: Any) -> None:
    """Every one of the sixteen named providers has at least one row in CASES."""
    made = {type(case.make(auth, emulator)).__name__ for case in CASES}
    assert made == {name for name in named.__all__ if not name.endswith("Options")}
