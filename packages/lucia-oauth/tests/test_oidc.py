"""OIDCProvider against a local issuer we control: every forged or broken id_token is refused (O4)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from lucia import Lucia, LuciaError
from lucia.testing import FakeClock
from lucia_oauth import LuciaOAuthError, LuciaOAuthRequestError, OIDCProvider, derive_nonce

pytestmark = pytest.mark.anyio

CLIENT_ID = "lucia-test-client"


@pytest.fixture
def provider(auth: Lucia, issuer: Any, clock: FakeClock) -> OIDCProvider:
    return OIDCProvider(
        auth,
        issuer=issuer.base_url,
        client_id=CLIENT_ID,
        client_secret="local-secret",
        redirect_uri="http://127.0.0.1:8000/callback",
        clock=clock,
    )


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
        await provider.refresh_access_token("local-refresh-token")
    assert caught.value.code == "OAUTH_INVALID_ID_TOKEN"
    issuer.id_token = issuer.sign(issuer.claims(None))
    tokens = await provider.refresh_access_token("local-refresh-token")
    assert tokens.access_token == "local-access-token"


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
