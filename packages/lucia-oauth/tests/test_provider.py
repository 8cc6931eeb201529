"""The generic OAuth2Provider against a local server we control: the flow, PKCE, client auth, faults."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from types import SimpleNamespace
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import anyio
import pytest

from lucia import Lucia, LuciaError
from lucia.testing.services import free_port
from lucia_oauth import (
    LuciaOAuthConfigurationError,
    LuciaOAuthError,
    LuciaOAuthInsecureEndpointError,
    LuciaOAuthRequestError,
    OAuth2Provider,
    OAuth2Tokens,
    check_callback,
    create_oauth_cookies,
    read_oauth_cookies,
)

pytestmark = pytest.mark.anyio

REDIRECT_URI = "http://127.0.0.1:8000/login/example/callback"
SECRET = "generic-client-secret-93b1"

E = TypeVar("E", bound=LuciaOAuthError)


def make_provider(auth: Lucia, issuer: Any, **options: Any) -> OAuth2Provider:
    settings: dict[str, Any] = {
        "client_id": "generic-client",
        "client_secret": SECRET,
        "redirect_uri": REDIRECT_URI,
        "provider_id": "example",
        "authorization_endpoint": issuer.base_url + "/authorize",
        "token_endpoint": issuer.base_url + "/token",
        "userinfo_endpoint": issuer.base_url + "/userinfo",
        "scope": ["read", "email"],
    }
    settings.update(options)
    return OAuth2Provider(auth, **settings)


async def callback_error(provider: OAuth2Provider, error: type[E]) -> E:
    """What ``validate_callback`` of a new flow (the code ``"the-code"``) raises: an ``error``."""
    _, _, verifier = await provider.get_authorization_url()
    with pytest.raises(error) as caught:
        await provider.validate_callback("the-code", code_verifier=verifier)
    return caught.value


def token_requests(issuer: Any) -> list[dict[str, Any]]:
    return [r for r in issuer.requests if r["path"] == "/token"]


async def test_authorization_url_carries_the_flow_parameters(auth: Lucia, issuer: Any) -> None:
    """The URL has response_type=code, our client, the exact redirect URI, state, scope and S256 PKCE."""
    provider = make_provider(auth, issuer, authorization_params={"prompt": "consent", "state": "attacker"})
    url, state, verifier = await provider.get_authorization_url()
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == issuer.base_url + "/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == "generic-client"
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["state"] == state
    assert query["scope"] == "read email"
    assert query["prompt"] == "consent"
    assert verifier is not None
    assert "nonce" not in query
    assert SECRET not in url


async def test_o1_state_is_at_least_128_bits_and_never_repeats(auth: Lucia, issuer: Any) -> None:
    """Each flow gets a fresh state of at least 128 bits of base64url randomness."""
    provider = make_provider(auth, issuer)
    states = {(await provider.get_authorization_url()).state for _ in range(500)}
    assert len(states) == 500
    for state in states:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", state)
        assert len(base64.urlsafe_b64decode(state + "=" * (-len(state) % 4))) * 8 >= 128


async def test_o2_pkce_uses_s256_of_a_strong_verifier(auth: Lucia, issuer: Any) -> None:
    """The challenge is BASE64URL(SHA256(verifier)), method S256, never plain; the exchange sends the verifier."""
    provider = make_provider(auth, issuer)
    url, _, verifier = await provider.get_authorization_url()
    assert verifier is not None
    assert re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier)
    query = parse_qs(urlsplit(url).query)
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert query["code_challenge"] == [expected]
    assert query["code_challenge_method"] == ["S256"]
    await provider.validate_callback("the-code", code_verifier=verifier)
    assert token_requests(issuer)[0]["form"]["code_verifier"] == verifier


async def test_o2_provider_without_pkce_sends_no_challenge(auth: Lucia, issuer: Any) -> None:
    """A provider declared without PKCE gets no challenge and no verifier (and never ``plain``)."""
    provider = make_provider(auth, issuer, pkce=False)
    url, _, verifier = await provider.get_authorization_url()
    assert verifier is None
    assert "code_challenge" not in url
    await provider.validate_callback("the-code")
    assert "code_verifier" not in token_requests(issuer)[0]["form"]


async def test_o3_redirect_uri_is_identical_in_both_requests(auth: Lucia, issuer: Any) -> None:
    """The configured redirect URI is sent unchanged in the authorization and the token request."""
    provider = make_provider(auth, issuer)
    url, _, verifier = await provider.get_authorization_url()
    await provider.validate_callback("the-code", code_verifier=verifier)
    assert parse_qs(urlsplit(url).query)["redirect_uri"] == [REDIRECT_URI]
    assert token_requests(issuer)[0]["form"]["redirect_uri"] == REDIRECT_URI


async def test_o3_client_secret_basic_travels_only_in_the_authorization_header(auth: Lucia, issuer: Any) -> None:
    """client_secret_basic: the secret is in the Basic header, never in the URL or the body."""
    provider = make_provider(auth, issuer, token_endpoint_auth_method="client_secret_basic")
    _, _, verifier = await provider.get_authorization_url()
    await provider.validate_callback("the-code", code_verifier=verifier)
    request = token_requests(issuer)[0]
    assert (
        request["headers"]["authorization"] == "Basic " + base64.b64encode(f"generic-client:{SECRET}".encode()).decode()
    )
    assert SECRET not in request["query"]
    assert "client_secret" not in request["form"]


async def test_o3_client_secret_post_travels_only_in_the_body(auth: Lucia, issuer: Any) -> None:
    """client_secret_post: the secret is in the POST body, never in the URL or a header."""
    provider = make_provider(auth, issuer, token_endpoint_auth_method="client_secret_post")
    _, _, verifier = await provider.get_authorization_url()
    await provider.validate_callback("the-code", code_verifier=verifier)
    request = token_requests(issuer)[0]
    assert request["form"]["client_secret"] == SECRET
    assert request["form"]["client_id"] == "generic-client"
    assert SECRET not in request["query"]
    assert "authorization" not in request["headers"]
    userinfo = next(r for r in issuer.requests if r["path"] == "/userinfo")
    assert SECRET not in userinfo["query"]
    assert userinfo["headers"]["authorization"] == "Bearer local-access-token"


async def test_o3_public_client_sends_no_secret(auth: Lucia, issuer: Any) -> None:
    """token_endpoint_auth_method="none" sends the client id only."""
    provider = make_provider(auth, issuer, client_secret=None, token_endpoint_auth_method="none")
    _, _, verifier = await provider.get_authorization_url()
    await provider.validate_callback("the-code", code_verifier=verifier)
    request = token_requests(issuer)[0]
    assert request["form"]["client_id"] == "generic-client"
    assert "client_secret" not in request["form"]
    assert "authorization" not in request["headers"]


async def test_o3_back_channel_requests_do_not_follow_redirects(auth: Lucia, issuer: Any) -> None:
    """A redirecting token endpoint is an error; the redirect target is never contacted."""
    await _assert_token_redirect_is_not_followed(make_provider(auth, issuer), issuer)


async def _assert_token_redirect_is_not_followed(provider: OAuth2Provider, issuer: Any) -> None:
    """The token endpoint redirects: the exchange fails with the 307 and the target is never contacted."""
    issuer.token_redirect = issuer.base_url + "/elsewhere"
    error = await callback_error(provider, LuciaOAuthRequestError)
    assert error.status == 307
    assert issuer.count("/elsewhere") == 0


async def test_generic_flow_reads_the_user_and_links_keys(auth: Lucia, issuer: Any) -> None:
    """validate_callback → provider_user; create_user makes the primary key; a second provider links."""
    issuer.userinfo = {"id": 42, "login": "octo", "email": "octo@example.test"}
    provider = make_provider(auth, issuer, user_id_field="id")
    _, _, verifier = await provider.get_authorization_url()
    session = await provider.validate_callback("the-code", code_verifier=verifier)
    assert session.provider_user_id == "42"
    assert session.provider_user["login"] == "octo"
    assert session.email == "octo@example.test"
    assert session.email_verified is False
    assert isinstance(session.tokens, OAuth2Tokens)
    assert session.tokens.refresh_token == "local-refresh-token"
    assert session.tokens.expires_in == 3600
    user = await session.create_user({"username": "octo"})
    key = await auth.get_key("example", "42")
    assert key.primary and key.user_id == user.user_id and not key.password_defined

    with pytest.raises(LuciaError) as duplicate:
        await session.create_user({"username": "octo-again"})
    assert duplicate.value.code == "AUTH_DUPLICATE_KEY_ID"

    other = make_provider(auth, issuer, provider_id="other", user_id_field="id")
    _, _, verifier = await other.get_authorization_url()
    linked = await other.validate_callback("the-code", code_verifier=verifier)
    assert linked.existing_user is None
    key = await linked.create_persistent_key(user.user_id)
    assert key.user_id == user.user_id and not key.primary
    assert {k.provider_id for k in await auth.get_all_user_keys(user.user_id)} == {"example", "other"}


async def test_o5_identity_is_the_subject_not_the_email(auth: Lucia, issuer: Any) -> None:
    """Another subject with the same email is a new identity; a changed email keeps the user."""
    provider = make_provider(auth, issuer)
    issuer.userinfo = {"sub": "subject-1", "email": "shared@example.test", "email_verified": True}
    _, _, verifier = await provider.get_authorization_url()
    first = await provider.validate_callback("c", code_verifier=verifier)
    user = await first.create_user({"username": "first"})

    issuer.userinfo = {"sub": "subject-2", "email": "shared@example.test", "email_verified": True}
    _, _, verifier = await provider.get_authorization_url()
    impostor = await provider.validate_callback("c", code_verifier=verifier)
    assert impostor.existing_user is None

    issuer.userinfo = {"sub": "subject-1", "email": "new-address@example.test", "email_verified": True}
    _, _, verifier = await provider.get_authorization_url()
    again = await provider.validate_callback("c", code_verifier=verifier)
    assert again.existing_user is not None and again.existing_user.user_id == user.user_id


async def test_o5_link_by_email_only_when_both_sides_are_verified(auth: Lucia, issuer: Any) -> None:
    """can_link_by_email is true only for the same address verified on both sides."""
    provider = make_provider(auth, issuer)
    issuer.userinfo = {"sub": "s", "email": "Ada@Example.test", "email_verified": True}
    _, _, verifier = await provider.get_authorization_url()
    verified = await provider.validate_callback("c", code_verifier=verifier)
    assert verified.can_link_by_email(email="ada@example.test", email_verified=True)
    assert not verified.can_link_by_email(email="ada@example.test", email_verified=False)
    assert not verified.can_link_by_email(email="other@example.test", email_verified=True)
    assert not verified.can_link_by_email(email=None, email_verified=True)

    issuer.userinfo = {"sub": "s", "email": "ada@example.test", "email_verified": False}
    _, _, verifier = await provider.get_authorization_url()
    unverified = await provider.validate_callback("c", code_verifier=verifier)
    assert not unverified.can_link_by_email(email="ada@example.test", email_verified=True)

    issuer.userinfo = {"sub": "s", "email": "ada@example.test", "email_verified": "yes"}
    _, _, verifier = await provider.get_authorization_url()
    sloppy = await provider.validate_callback("c", code_verifier=verifier)
    assert not sloppy.can_link_by_email(email="ada@example.test", email_verified=True)


async def test_o6_provider_error_parameter_fails_closed(auth: Lucia, issuer: Any) -> None:
    """A callback with ``error=access_denied`` is refused before any exchange; nothing is sent or created."""
    provider = make_provider(auth, issuer)
    authorization = await provider.get_authorization_url()
    header = "; ".join(f"{c.name}={c.value}" for c in create_oauth_cookies(auth, authorization))
    cookies = read_oauth_cookies(header, provider)
    with pytest.raises(LuciaOAuthError) as caught:
        check_callback({"error": "access_denied", "state": authorization.state, "code": "x"}, cookies)
    assert caught.value.code == "OAUTH_PROVIDER_ERROR"
    assert "access_denied" in caught.value.detail
    assert token_requests(issuer) == []


async def test_o6_token_endpoint_500_fails_closed(auth: Lucia, issuer: Any) -> None:
    """HTTP 500 from the token endpoint: LuciaOAuthRequestError(500, body); nothing created."""
    issuer.token_status = 500
    issuer.token_raw = b"upstream exploded"
    provider = make_provider(auth, issuer)
    error = await callback_error(provider, LuciaOAuthRequestError)
    assert (error.status, error.body) == (500, "upstream exploded")
    assert issuer.count("/userinfo") == 0


async def test_o6_error_member_in_a_200_answer_fails_closed(auth: Lucia, issuer: Any) -> None:
    """GitHub answers a bad code with 200 and an ``error`` member: still a LuciaOAuthRequestError."""
    issuer.token_body = {"error": "bad_verification_code", "error_description": "The code is wrong."}
    provider = make_provider(auth, issuer)
    error = await callback_error(provider, LuciaOAuthRequestError)
    assert error.status == 200
    assert error.error == "bad_verification_code"
    assert error.error_description == "The code is wrong."


async def test_o6_invalid_json_fails_closed(auth: Lucia, issuer: Any) -> None:
    """A token answer that is not JSON, or lacks access_token, is OAUTH_INVALID_RESPONSE."""
    provider = make_provider(auth, issuer)
    for raw in (b"{not json", b"[1, 2]", b'{"token_type": "Bearer"}'):
        issuer.token_raw = raw
        error = await callback_error(provider, LuciaOAuthError)
        assert error.code == "OAUTH_INVALID_RESPONSE"
    assert issuer.count("/userinfo") == 0


async def test_o6_user_endpoint_failures_fail_closed(auth: Lucia, issuer: Any) -> None:
    """A failing or garbled user endpoint, or one without an id, creates nothing."""
    provider = make_provider(auth, issuer)
    issuer.userinfo_status = 500
    _, _, verifier = await provider.get_authorization_url()
    with pytest.raises(LuciaOAuthRequestError):
        await provider.validate_callback("the-code", code_verifier=verifier)
    issuer.userinfo_status, issuer.userinfo_raw = 200, b"<html>"
    with pytest.raises(LuciaOAuthError) as garbled:
        await provider.validate_callback("the-code", code_verifier=verifier)
    assert garbled.value.code == "OAUTH_INVALID_RESPONSE"
    issuer.userinfo_raw, issuer.userinfo = None, {"email": "no-id@example.test"}
    with pytest.raises(LuciaOAuthError) as no_id:
        await provider.validate_callback("the-code", code_verifier=verifier)
    assert no_id.value.code == "OAUTH_INVALID_RESPONSE"


async def test_o6_timeout_fails_closed(auth: Lucia, issuer: Any) -> None:
    """A token endpoint that does not answer in time is OAUTH_NETWORK_ERROR."""
    issuer.token_delay = 2.0
    provider = make_provider(auth, issuer, timeout=0.2)
    error = await callback_error(provider, LuciaOAuthError)
    assert error.code == "OAUTH_NETWORK_ERROR"
    assert issuer.count("/userinfo") == 0


async def test_o6_unreachable_provider_fails_closed(auth: Lucia, issuer: Any) -> None:
    """Nobody listening at the token endpoint is OAUTH_NETWORK_ERROR."""
    provider = make_provider(auth, issuer, token_endpoint=f"http://127.0.0.1:{free_port()}/token")
    error = await callback_error(provider, LuciaOAuthError)
    assert error.code == "OAUTH_NETWORK_ERROR"


async def test_missing_code_or_verifier_is_refused_without_a_request(auth: Lucia, issuer: Any) -> None:
    """An empty code, or no verifier for a PKCE provider, fails before anything is sent."""
    provider = make_provider(auth, issuer)
    for code, verifier in (("", "v" * 43), ("the-code", None), ("x" * 5000, "v" * 43)):
        with pytest.raises(LuciaOAuthError) as caught:
            await provider.validate_callback(code, code_verifier=verifier)
        assert caught.value.code == "OAUTH_INVALID_CALLBACK"
    assert issuer.requests == []


async def test_refresh_returns_the_new_token_set(auth: Lucia, issuer: Any) -> None:
    """refresh_access_token posts the refresh grant with client auth and returns the new tokens."""
    issuer.token_body = {"access_token": "new-access", "token_type": "Bearer", "refresh_token": "new-refresh"}
    provider = make_provider(auth, issuer)
    tokens = await provider.refresh_access_token("old-refresh")
    assert (tokens.access_token, tokens.refresh_token) == ("new-access", "new-refresh")
    form = token_requests(issuer)[0]["form"]
    assert form == {"grant_type": "refresh_token", "refresh_token": "old-refresh"}


async def test_refresh_keeps_the_refresh_token_when_none_is_issued(auth: Lucia, issuer: Any) -> None:
    """Without a new refresh token in the answer, the old one is still the one to use."""
    issuer.token_body = {"access_token": "new-access", "token_type": "Bearer"}
    tokens = await make_provider(auth, issuer).refresh_access_token("old-refresh")
    assert tokens.refresh_token == "old-refresh"


async def test_concurrent_refreshes_of_one_token_share_one_request(auth: Lucia, issuer: Any) -> None:
    """Ten concurrent refreshes of the same token make one provider request; all get its result."""
    issuer.token_delay = 0.2
    provider = make_provider(auth, issuer)
    results: list[OAuth2Tokens] = []

    async def refresh() -> None:
        results.append(await provider.refresh_access_token("shared-refresh"))

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(refresh)
    assert len(token_requests(issuer)) == 1
    assert len(results) == 10
    assert all(r is results[0] for r in results)

    await provider.refresh_access_token("shared-refresh")
    assert len(token_requests(issuer)) == 2, "a finished refresh is not cached"


async def test_concurrent_refreshes_share_the_failure_too(auth: Lucia, issuer: Any) -> None:
    """When the one request fails, every waiting caller gets the provider's error."""
    issuer.token_delay = 0.2
    issuer.token_status = 400
    issuer.token_body = {"error": "invalid_grant"}
    provider = make_provider(auth, issuer)
    errors: list[LuciaOAuthRequestError] = []

    async def refresh() -> None:
        try:
            await provider.refresh_access_token("revoked-refresh")
        except LuciaOAuthRequestError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(refresh)
    assert len(token_requests(issuer)) == 1
    assert [e.error for e in errors] == ["invalid_grant"] * 5


async def test_refresh_on_a_provider_without_refresh_is_refused(auth: Lucia, issuer: Any) -> None:
    """A provider that issues no refresh tokens refuses locally."""

    class NoRefresh(OAuth2Provider):
        supports_refresh = False

    provider = NoRefresh(
        auth, client_id="c", client_secret="s", redirect_uri=REDIRECT_URI, token_endpoint=issuer.base_url + "/token"
    )
    with pytest.raises(LuciaOAuthError) as caught:
        await provider.refresh_access_token("r")
    assert caught.value.code == "OAUTH_CONFIGURATION"
    assert issuer.requests == []


async def test_configuration_mistakes_are_refused(auth: Lucia) -> None:
    """A scope string, a redirect URI with a fragment or a ':' in the provider id are refused."""
    base: dict[str, Any] = {"client_id": "c", "client_secret": "s", "redirect_uri": REDIRECT_URI}
    with pytest.raises(TypeError):
        OAuth2Provider(auth, **{**base, "scope": "openid email"})
    for bad in ("/relative/callback", "javascript:alert(1)", REDIRECT_URI + "#fragment", ""):
        with pytest.raises(LuciaOAuthError):
            OAuth2Provider(auth, **{**base, "redirect_uri": bad})
    with pytest.raises(LuciaOAuthError):
        OAuth2Provider(auth, **base, provider_id="a:b")
    with pytest.raises(LuciaOAuthError) as caught:
        await OAuth2Provider(auth, **base).get_authorization_url()
    assert caught.value.code == "OAUTH_CONFIGURATION"


async def test_secrets_never_show_in_reprs_or_logs(auth: Lucia, issuer: Any, caplog: pytest.LogCaptureFixture) -> None:
    """The client secret, code, verifier, state and tokens appear in no repr and no DEBUG log line."""
    caplog.set_level(logging.DEBUG)
    provider = make_provider(auth, issuer)
    authorization = await provider.get_authorization_url()
    session = await provider.validate_callback("secret-code-123", code_verifier=authorization.code_verifier)
    await session.create_user({"username": "logs"})
    await provider.refresh_access_token("local-refresh-token")
    shown = " ".join([repr(provider), repr(authorization), repr(session), repr(session.tokens), caplog.text])
    assert authorization.code_verifier is not None
    for secret in (
        SECRET,
        "secret-code-123",
        authorization.code_verifier,
        authorization.state,
        "local-access-token",
        "local-refresh-token",
    ):
        assert secret not in shown


async def test_o3_a_shared_client_that_follows_redirects_still_does_not(auth: Lucia, issuer: Any) -> None:
    """An injected httpx client configured to follow redirects is overridden for back-channel calls."""
    import httpx

    async with httpx.AsyncClient(follow_redirects=True) as client:
        await _assert_token_redirect_is_not_followed(make_provider(auth, issuer, http_client=client), issuer)


async def test_configuration_is_one_validated_options_object(auth: Lucia, issuer: Any) -> None:
    """The keyword options become ``provider.options``; the secret never shows in its repr; typos are TypeErrors."""
    provider = make_provider(auth, issuer)
    assert provider.options.client_id == "generic-client"
    assert provider.options.token_endpoint == issuer.base_url + "/token"
    assert SECRET not in repr(provider.options)
    with pytest.raises(TypeError):
        make_provider(auth, issuer, client_secrt="typo")
    with pytest.raises(LuciaOAuthConfigurationError):
        make_provider(auth, issuer, client_secret=None)  # client_secret_basic without a secret
    with pytest.raises(LuciaOAuthConfigurationError):
        make_provider(auth, issuer, timeout=0)


@pytest.mark.parametrize("endpoint", ["authorization_endpoint", "token_endpoint", "userinfo_endpoint"])
@pytest.mark.parametrize(
    "url",
    [
        "http://forge.example/x",
        "http://192.168.1.10/x",
        "http://[::ffff:7f00:1]/x",
        "ws://forge.example/x",
        "https://forge.example/x#frag",
        "https://user:secret@forge.example/x",
        "https://forge.example:notaport/x",
        "/relative/x",
    ],
)
async def test_h10_oauth2_provider_refuses_insecure_endpoints_at_construction(
    auth: Lucia, endpoint: str, url: str
) -> None:
    """An endpoint that is not https (plain http only on a loopback host) is refused when the provider is made."""
    with pytest.raises(LuciaOAuthInsecureEndpointError) as caught:
        make_provider(auth, SimpleNamespace(base_url="https://forge.example"), **{endpoint: url})
    assert caught.value.endpoint == endpoint
    assert caught.value.code == "OAUTH_CONFIGURATION"
    assert isinstance(caught.value, LuciaOAuthConfigurationError)


async def test_h10_back_channel_requests_refuse_plain_http_off_loopback(auth: Lucia, issuer: Any) -> None:
    """fetch_json (every provider's user calls) refuses a plain-http URL before connecting."""
    provider = make_provider(auth, issuer)
    with pytest.raises(LuciaOAuthInsecureEndpointError) as caught:
        await provider.fetch_json("http://api.forge.example/user", access_token="t")
    assert caught.value.code == "OAUTH_CONFIGURATION"  # refused, not a failed connection
    assert await provider.fetch_json(issuer.base_url + "/userinfo", access_token="t")
