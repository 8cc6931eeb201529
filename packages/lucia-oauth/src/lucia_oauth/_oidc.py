"""The generic OpenID Connect provider: discovery, JWKS, id_token verification, userinfo."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import anyio
from joserfc.jwk import KeySet

from lucia_oauth._errors import (
    LuciaOAuthCallbackError,
    LuciaOAuthConfigurationError,
    LuciaOAuthIdTokenError,
    LuciaOAuthResponseError,
)
from lucia_oauth._jose import DEFAULT_ALGORITHMS, SUPPORTED_ALGORITHMS, import_jwks, parse_jws, select_key, verify_jws
from lucia_oauth._options import IdTokenOptions, OIDCOptions, check_endpoint, configured_by
from lucia_oauth._provider import _ENDPOINTS, OAuth2Provider, optional_str
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
    digest = hashlib.sha256(b"lucia-oauth nonce:" + code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _invalid(detail: str) -> LuciaOAuthIdTokenError:
    return LuciaOAuthIdTokenError(None, detail)


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

    ``OIDCProvider(auth, issuer=..., client_id=..., client_secret=..., redirect_uri=..., ...)``:
    the keyword options are the fields of :class:`~lucia_oauth.OIDCOptions`.

    Endpoints come from ``<issuer>/.well-known/openid-configuration`` unless all of
    ``authorization_endpoint``, ``token_endpoint`` and ``jwks_uri`` are given; every
    endpoint, configured or discovered, must be ``https`` (``http`` only on loopback hosts),
    and a discovered one is checked before anything is sent to it. The id_token is verified
    (by joserfc) before anything else is read: signature with the issuer's JWKS (fetched
    once, refetched when an unknown ``kid`` appears, at most every ``jwks_refetch_interval``
    seconds), algorithm allowlist (never ``none`` nor ``HS*``), ``iss`` exact, ``aud``
    contains the client id, ``azp`` when present, ``exp``/``iat``/``nbf`` with ``leeway``,
    and ``nonce``. Then the userinfo endpoint is read (its ``sub`` must match). A refreshed
    id_token is verified the same way and must name the original ``sub``.

    ``provider_user`` holds the verified id_token claims updated with the userinfo answer;
    ``provider_user_id`` is ``sub``.

    Args:
        auth: The :class:`~lucia.Lucia` instance.
        options: Built from the keyword arguments; ``scope`` defaults to
            ``["openid", "profile", "email"]`` and ``"openid"`` is always sent.

    Raises:
        LuciaOAuthConfigurationError: Without an issuer, with an algorithm outside the
            allowlist; :class:`~lucia_oauth.LuciaOAuthInsecureEndpointError` for an endpoint
            that is not ``https``.
    """

    provider_id = "oidc"
    issuer: str | None = None
    jwks_uri: str | None = None
    default_scopes: ClassVar[tuple[str, ...]] = ("openid", "profile", "email")
    id_token_algorithms: ClassVar[tuple[str, ...]] = DEFAULT_ALGORITHMS
    #: Whether discovery decides PKCE (``code_challenge_methods_supported``) when ``pkce`` is not given.
    pkce_from_discovery: ClassVar[bool] = True
    #: Whether to read the userinfo endpoint when the ``userinfo`` option is not given
    #: (``None``: when the provider has one).
    use_userinfo: ClassVar[bool | None] = None

    @configured_by(OIDCOptions)
    def __init__(self, auth: Lucia, options: OIDCOptions) -> None:
        if options.jwks_uri is not None:
            self.jwks_uri = options.jwks_uri
        self._configure_oidc(auth, options, issuer=options.issuer, userinfo=options.userinfo)

    def _configure_oidc(
        self, auth: Lucia, options: IdTokenOptions, *, issuer: str | None, userinfo: bool | None = None
    ) -> None:
        """What every OpenID Connect provider's ``__init__`` ends with: ``issuer`` is its computed issuer."""
        if issuer is not None:
            self.issuer = issuer
        if not isinstance(self.issuer, str) or not self.issuer:
            raise LuciaOAuthConfigurationError(None, "an OpenID Connect provider needs an issuer")
        allowed = tuple(self.id_token_algorithms if options.algorithms is None else options.algorithms)
        refused = [a for a in allowed if a not in SUPPORTED_ALGORITHMS]
        if refused or not allowed:
            raise LuciaOAuthConfigurationError(None, f"id_token algorithms not allowed: {refused or 'none given'}")
        self.algorithms = allowed
        self.leeway = options.leeway
        self.jwks_refetch_interval = options.jwks_refetch_interval
        self._userinfo = userinfo if userinfo is not None else self.use_userinfo
        self._pkce_configured = options.pkce is not None or not self.pkce_from_discovery
        self._configure(auth, options)
        if "openid" not in self.scope:
            self.scope = ("openid", *self.scope)
        self._discovered = all(isinstance(getattr(self, e), str) for e in (*_ENDPOINTS[:2], "jwks_uri"))
        self._discovery: Mapping[str, Any] | None = None
        self._jwks: KeySet | None = None
        self._jwks_fetched_at: float | None = None
        self._locks: dict[str, anyio.Lock] = {}

    def check_endpoints(self) -> None:
        """The OAuth 2.0 endpoints, the issuer (where discovery is read) and ``jwks_uri`` (H10)."""
        super().check_endpoints()
        for name in ("issuer", "jwks_uri"):
            value = getattr(self, name)
            if value is not None:
                check_endpoint(value, name)

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
            LuciaOAuthError: ``OAUTH_CONFIGURATION`` if the document names another issuer or lacks an
                endpoint; :class:`~lucia_oauth.LuciaOAuthInsecureEndpointError` if it names an
                endpoint that is not ``https`` (nothing is sent to it).
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
                raise LuciaOAuthResponseError(None, "the discovery document is not a JSON object")
            issuer = document.get("issuer")
            if not isinstance(issuer, str) or not self.is_valid_issuer(issuer):
                raise LuciaOAuthConfigurationError(None, "the discovery document names another issuer")
            learned = {
                name: optional_str(document, name) for name in (*_ENDPOINTS, "jwks_uri") if getattr(self, name) is None
            }
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if getattr(self, name) is None and learned.get(name) is None:
                    raise LuciaOAuthConfigurationError(None, f"the discovery document has no {name}")
            for name, value in learned.items():  # all checked before any is used (H10)
                if value is not None:
                    check_endpoint(value, name)
            for name, value in learned.items():
                setattr(self, name, value)
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
            raise LuciaOAuthConfigurationError(None, "no jwks_uri")
        self._jwks = import_jwks(await self.fetch_json(self.jwks_uri))
        self._jwks_fetched_at = self.clock()

    async def verify_id_token(self, id_token: str, *, nonce: str | None) -> dict[str, Any]:
        """Verify an id_token and return its claims.

        joserfc parses the token (strict base64url), picks the issuer's key by ``kid`` and
        checks the signature, the algorithm against :attr:`algorithms` and the key's type
        and curve; then the claims are checked here.

        Args:
            id_token: The compact JWS.
            nonce: The expected nonce; ``None`` only for an id_token from a refresh.

        Raises:
            LuciaOAuthError: ``OAUTH_INVALID_ID_TOKEN`` for any failed check.
        """
        jws = parse_jws(id_token)
        alg = jws.headers()["alg"]
        if alg not in self.algorithms:
            raise _invalid(f"the id_token algorithm {alg!r} is not allowed")
        async with self._get_lock("jwks"):
            if self._jwks is None:
                await self._fetch_jwks()
            key = select_key(self._jwks or KeySet([]), jws)
            fetched_at = self._jwks_fetched_at or 0.0
            if key is None and self.clock() - fetched_at >= self.jwks_refetch_interval:
                # The issuer may have rotated its keys since we cached them.
                await self._fetch_jwks()
                key = select_key(self._jwks or KeySet([]), jws)
        if key is None:
            raise _invalid(f"the issuer's JWKS has no usable key for kid {jws.headers().get('kid')!r}")
        claims = verify_jws(jws, key, algorithms=self.algorithms)
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
            raise LuciaOAuthCallbackError(None, "the nonce is missing (is the cookie gone?)")
        return await self.verify_id_token(tokens.id_token, nonce=expected)

    async def verify_refreshed_tokens(self, tokens: OAuth2Tokens) -> Mapping[str, Any] | None:
        """A refresh may return a new id_token: verify it too (without a nonce); return its claims."""
        if tokens.id_token is None:
            return None
        return await self.verify_id_token(tokens.id_token, nonce=None)

    def check_refreshed_subject(self, claims: Mapping[str, Any] | None, subject: str | None) -> None:
        """A refreshed id_token must name the subject of the sign-in (OpenID Connect Core §12.2, H12).

        Raises:
            LuciaOAuthIdTokenError: If it names another ``sub``, or ``subject`` was not given.
        """
        if claims is None:
            return
        if subject is None:
            raise _invalid("the refresh answer has an id_token: pass subject= to compare its 'sub'")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not hmac.compare_digest(sub.encode(), subject.encode()):
            raise _invalid("the refreshed id_token names another subject ('sub')")

    async def get_provider_user(self, tokens: OAuth2Tokens, *, claims: Mapping[str, Any] | None) -> ProviderUser:
        """The verified claims, updated with the userinfo answer when there is an endpoint."""
        if claims is None:
            raise _invalid("no verified id_token claims")
        data: dict[str, Any] = dict(claims)
        await self.discover()
        wants_userinfo = self._userinfo if self._userinfo is not None else self.userinfo_endpoint is not None
        if wants_userinfo:
            if self.userinfo_endpoint is None:
                raise LuciaOAuthConfigurationError(None, "the provider has no userinfo_endpoint")
            info = await self.fetch_json(self.userinfo_endpoint, access_token=tokens.access_token)
            if not isinstance(info, Mapping) or info.get("sub") != claims["sub"]:
                raise LuciaOAuthResponseError(None, "the userinfo 'sub' differs from the id_token's")
            data.update(info)
        verified = data.get("email_verified")
        return ProviderUser(
            provider_user_id=str(claims["sub"]),
            data=data,
            email=optional_str(data, "email"),
            email_verified=verified is True or verified == "true",
        )
