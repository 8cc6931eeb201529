"""The named providers' defaults and options, without any network."""

from __future__ import annotations

import base64
import inspect
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from lucia import Lucia
from lucia_oauth import LuciaOAuthError, LuciaOAuthInsecureEndpointError, OAuth2Provider
from lucia_oauth import providers as named

pytestmark = pytest.mark.anyio

CLIENT = {"client_id": "client-id", "client_secret": "client-secret", "redirect_uri": "https://app.example/callback"}
#: Apple's options but the private key: Apple signs its own client secret with the team's key.
APPLE = {"client_id": "c", "team_id": "T", "key_id": "K", "redirect_uri": CLIENT["redirect_uri"]}


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize(
    ("cls", "authorization", "token", "user"),
    [
        (
            named.GitHub,
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            "https://api.github.com/user",
        ),
        (
            named.Discord,
            "https://discord.com/oauth2/authorize",
            "https://discord.com/api/oauth2/token",
            "https://discord.com/api/users/@me",
        ),
        (
            named.GitLab,
            "https://gitlab.com/oauth/authorize",
            "https://gitlab.com/oauth/token",
            "https://gitlab.com/api/v4/user",
        ),
        (
            named.Facebook,
            "https://www.facebook.com/v22.0/dialog/oauth",
            "https://graph.facebook.com/v22.0/oauth/access_token",
            "https://graph.facebook.com/v22.0/me",
        ),
        (
            named.Twitch,
            "https://id.twitch.tv/oauth2/authorize",
            "https://id.twitch.tv/oauth2/token",
            "https://api.twitch.tv/helix/users",
        ),
        (
            named.Reddit,
            "https://www.reddit.com/api/v1/authorize",
            "https://www.reddit.com/api/v1/access_token",
            "https://oauth.reddit.com/api/v1/me",
        ),
        (
            named.Spotify,
            "https://accounts.spotify.com/authorize",
            "https://accounts.spotify.com/api/token",
            "https://api.spotify.com/v1/me",
        ),
        (
            named.Patreon,
            "https://www.patreon.com/oauth2/authorize",
            "https://www.patreon.com/api/oauth2/token",
            "https://www.patreon.com/api/oauth2/v2/identity",
        ),
    ],
)
async def test_plain_providers_use_their_real_endpoints_by_default(
    auth: Lucia, cls: type[OAuth2Provider], authorization: str, token: str, user: str
) -> None:
    """Without options a plain OAuth 2.0 provider talks to the provider's documented endpoints."""
    provider = cls(auth, **CLIENT)
    assert (provider.authorization_endpoint, provider.token_endpoint, provider.userinfo_endpoint) == (
        authorization,
        token,
        user,
    )


async def test_openid_providers_use_their_real_issuers_by_default(auth: Lucia) -> None:
    """Without options an OpenID Connect provider discovers from the provider's documented issuer."""
    apple = named.Apple(auth, private_key=_pem(ec.generate_private_key(ec.SECP256R1())), **APPLE)
    assert named.Google(auth, **CLIENT).issuer == "https://accounts.google.com"
    assert named.LinkedIn(auth, **CLIENT).issuer == "https://www.linkedin.com/oauth"
    assert named.Slack(auth, **CLIENT).issuer == "https://slack.com"
    assert apple.issuer == "https://appleid.apple.com"
    assert named.MicrosoftEntraID(auth, **CLIENT).issuer == "https://login.microsoftonline.com/common/v2.0"


async def test_tenant_domain_realm_and_base_url_options_build_the_issuer(auth: Lucia) -> None:
    """Auth0/Okta domain, Keycloak base URL + realm, Entra tenant make the issuer; GitLab can be self-managed."""
    assert named.Auth0(auth, domain="dev-x.us.auth0.com", **CLIENT).issuer == "https://dev-x.us.auth0.com/"
    assert named.Okta(auth, domain="dev-1.okta.com", **CLIENT).issuer == "https://dev-1.okta.com/oauth2/default"
    assert (
        named.Okta(auth, domain="dev-1.okta.com", authorization_server_id=None, **CLIENT).issuer
        == "https://dev-1.okta.com"
    )
    keycloak = named.Keycloak(auth, base_url="https://sso.example.com/", realm="main", **CLIENT)
    assert keycloak.issuer == "https://sso.example.com/realms/main"
    entra = named.MicrosoftEntraID(auth, tenant="contoso.onmicrosoft.com", **CLIENT)
    assert entra.issuer == "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
    gitlab = named.GitLab(auth, base_url="gitlab.example.com", **CLIENT)
    assert gitlab.authorization_endpoint == "https://gitlab.example.com/oauth/authorize"
    assert gitlab.userinfo_endpoint == "https://gitlab.example.com/api/v4/user"


@pytest.mark.parametrize(
    ("make", "insecure"),
    [
        (lambda auth: named.GitLab(auth, base_url="ftp://gitlab.example.com", **CLIENT), True),
        (lambda auth: named.Okta(auth, domain="", **CLIENT), False),
        (lambda auth: named.Keycloak(auth, base_url="https://sso.example.com", realm="", **CLIENT), False),
        (lambda auth: named.MicrosoftEntraID(auth, tenant="../evil", **CLIENT), False),
        # H10: plain http off loopback, for every kind of host option
        (lambda auth: named.GitHub(auth, base_url="http://github.example", **CLIENT), True),
        (lambda auth: named.GitHub(auth, api_base_url="http://api.github.example", **CLIENT), True),
        (lambda auth: named.GitLab(auth, base_url="http://10.1.2.3:8080", **CLIENT), True),
        (lambda auth: named.Google(auth, issuer="http://accounts.example", **CLIENT), True),
        (lambda auth: named.Auth0(auth, domain="http://tenant.auth0.example", **CLIENT), True),
        (lambda auth: named.Okta(auth, domain="http://dev-1.okta.example", **CLIENT), True),
        (lambda auth: named.Keycloak(auth, base_url="http://sso.example", realm="main", **CLIENT), True),
        (lambda auth: named.MicrosoftEntraID(auth, base_url="http://login.example", **CLIENT), True),
    ],
)
async def test_h10_bad_or_plain_http_host_options_are_refused_at_construction(
    auth: Lucia, make: object, insecure: bool
) -> None:
    """A non-https base URL, issuer or domain (http only on loopback), an empty realm, a bad tenant: refused."""
    with pytest.raises(LuciaOAuthError) as info:
        make(auth)  # type: ignore[operator]
    assert info.value.code == "OAUTH_CONFIGURATION"
    assert isinstance(info.value, LuciaOAuthInsecureEndpointError) is insecure


async def test_google_accepts_its_documented_scheme_less_issuer_only(auth: Lucia) -> None:
    """Google's id_tokens may say iss "accounts.google.com"; nothing else passes, and not for another issuer."""
    google = named.Google(auth, **CLIENT)
    assert google.is_valid_issuer("https://accounts.google.com")
    assert google.is_valid_issuer("accounts.google.com")
    assert not google.is_valid_issuer("https://accounts.google.com.evil.example")
    assert not google.is_valid_issuer("evil.example")
    other = named.Google(auth, issuer="http://127.0.0.1:9/google", **CLIENT)
    assert not other.is_valid_issuer("accounts.google.com")


@pytest.mark.parametrize(
    "key",
    [
        _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        _pem(ec.generate_private_key(ec.SECP384R1())),
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    ],
    ids=["rsa", "p384", "garbage"],
)
async def test_apple_refuses_a_key_that_is_not_p256(auth: Lucia, key: str) -> None:
    """Apple's client secret is ES256: any other private key is a configuration error that shows no key material."""
    with pytest.raises(LuciaOAuthError) as info:
        named.Apple(auth, private_key=key, **APPLE)
    assert info.value.code == "OAUTH_CONFIGURATION"
    assert "BEGIN" not in str(info.value)


async def test_apple_client_secret_is_a_short_lived_es256_jwt(auth: Lucia) -> None:
    """The client secret verifies with the team key's public half and names team, client and Apple."""
    key = ec.generate_private_key(ec.SECP256R1())
    apple = named.Apple(
        auth,
        client_id="com.example.web",
        team_id="TEAM123456",
        key_id="KEY1234567",
        private_key=_pem(key).encode(),
        redirect_uri=CLIENT["redirect_uri"],
        clock=lambda: 1_700_000_000.0,
    )
    secret = await apple.client_secret_value()
    assert secret is not None
    header_b64, claims_b64, signature_b64 = secret.split(".")
    raw = b64url_decode(signature_b64)
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.public_key().verify(signature, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    assert json.loads(b64url_decode(header_b64)) == {"alg": "ES256", "typ": "JWT", "kid": "KEY1234567"}
    assert json.loads(b64url_decode(claims_b64)) == {
        "iss": "TEAM123456",
        "iat": 1_700_000_000,
        "exp": 1_700_000_300,
        "aud": "https://appleid.apple.com",
        "sub": "com.example.web",
    }


async def test_apple_asks_for_form_post_only_with_name_or_email(auth: Lucia) -> None:
    """Apple requires response_mode=form_post when the name or email scope is requested, and only then."""
    pem = _pem(ec.generate_private_key(ec.SECP256R1()))
    options = {**APPLE, "private_key": pem}
    assert named.Apple(auth, **options).extra_authorization_params() == {"response_mode": "form_post"}
    assert named.Apple(auth, scope=[], **options).extra_authorization_params() == {}


async def test_providers_without_refresh_tokens_refuse_locally(auth: Lucia) -> None:
    """Facebook and Slack issue no refresh tokens: refreshing is refused before any request."""
    for provider in (named.Facebook(auth, **CLIENT), named.Slack(auth, **CLIENT)):
        with pytest.raises(LuciaOAuthError) as info:
            await provider.refresh_access_token("a-refresh-token")
        assert info.value.code == "OAUTH_CONFIGURATION"


async def test_plain_providers_can_turn_pkce_off_for_a_scope_that_refuses_it(auth: Lucia) -> None:
    """Discord refuses PKCE with role_connections.write: pkce=False sends no challenge and needs no verifier."""
    discord = named.Discord(auth, scope=["identify", "role_connections.write"], pkce=False, **CLIENT)
    url, _, code_verifier = await discord.get_authorization_url()
    assert code_verifier is None
    assert "code_challenge" not in url


async def test_h10_named_providers_accept_loopback_http_for_development(auth: Lucia) -> None:
    """Self-hosted instances on localhost or 127.0.0.0/8 may use http (local development, emulations)."""
    assert (
        named.GitLab(auth, base_url="http://localhost:8929", **CLIENT).token_endpoint
        == "http://localhost:8929/oauth/token"
    )
    keycloak = named.Keycloak(auth, base_url="http://127.0.0.1:8080", realm="dev", **CLIENT)
    assert keycloak.issuer == "http://127.0.0.1:8080/realms/dev"


async def test_options_are_one_object_per_provider_with_a_typed_signature(auth: Lucia) -> None:
    """Each provider's keyword options are its options dataclass: visible in its signature, kept on .options."""
    github = named.GitHub(auth, scope=["read:user"], **CLIENT)
    assert github.options.scope == ["read:user"] and github.options.base_url is None
    assert "client-secret" not in repr(github.options)
    parameters = inspect.signature(named.Keycloak).parameters
    assert {"auth", "client_id", "client_secret", "redirect_uri", "scope", "base_url", "realm"} <= set(parameters)
    with pytest.raises(TypeError):
        named.GitHub(auth, realm="main", **CLIENT)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        named.Keycloak(auth, base_url="https://sso.example.com", **CLIENT)  # type: ignore[call-arg]


async def test_apple_takes_a_key_not_a_client_secret(auth: Lucia) -> None:
    """Apple signs its own client secret: a client_secret option is refused, the key never shows in a repr."""
    pem = _pem(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(LuciaOAuthError) as info:
        named.Apple(auth, private_key=pem, client_secret="x", **APPLE)
    assert info.value.code == "OAUTH_CONFIGURATION"
    apple = named.Apple(auth, private_key=pem, **APPLE)
    assert "PRIVATE" not in repr(apple.options) and "PRIVATE" not in repr(apple)
