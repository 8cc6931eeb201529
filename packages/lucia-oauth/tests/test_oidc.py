"""OIDCProvider against a local issuer we control: every forged or broken id_token is refused (O4)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from lucia import Lucia, LuciaError
from lucia.testing import FakeClock
from lucia_oauth import (
    LuciaOAuthError,
    LuciaOAuthIdTokenError,
    LuciaOAuthInsecureEndpointError,
    LuciaOAuthRequestError,
    OIDCProvider,
    derive_nonce,
)

pytestmark = pytest.mark.anyio

CLIENT_ID = "lucia-test-client"


def make_provider(auth: Lucia, issuer: Any, clock: FakeClock) -> OIDCProvider:
    return OIDCProvider(
        auth,
        issuer=issuer.base_url,
        client_id=CLIENT_ID,
        client_secret="local-secret",
        redirect_uri="http://127.0.0.1:8000/callback",
        clock=clock,
    )


@pytest.fixture
def provider(auth: Lucia, issuer: Any, clock: FakeClock) -> OIDCProvider:
    return make_provider(auth, issuer, clock)


async def start(provider: OIDCProvider) -> tuple[str, str]:
    """A fresh flow: the code verifier and the nonce the issuer must echo."""
    authorization = await provider.get_authorization_url()
    assert authorization.code_verifier is not None and authorization.nonce is not None
    return authorization.code_verifier, authorization.nonce


async def assert_refused(provider: OIDCProvider, auth: Lucia, verifier: str, fragment: str) -> None:
    """validate_callback fails with OAUTH_INVALID_ID_TOKEN naming ``fragment``; no key exists."""
    with pytest.raises(LuciaOAuthError) as caught:
        await provider.validate_callback("local-code", code_verifier=verifier)
    assert caught.value.code == "OAUTH_INVALID_ID_TOKEN", caught.value
    assert fragment in caught.value.detail
    with pytest.raises(LuciaError):
        await auth.get_key("oidc", "local-user-1")


async def test_valid_id_token_is_accepted(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """A correctly signed token for our client, issuer and nonce signs the user in."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce))
    session = await provider.validate_callback("local-code", code_verifier=verifier)
    assert session.provider_user_id == "local-user-1"
    assert session.provider_user["email"] == "local@example.test"
    user = await session.create_user({"username": "local"})
    assert (await auth.get_key("oidc", "local-user-1")).user_id == user.user_id


async def test_o4_nonce_is_derived_from_the_verifier(provider: OIDCProvider) -> None:
    """The nonce sent is bound to the code verifier, so the verifier cookie alone checks it."""
    verifier, nonce = await start(provider)
    assert nonce == derive_nonce(verifier)
    assert len(nonce) >= 43


async def test_o4_tampered_signature_is_refused(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """A token whose payload was changed after signing is refused."""
    verifier, nonce = await start(provider)
    header, _, signature = issuer.sign(issuer.claims(nonce)).split(".")
    _, forged_payload, _ = issuer.sign(issuer.claims(nonce, sub="someone-else")).split(".")
    issuer.id_token = f"{header}.{forged_payload}.{signature}"
    await assert_refused(provider, auth, verifier, "signature")


async def test_o4_token_signed_by_another_key_with_our_kid_is_refused(
    provider: OIDCProvider, issuer: Any, auth: Lucia
) -> None:
    """An attacker's key cannot sign for the issuer's kid."""
    verifier, nonce = await start(provider)
    attacker = rsa.generate_private_key(65537, 2048)
    issuer.id_token = issuer.sign(issuer.claims(nonce), key=attacker)
    await assert_refused(provider, auth, verifier, "signature")


async def test_o4_alg_none_is_refused(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """An unsigned ``alg: none`` token is refused."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce), alg="none")
    await assert_refused(provider, auth, verifier, "'none' is not allowed")


async def test_o4_hs256_signed_with_the_public_key_is_refused(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """The HS/RS confusion attack (HMAC keyed with the issuer's public key) is refused."""
    verifier, nonce = await start(provider)
    public_pem = issuer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    issuer.id_token = issuer.sign(issuer.claims(nonce), alg="HS256", key=public_pem)
    await assert_refused(provider, auth, verifier, "'HS256' is not allowed")


async def test_o4_wrong_issuer_is_refused(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """``iss`` must equal the configured issuer exactly (a trailing slash is another issuer)."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce, iss=issuer.base_url + "/"))
    await assert_refused(provider, auth, verifier, "'iss'")


async def test_o4_wrong_audience_is_refused(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """A token issued to another client is refused."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce, aud="another-client"))
    await assert_refused(provider, auth, verifier, "'aud'")


async def test_o4_foreign_authorized_party_is_refused(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """Several audiences with an ``azp`` that is not us is refused."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce, aud=[CLIENT_ID, "other"], azp="other"))
    await assert_refused(provider, auth, verifier, "'azp'")


async def test_o4_several_audiences_without_azp_are_refused(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """Several audiences and no ``azp``: we cannot tell who the token is for."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce, aud=[CLIENT_ID, "other"]))
    await assert_refused(provider, auth, verifier, "'azp'")


async def test_o4_expired_token_is_refused(provider: OIDCProvider, issuer: Any, auth: Lucia, clock: FakeClock) -> None:
    """A token past ``exp`` plus the leeway is refused."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce, iat=int(clock()) - 900, exp=int(clock()) - 120))
    await assert_refused(provider, auth, verifier, "expired")


async def test_o4_token_expired_within_the_leeway_is_accepted(
    provider: OIDCProvider, issuer: Any, clock: FakeClock
) -> None:
    """Small clock skew (under a minute) is tolerated."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce, iat=int(clock()) - 600, exp=int(clock()) - 30))
    session = await provider.validate_callback("local-code", code_verifier=verifier)
    assert session.provider_user_id == "local-user-1"


async def test_o4_token_issued_in_the_future_is_refused(
    provider: OIDCProvider, issuer: Any, auth: Lucia, clock: FakeClock
) -> None:
    """An ``iat`` beyond the leeway in the future is refused."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce, iat=int(clock()) + 600, exp=int(clock()) + 900))
    await assert_refused(provider, auth, verifier, "'iat'")


async def test_o4_missing_exp_is_refused(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """A token without ``exp`` never expires: refused."""
    verifier, nonce = await start(provider)
    claims = issuer.claims(nonce)
    del claims["exp"]
    issuer.id_token = issuer.sign(claims)
    await assert_refused(provider, auth, verifier, "'exp'")


async def test_o4_wrong_nonce_is_refused(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """A token minted for another flow (another nonce) is refused."""
    verifier, _ = await start(provider)
    _, other_nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(other_nonce))
    await assert_refused(provider, auth, verifier, "nonce")


async def test_o4_missing_nonce_is_refused(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """A token without the nonce we sent is refused."""
    verifier, _ = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(None))
    await assert_refused(provider, auth, verifier, "nonce")


async def test_o4_explicit_wrong_nonce_argument_is_refused(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """A nonce passed to validate_callback must match the token's too."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce))
    with pytest.raises(LuciaOAuthError) as caught:
        await provider.validate_callback("local-code", code_verifier=verifier, nonce="another-nonce-value")
    assert caught.value.code == "OAUTH_INVALID_ID_TOKEN"


async def test_o4_jwks_without_the_kid_is_refused_after_one_refetch(
    provider: OIDCProvider, issuer: Any, auth: Lucia, clock: FakeClock
) -> None:
    """An unknown kid triggers one JWKS refetch (rotation); still unknown, the token is refused."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce))
    await provider.validate_callback("local-code", code_verifier=verifier)  # caches the JWKS
    assert issuer.count("/jwks") == 1
    clock.advance(60)
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce), kid="unknown-kid")
    await assert_refused(provider, auth, verifier, "no usable key")
    assert issuer.count("/jwks") == 2


async def test_o4_unknown_kid_does_not_refetch_more_than_the_interval_allows(
    provider: OIDCProvider, issuer: Any, auth: Lucia
) -> None:
    """Tokens with random kids cannot make us hammer the issuer's JWKS endpoint."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce))
    await provider.validate_callback("local-code", code_verifier=verifier)
    for kid in ("a", "b", "c"):
        verifier, nonce = await start(provider)
        issuer.id_token = issuer.sign(issuer.claims(nonce), kid=kid)
        await assert_refused(provider, auth, verifier, "no usable key")
    assert issuer.count("/jwks") == 1


async def test_o4_rotated_key_is_found_by_refetching(provider: OIDCProvider, issuer: Any, clock: FakeClock) -> None:
    """After the issuer rotates its key, a token with the new kid verifies (JWKS refetched)."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce))
    await provider.validate_callback("local-code", code_verifier=verifier)
    issuer.rotate(rsa.generate_private_key(65537, 2048), "key-2")
    clock.advance(30)
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce))
    session = await provider.validate_callback("local-code", code_verifier=verifier)
    assert session.provider_user_id == "local-user-1"
    assert issuer.count("/jwks") == 2


async def test_o4_key_of_the_wrong_type_for_the_algorithm_is_refused(
    provider: OIDCProvider, issuer: Any, auth: Lucia
) -> None:
    """An ES256 token whose kid names an RSA key is refused (keys are bound to algorithms)."""
    verifier, nonce = await start(provider)
    attacker = ec.generate_private_key(ec.SECP256R1())
    issuer.id_token = issuer.sign(issuer.claims(nonce), alg="ES256", key=attacker)
    await assert_refused(provider, auth, verifier, "no usable key")


async def test_es256_issuer_key_verifies(provider: OIDCProvider, issuer: Any) -> None:
    """An issuer signing ES256 with an EC P-256 key in its JWKS is accepted."""
    issuer.rotate(ec.generate_private_key(ec.SECP256R1()), "ec-1")
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce))
    session = await provider.validate_callback("local-code", code_verifier=verifier)
    assert session.provider_user_id == "local-user-1"


async def test_missing_id_token_is_refused(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """A token response without an id_token is no OpenID Connect sign-in."""
    verifier, _ = await start(provider)
    issuer.id_token = None
    await assert_refused(provider, auth, verifier, "no id_token")


async def test_userinfo_with_another_subject_is_refused(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """Userinfo must describe the id_token's subject (OIDC Core §5.3.2)."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce))
    issuer.userinfo = {"sub": "someone-else", "email": "x@example.test"}
    with pytest.raises(LuciaOAuthError) as caught:
        await provider.validate_callback("local-code", code_verifier=verifier)
    assert caught.value.code == "OAUTH_INVALID_RESPONSE"


async def test_discovery_naming_another_issuer_is_refused(auth: Lucia, issuer: Any) -> None:
    """A discovery document for another issuer is refused before any redirect."""
    provider = OIDCProvider(
        auth,
        issuer=issuer.base_url + "/tenant",
        client_id=CLIENT_ID,
        client_secret="s",
        redirect_uri="http://127.0.0.1:8000/callback",
    )
    with pytest.raises(LuciaOAuthError) as caught:
        await provider.get_authorization_url()
    assert caught.value.code in ("OAUTH_CONFIGURATION", "OAUTH_REQUEST_FAILED")


async def test_o6_discovery_failure_fails_closed(provider: OIDCProvider, issuer: Any) -> None:
    """A 500 from the discovery endpoint surfaces as LuciaOAuthRequestError."""
    issuer.discovery_status = 500
    with pytest.raises(LuciaOAuthRequestError) as caught:
        await provider.get_authorization_url()
    assert caught.value.status == 500


async def test_o6_token_endpoint_500_fails_closed(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """A 500 from the token endpoint: LuciaOAuthRequestError with status and body, nothing created."""
    verifier, _ = await start(provider)
    issuer.token_status = 500
    issuer.token_body = {"error": "server_error"}
    with pytest.raises(LuciaOAuthRequestError) as caught:
        await provider.validate_callback("local-code", code_verifier=verifier)
    assert caught.value.status == 500
    assert caught.value.body == {"error": "server_error"}
    with pytest.raises(LuciaError):
        await auth.get_key("oidc", "local-user-1")


async def test_o6_token_endpoint_invalid_json_fails_closed(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """A 200 that is not JSON: OAUTH_INVALID_RESPONSE, nothing created."""
    verifier, _ = await start(provider)
    issuer.token_raw = b"<html>not json</html>"
    with pytest.raises(LuciaOAuthError) as caught:
        await provider.validate_callback("local-code", code_verifier=verifier)
    assert caught.value.code == "OAUTH_INVALID_RESPONSE"
    with pytest.raises(LuciaError):
        await auth.get_key("oidc", "local-user-1")


async def test_refresh_verifies_a_new_id_token(provider: OIDCProvider, issuer: Any) -> None:
    """An id_token returned by a refresh is verified too (a forged one is refused)."""
    issuer.id_token = issuer.sign(issuer.claims(None), alg="none")
    with pytest.raises(LuciaOAuthError) as caught:
        await provider.refresh_access_token("local-refresh-token", subject="local-user-1")
    assert caught.value.code == "OAUTH_INVALID_ID_TOKEN"
    issuer.id_token = issuer.sign(issuer.claims(None))
    tokens = await provider.refresh_access_token("local-refresh-token", subject="local-user-1")
    assert tokens.access_token == "local-access-token"
    assert tokens.id_token == issuer.id_token


async def test_h12_refreshed_id_token_for_another_subject_is_refused(provider: OIDCProvider, issuer: Any) -> None:
    """A refresh answer whose valid id_token names another ``sub`` than the sign-in is refused."""
    issuer.id_token = issuer.sign(issuer.claims(None, sub="someone-else"))
    with pytest.raises(LuciaOAuthIdTokenError) as caught:
        await provider.refresh_access_token("local-refresh-token", subject="local-user-1")
    assert "'sub'" in caught.value.detail


async def test_h12_refreshed_id_token_cannot_be_accepted_without_the_subject(
    provider: OIDCProvider, issuer: Any
) -> None:
    """Without ``subject`` a refreshed id_token cannot be compared, so the answer is refused, not trusted."""
    issuer.id_token = issuer.sign(issuer.claims(None, sub="someone-else"))
    with pytest.raises(LuciaOAuthIdTokenError) as caught:
        await provider.refresh_access_token("local-refresh-token")
    assert "subject=" in caught.value.detail
    issuer.id_token = None  # a refresh answer without an id_token needs no subject
    assert (await provider.refresh_access_token("local-refresh-token")).access_token == "local-access-token"


async def test_h12_concurrent_refreshes_each_check_their_own_subject(provider: OIDCProvider, issuer: Any) -> None:
    """Callers sharing one refresh request each compare the id_token's ``sub`` with the subject they pass."""
    issuer.id_token = issuer.sign(issuer.claims(None))
    issuer.token_delay = 0.2
    outcomes: dict[str, str] = {}

    async def refresh(subject: str) -> None:
        try:
            await provider.refresh_access_token("shared-refresh-token", subject=subject)
            outcomes[subject] = "ok"
        except LuciaOAuthIdTokenError:
            outcomes[subject] = "refused"

    async with anyio.create_task_group() as group:
        group.start_soon(refresh, "local-user-1")
        group.start_soon(refresh, "another-user")
    assert outcomes == {"local-user-1": "ok", "another-user": "refused"}
    assert issuer.count("/token") == 1


async def test_hs_algorithms_cannot_be_allowed(auth: Lucia) -> None:
    """Configuring HS256 or none as an allowed algorithm is refused at construction."""
    for algorithms in (["HS256"], ["none"], []):
        with pytest.raises(LuciaOAuthError):
            OIDCProvider(
                auth,
                issuer="https://issuer.example",
                client_id="c",
                client_secret="s",
                redirect_uri="https://app.example/cb",
                algorithms=algorithms,
            )


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"nbf": 2_000_000_000}, "'nbf'"),
        ({"sub": None}, "'sub'"),
        ({"sub": ""}, "'sub'"),
        ({"aud": [CLIENT_ID, 7], "azp": CLIENT_ID}, "'aud'"),
        ({"aud": None}, "'aud'"),
        ({"iat": "yesterday"}, "'iat'"),
        ({"exp": True}, "'exp'"),
        ({"iss": None}, "'iss'"),
    ],
)
async def test_o4_claim_checks_name_what_failed(
    provider: OIDCProvider, issuer: Any, auth: Lucia, overrides: dict[str, Any], fragment: str
) -> None:
    """Each malformed or missing claim is refused with a message naming the claim."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce, **overrides))
    await assert_refused(provider, auth, verifier, fragment)


async def test_o4_jwks_that_is_not_a_key_set_fails_closed(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """A JWKS answer without a ``keys`` list is OAUTH_INVALID_RESPONSE, nothing created."""
    issuer.jwks_keys = "not-a-list"
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce))
    with pytest.raises(LuciaOAuthError) as caught:
        await provider.validate_callback("local-code", code_verifier=verifier)
    assert caught.value.code == "OAUTH_INVALID_RESPONSE"
    with pytest.raises(LuciaError):
        await auth.get_key("oidc", "local-user-1")


async def test_o4_token_without_kid_uses_the_only_fitting_key(provider: OIDCProvider, issuer: Any, auth: Lucia) -> None:
    """A token without ``kid`` verifies only when exactly one key of its type is published."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce), with_kid=False)
    session = await provider.validate_callback("local-code", code_verifier=verifier)
    assert session.provider_user_id == "local-user-1"

    issuer.jwks_keys = [issuer.public_jwk(), {**issuer.public_jwk(), "kid": "twin"}]
    provider = OIDCProvider(
        auth, issuer=issuer.base_url, client_id=CLIENT_ID, client_secret="s", redirect_uri="http://127.0.0.1:8000/cb"
    )
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce), with_kid=False)
    with pytest.raises(LuciaOAuthError) as caught:
        await provider.validate_callback("local-code", code_verifier=verifier)
    assert "no usable key" in caught.value.detail


async def test_o2_discovery_without_s256_turns_pkce_off_even_on_a_fresh_instance(
    auth: Lucia, issuer: Any, clock: FakeClock
) -> None:
    """An issuer that does not list S256 gets no challenge (never ``plain``); a new instance agrees at callback."""
    issuer.code_challenge_methods = ["plain"]
    options: dict[str, Any] = {
        "issuer": issuer.base_url,
        "client_id": CLIENT_ID,
        "client_secret": "s",
        "redirect_uri": "http://127.0.0.1:8000/callback",
        "clock": clock,
    }
    authorization = await OIDCProvider(auth, **options).get_authorization_url()
    assert authorization.code_verifier is None
    assert "code_challenge" not in authorization.url
    assert authorization.nonce is not None
    issuer.id_token = issuer.sign(issuer.claims(authorization.nonce))
    fresh = OIDCProvider(auth, **options)
    session = await fresh.validate_callback("local-code", nonce=authorization.nonce)
    assert session.provider_user_id == "local-user-1"
    token_request = next(r for r in issuer.requests if r["path"] == "/token")
    assert token_request["form"]["grant_type"] == "authorization_code"
    assert "code_verifier" not in token_request["form"]


# -- H6: the id_token's base64url is strict ------------------------------------------------------


# Lenient base64 skipped characters outside its alphabet: four of them keep the padding
# arithmetic intact, so the old decoder read the very same signature bytes.
@pytest.mark.parametrize("junk", ["!!!!", "%%%%", "*!*!", "~~~~~~~~", "!", "A"])
async def test_h6_id_token_with_junk_after_its_signature_is_refused(
    provider: OIDCProvider, issuer: Any, auth: Lucia, junk: str
) -> None:
    """A correctly signed id_token with characters appended to its signature is refused, nothing created."""
    verifier, nonce = await start(provider)
    issuer.id_token = issuer.sign(issuer.claims(nonce)) + junk
    await assert_refused(provider, auth, verifier, "signature")


async def test_h6_id_token_with_a_non_canonical_signature_spelling_is_refused(
    provider: OIDCProvider, issuer: Any, auth: Lucia
) -> None:
    """The same signature bytes with other unused trailing bits in the last character do not verify."""
    verifier, nonce = await start(provider)
    token = issuer.sign(issuer.claims(nonce))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # 256 signature bytes leave the 4 low bits of the last character unused: flip one.
    issuer.id_token = token[:-1] + alphabet[alphabet.index(token[-1]) ^ 1]
    await assert_refused(provider, auth, verifier, "signature")


# -- H10: https endpoints only, discovered ones too ----------------------------------------------


@pytest.mark.parametrize("endpoint", ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"])
async def test_h10_discovered_http_endpoint_is_refused_before_any_request(
    auth: Lucia, issuer: Any, clock: FakeClock, endpoint: str
) -> None:
    """A discovery document naming a plain-http endpoint off loopback fails at discovery: nothing is sent to it."""
    issuer.discovery_overrides = {endpoint: "http://idp.example/" + endpoint}
    provider = make_provider(auth, issuer, clock)
    with pytest.raises(LuciaOAuthInsecureEndpointError) as caught:
        await provider.get_authorization_url()
    assert caught.value.code == "OAUTH_CONFIGURATION"
    assert caught.value.endpoint == endpoint
    with pytest.raises(LuciaOAuthInsecureEndpointError):
        await provider.validate_callback("local-code", code_verifier="v" * 64)
    assert [r["path"] for r in issuer.requests] == ["/.well-known/openid-configuration"] * 2


async def test_h10_discovered_https_and_loopback_endpoints_are_used(auth: Lucia, issuer: Any) -> None:
    """An https endpoint (not contacted here) and a loopback http endpoint from discovery are accepted."""
    issuer.discovery_overrides = {"userinfo_endpoint": "https://idp.example/userinfo"}
    provider = OIDCProvider(
        auth, issuer=issuer.base_url, client_id=CLIENT_ID, client_secret="s", redirect_uri="https://app.example/cb"
    )
    authorization = await provider.get_authorization_url()
    assert authorization.url.startswith(issuer.base_url + "/authorize?")
    assert provider.userinfo_endpoint == "https://idp.example/userinfo"


@pytest.mark.parametrize(
    ("option", "url"),
    [
        ("issuer", "http://idp.example"),
        ("issuer", "ftp://idp.example"),
        ("issuer", "http://127.0.0.1.idp.example"),
        ("issuer", "http://localhost.idp.example"),
        ("issuer", "http://app.localhost"),
        ("issuer", "http://localhost./"),
        ("jwks_uri", "http://idp.example/jwks"),
        ("token_endpoint", "http://10.0.0.1/token"),
        ("authorization_endpoint", "http://[::2]/authorize"),
        ("userinfo_endpoint", "https://user:pass@idp.example/userinfo"),
        ("token_endpoint", "//idp.example/token"),
    ],
)
async def test_h10_oidc_provider_refuses_insecure_endpoints_at_construction(auth: Lucia, option: str, url: str) -> None:
    """Issuer, JWKS and endpoints must be https (http only on loopback hosts): refused before any request."""
    options: dict[str, Any] = {"issuer": "https://idp.example", option: url}
    with pytest.raises(LuciaOAuthInsecureEndpointError) as caught:
        OIDCProvider(auth, client_id="c", client_secret="s", redirect_uri="https://app.example/cb", **options)
    assert caught.value.endpoint == option
    assert caught.value.code == "OAUTH_CONFIGURATION"


@pytest.mark.parametrize(
    "url", ["http://localhost:8080", "http://LOCALHOST", "http://127.0.0.1:9", "http://127.8.9.10", "http://[::1]:4000"]
)
async def test_h10_loopback_issuers_may_use_http(auth: Lucia, url: str) -> None:
    """Development and tests on localhost, 127.0.0.0/8 or [::1] may use plain http."""
    provider = OIDCProvider(auth, issuer=url, client_id="c", client_secret="s", redirect_uri="http://127.0.0.1/cb")
    assert provider.issuer == url
