"""The generic OpenID Connect provider: discovery, JWKS, id_token verification, userinfo."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import anyio
import httpx

from lucia_oauth._errors import LuciaOAuthError
from lucia_oauth._jose import (
    DEFAULT_ALGORITHMS,
    SUPPORTED_ALGORITHMS,
    b64url_encode,
    key_matches_algorithm,
    parse_jws,
    verify_jws,
)
from lucia_oauth._provider import OAuth2Provider, TokenEndpointAuthMethod, optional_str
from lucia_oauth._session import OAuth2Tokens, ProviderUser

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = [
    "OIDCProvider",
    "check_id_token_claims",
    "derive_nonce",
]

#: Clock skew tolerated on ``exp``, ``iat`` and ``nbf``, in seconds.
DEFAULT_LEEWAY = 60.0


def derive_nonce(code_verifier: str) -> str:
    """The nonce sent with a PKCE verifier: ``BASE64URL(SHA256("lucia-oauth nonce:" + verifier))``.

    Deriving it means the verifier cookie alone binds the id_token to the browser that
    started the flow; the nonce is as unguessable as the verifier and reveals nothing of it.
    """
    return b64url_encode(hashlib.sha256(b"lucia-oauth nonce:" + code_verifier.encode("ascii")).digest())


def _invalid(detail: str) -> LuciaOAuthError:
    return LuciaOAuthError("OAUTH_INVALID_ID_TOKEN", detail)


def _number(claims: Mapping[str, Any], name: str, *, required: bool) -> float | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _invalid(f"the id_token has no numeric {name!r}")
    return float(value)


def check_id_token_claims(
    claims: Mapping[str, Any],
    *,
    issuer_ok: Callable[[str], bool],
    client_id: str,
    nonce: str | None,
    now: float,
    leeway: float = DEFAULT_LEEWAY,
) -> None:
    """Check the claims of a signature-verified id_token (OpenID Connect Core §3.1.3.7).

    Args:
        claims: The id_token payload.
        issuer_ok: Whether an ``iss`` value is the expected issuer (exact comparison by default).
        client_id: Our client id: ``aud`` must contain it, ``azp`` (when present) must equal it.
        nonce: The nonce sent in the authorization request; ``None`` skips the check (refresh only).
        now: Seconds since the epoch.
        leeway: Tolerated clock skew in seconds.

    Raises:
        LuciaOAuthError: ``OAUTH_INVALID_ID_TOKEN`` naming the first claim that fails.
    """
    iss = claims.get("iss")
    if not isinstance(iss, str) or not issuer_ok(iss):
        raise _invalid("the id_token issuer ('iss') is not the expected issuer")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else None
    if not audiences or not all(isinstance(a, str) for a in audiences) or client_id not in audiences:
        raise _invalid("the id_token audience ('aud') does not contain our client id")
    azp = claims.get("azp")
    if azp is not None and azp != client_id:
        raise _invalid("the id_token authorized party ('azp') is not our client id")
    if len(audiences) > 1 and azp is None:
        raise _invalid("the id_token has several audiences and no authorized party ('azp')")
    exp = _number(claims, "exp", required=True)
    assert exp is not None
    if exp <= now - leeway:
        raise _invalid("the id_token has expired ('exp')")
    iat = _number(claims, "iat", required=True)
    assert iat is not None
    if iat > now + leeway:
        raise _invalid("the id_token was issued in the future ('iat')")
    nbf = _number(claims, "nbf", required=False)
    if nbf is not None and nbf > now + leeway:
        raise _invalid("the id_token is not valid yet ('nbf')")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise _invalid("the id_token has no usable subject ('sub')")
    if nonce is not None:
        received = claims.get("nonce")
        if not isinstance(received, str) or not hmac.compare_digest(received.encode(), nonce.encode()):
            raise _invalid("the id_token nonce does not match the one sent")


class OIDCProvider(OAuth2Provider):
    """A generic OpenID Connect provider (authorization-code flow with PKCE S256 and a nonce).

    Endpoints come from ``<issuer>/.well-known/openid-configuration`` unless all of
    ``authorization_endpoint``, ``token_endpoint`` and ``jwks_uri`` are given. The
    id_token is verified before anything else is read: signature with the issuer's JWKS
    (fetched once, refetched when an unknown ``kid`` appears, at most every
    ``jwks_refetch_interval`` seconds), algorithm allowlist (never ``none`` nor ``HS*``),
    ``iss`` exact, ``aud`` contains the client id, ``azp`` when present, ``exp``/``iat``/``nbf``
    with ``leeway``, and ``nonce``. Then the userinfo endpoint is read (its ``sub`` must match).

    ``provider_user`` holds the verified id_token claims updated with the userinfo answer;
    ``provider_user_id`` is ``sub``.

    Args:
        auth: The :class:`~lucia.Lucia` instance.
        issuer: The issuer identifier, exactly as the provider writes it in ``iss``.
        client_id: The client id.
        client_secret: The client secret (``None`` with ``token_endpoint_auth_method="none"``).
        redirect_uri: The callback URL, exactly as registered.
        scope: Default ``["openid", "profile", "email"]``; ``"openid"`` is always sent.
        provider_id: The provider id in Lucia keys (default ``"oidc"``).
        algorithms: The id_token algorithm allowlist (default RS*, PS*, ES256, ES384, EdDSA).
        leeway: Clock skew tolerated on ``exp``/``iat``/``nbf`` in seconds.
        jwks_refetch_interval: Minimum seconds between two JWKS fetches caused by unknown keys.
        userinfo: Whether to read the userinfo endpoint (default: when the provider has one).
        authorization_endpoint: Overrides discovery.
        token_endpoint: Overrides discovery.
        userinfo_endpoint: Overrides discovery.
        jwks_uri: Overrides discovery.
        pkce: Overrides discovery (``code_challenge_methods_supported``); default on.
        token_endpoint_auth_method: Default ``"client_secret_basic"``.
        authorization_params: Extra fixed parameters of the authorization request.
        timeout: Seconds for each back-channel request.
        http_client: An ``httpx.AsyncClient`` to reuse (redirects are still never followed).
        clock: Seconds since the epoch, injectable for tests.
    """

    provider_id = "oidc"
    issuer: str | None = None
    jwks_uri: str | None = None
    default_scopes: ClassVar[tuple[str, ...]] = ("openid", "profile", "email")
    id_token_algorithms: ClassVar[tuple[str, ...]] = DEFAULT_ALGORITHMS

    def __init__(
        self,
        auth: Lucia,
        *,
        issuer: str | None = None,
        client_id: str,
        client_secret: str | None = None,
        redirect_uri: str,
        scope: Sequence[str] | None = None,
        provider_id: str | None = None,
        algorithms: Sequence[str] | None = None,
        leeway: float = DEFAULT_LEEWAY,
        jwks_refetch_interval: float = 10.0,
        userinfo: bool | None = None,
        authorization_endpoint: str | None = None,
        token_endpoint: str | None = None,
        userinfo_endpoint: str | None = None,
        jwks_uri: str | None = None,
        pkce: bool | None = None,
        token_endpoint_auth_method: TokenEndpointAuthMethod | None = None,
        authorization_params: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            auth,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            scope=scope,
            provider_id=provider_id,
            authorization_endpoint=authorization_endpoint,
            token_endpoint=token_endpoint,
            userinfo_endpoint=userinfo_endpoint,
            pkce=pkce,
            token_endpoint_auth_method=token_endpoint_auth_method,
            authorization_params=authorization_params,
            timeout=timeout,
            http_client=http_client,
            clock=clock,
        )
        if issuer is not None:
            self.issuer = issuer
        if not isinstance(self.issuer, str) or not self.issuer:
            raise LuciaOAuthError("OAUTH_CONFIGURATION", "an OpenID Connect provider needs an issuer")
        if "openid" not in self.scope:
            self.scope = ("openid", *self.scope)
        if jwks_uri is not None:
            self.jwks_uri = jwks_uri
        allowed = tuple(self.id_token_algorithms if algorithms is None else algorithms)
        refused = [a for a in allowed if a not in SUPPORTED_ALGORITHMS]
        if refused or not allowed:
            raise LuciaOAuthError("OAUTH_CONFIGURATION", f"id_token algorithms not allowed: {refused or 'none given'}")
        self.algorithms = allowed
        self.leeway = leeway
        self.jwks_refetch_interval = jwks_refetch_interval
        self._userinfo = userinfo
        self._pkce_configured = pkce is not None
        self._discovered = all(
            isinstance(e, str) for e in (self.authorization_endpoint, self.token_endpoint, self.jwks_uri)
        )
        self._discovery: Mapping[str, Any] | None = None
        self._jwks: list[Mapping[str, Any]] | None = None
        self._jwks_fetched_at: float | None = None
        self._locks: dict[str, anyio.Lock] = {}

    # -- hooks ------------------------------------------------------------------------------

    def is_valid_issuer(self, iss: str) -> bool:
        """Whether ``iss`` (of the discovery document or an id_token) is our issuer: exact equality."""
        return iss == self.issuer

    # -- discovery and keys -----------------------------------------------------------------

    def _get_lock(self, name: str) -> anyio.Lock:
        # Created on first use: an anyio lock belongs to the running event loop.
        lock = self._locks.get(name)
        if lock is None:
            lock = self._locks[name] = anyio.Lock()
        return lock

    def _has_discovered(self) -> bool:
        return self._discovered

    async def discover(self) -> Mapping[str, Any]:
        """Fetch (once) the discovery document and take the endpoints it names.

        Returns:
            The discovery document (an empty mapping when every endpoint was configured).

        Raises:
            LuciaOAuthError: ``OAUTH_CONFIGURATION`` if the document names another issuer or lacks an endpoint.
        """
        if self._discovered:
            return self._discovery or {}
        async with self._get_lock("discovery"):
            if self._has_discovered():  # another task did it while we waited
                return self._discovery or {}
            assert self.issuer is not None
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            document = await self.fetch_json(url)
            if not isinstance(document, Mapping):
                raise LuciaOAuthError("OAUTH_INVALID_RESPONSE", "the discovery document is not a JSON object")
            issuer = document.get("issuer")
            if not isinstance(issuer, str) or not self.is_valid_issuer(issuer):
                raise LuciaOAuthError("OAUTH_CONFIGURATION", "the discovery document names another issuer")
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
                if getattr(self, name) is None:
                    setattr(self, name, optional_str(document, name))
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if getattr(self, name) is None:
                    raise LuciaOAuthError("OAUTH_CONFIGURATION", f"the discovery document has no {name}")
            methods = document.get("code_challenge_methods_supported")
            if not self._pkce_configured and isinstance(methods, list):
                self.pkce = "S256" in methods
            self._discovery = document
            self._discovered = True
            return document

    async def _endpoint(self, name: Literal["authorization_endpoint", "token_endpoint", "userinfo_endpoint"]) -> str:
        await self.discover()
        return await super()._endpoint(name)

    async def _fetch_jwks(self) -> None:
        await self.discover()
        if self.jwks_uri is None:  # pragma: no cover - discover() guarantees it
            raise LuciaOAuthError("OAUTH_CONFIGURATION", "no jwks_uri")
        document = await self.fetch_json(self.jwks_uri)
        keys = document.get("keys") if isinstance(document, Mapping) else None
        if not isinstance(keys, list):
            raise LuciaOAuthError("OAUTH_INVALID_RESPONSE", "the JWKS is not a JSON object with 'keys'")
        self._jwks = [k for k in keys if isinstance(k, Mapping)]
        self._jwks_fetched_at = self.clock()

    def _find_key(self, kid: object, alg: str) -> Mapping[str, Any] | None:
        usable = [k for k in self._jwks or () if key_matches_algorithm(k, alg)]
        # Without a kid the choice is only unambiguous when exactly one key fits the algorithm.
        matches = [k for k in usable if k.get("kid") == kid] if isinstance(kid, str) else usable
        return matches[0] if len(matches) == 1 else None

    async def _signing_key(self, header: Mapping[str, Any]) -> Mapping[str, Any]:
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise _invalid(f"the id_token algorithm {alg!r} is not allowed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise _invalid("the id_token 'kid' is not a string")
        async with self._get_lock("jwks"):
            if self._jwks is None:
                await self._fetch_jwks()
            key = self._find_key(kid, alg)
            fetched_at = self._jwks_fetched_at or 0.0
            if key is None and self.clock() - fetched_at >= self.jwks_refetch_interval:
                # The issuer may have rotated its keys since we cached them.
                await self._fetch_jwks()
                key = self._find_key(kid, alg)
        if key is None:
            raise _invalid(f"the issuer's JWKS has no usable key for kid {kid!r}")
        return key

    async def verify_id_token(self, id_token: str, *, nonce: str | None) -> dict[str, Any]:
        """Verify an id_token and return its claims.

        Args:
            id_token: The compact JWS.
            nonce: The expected nonce; ``None`` only for an id_token from a refresh.

        Raises:
            LuciaOAuthError: ``OAUTH_INVALID_ID_TOKEN`` for any failed check.
        """
        jws = parse_jws(id_token)
        key = await self._signing_key(jws.header)
        verify_jws(jws, key, algorithms=self.algorithms)
        claims = jws.claims()
        check_id_token_claims(
            claims,
            issuer_ok=self.is_valid_issuer,
            client_id=self.client_id,
            nonce=nonce,
            now=self.clock(),
            leeway=self.leeway,
        )
        return claims

    # -- the flow ---------------------------------------------------------------------------

    def _nonce_for(self, code_verifier: str | None) -> str | None:
        return derive_nonce(code_verifier) if code_verifier is not None else secrets.token_urlsafe(32)

    async def verify_token_response(
        self, tokens: OAuth2Tokens, *, nonce: str | None, code_verifier: str | None
    ) -> Mapping[str, Any] | None:
        """Verify the id_token of the token response against the flow's nonce."""
        if tokens.id_token is None:
            raise _invalid("the token response has no id_token")
        expected = nonce or (derive_nonce(code_verifier) if code_verifier else None)
        if expected is None:
            raise LuciaOAuthError("OAUTH_INVALID_CALLBACK", "the nonce is missing (is the cookie gone?)")
        return await self.verify_id_token(tokens.id_token, nonce=expected)

    async def verify_refreshed_tokens(self, tokens: OAuth2Tokens) -> None:
        """A refresh may return a new id_token: verify it too (without a nonce)."""
        if tokens.id_token is not None:
            await self.verify_id_token(tokens.id_token, nonce=None)

    async def get_provider_user(self, tokens: OAuth2Tokens, *, claims: Mapping[str, Any] | None) -> ProviderUser:
        """The verified claims, updated with the userinfo answer when there is an endpoint."""
        if claims is None:
            raise _invalid("no verified id_token claims")
        data: dict[str, Any] = dict(claims)
        await self.discover()
        wants_userinfo = self._userinfo if self._userinfo is not None else self.userinfo_endpoint is not None
        if wants_userinfo:
            if self.userinfo_endpoint is None:
                raise LuciaOAuthError("OAUTH_CONFIGURATION", "the provider has no userinfo_endpoint")
            info = await self.fetch_json(self.userinfo_endpoint, access_token=tokens.access_token)
            if not isinstance(info, Mapping) or info.get("sub") != claims["sub"]:
                raise LuciaOAuthError("OAUTH_INVALID_RESPONSE", "the userinfo 'sub' differs from the id_token's")
            data.update(info)
        verified = data.get("email_verified")
        return ProviderUser(
            provider_user_id=str(claims["sub"]),
            data=data,
            email=optional_str(data, "email"),
            email_verified=verified is True or verified == "true",
        )
