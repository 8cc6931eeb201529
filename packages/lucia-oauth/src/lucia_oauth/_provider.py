"""The generic OAuth 2.0 provider: authorization URL, code exchange, refresh, user lookup.

How to write a named provider
=============================

Subclass :class:`OAuth2Provider` (or :class:`~lucia_oauth.OIDCProvider` for an OpenID
Connect issuer), state the provider's facts as class attributes, and implement one hook::

    class Example(OAuth2Provider):
        \"\"\"Example (https://example.com/docs/oauth).\"\"\"

        provider_id = "example"                     # the provider id in Lucia keys
        authorization_endpoint = "https://example.com/oauth/authorize"
        token_endpoint = "https://example.com/oauth/token"
        userinfo_endpoint = "https://api.example.com/me"
        default_scopes = ("read:user",)             # used when the app passes no scope
        scope_separator = " "                       # a few providers want "," or "+"
        supports_pkce = True                        # S256 only; False if the provider has no PKCE
        token_endpoint_auth_method = "client_secret_post"  # or "client_secret_basic" (default), "none"
        supports_refresh = True                     # False: refresh_access_token refuses locally

        async def get_provider_user(self, tokens, *, claims):
            data = await self.fetch_json(self.userinfo_endpoint, access_token=tokens.access_token)
            return ProviderUser(provider_user_id=str(data["id"]), data=data,
                                email=data.get("email"), email_verified=data.get("verified") is True)

Other extension points, all optional:

- ``__init__``: add keyword-only options (a tenant, a self-hosted base URL) and pass the
  computed endpoints to ``super().__init__(auth, authorization_endpoint=..., ...)``.
- :meth:`~OAuth2Provider.extra_authorization_params`: fixed parameters of the authorization
  request (``{"access_type": "offline"}``); they can never replace ``state``, PKCE or ``nonce``.
- :meth:`~OAuth2Provider.client_secret_value`: compute the client secret per request
  (Apple's is an ES256 JWT: use :func:`lucia_oauth.sign_jwt`).
- :meth:`~OAuth2Provider.parse_token_response`: a provider whose token answer is not standard.
- ``request_headers``: headers for every back-channel request (Reddit wants a User-Agent).

Helpers for hooks: :meth:`~OAuth2Provider.fetch_json` (any back-channel call: no redirects,
timeouts, ``LuciaOAuthRequestError`` on non-2xx, ``OAUTH_INVALID_RESPONSE`` on bad JSON) and
:func:`require_str` / :func:`optional_str` to read provider JSON defensively.
The provider user id must be the provider's immutable subject, never an email (O5).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import secrets
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import quote, urlencode, urlsplit

import anyio
import httpx

from lucia_oauth._errors import LuciaOAuthError, LuciaOAuthRequestError
from lucia_oauth._session import OAuth2Tokens, ProviderSession, ProviderUser, find_existing_user
from lucia_oauth._version import __version__

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = [
    "AuthorizationURL",
    "OAuth2Provider",
    "TokenEndpointAuthMethod",
    "generate_code_verifier",
    "generate_state",
    "optional_str",
    "pkce_challenge",
    "require_str",
]

logger = logging.getLogger("lucia_oauth")

TokenEndpointAuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]

_MAX_CODE_LENGTH = 4096
_MAX_BODY_IN_ERROR = 4096
#: Parameters of the authorization request that only the library sets.
_RESERVED_PARAMS = frozenset(
    {"response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method", "nonce"}
)


def generate_state() -> str:
    """A fresh ``state``: 256 bits from :mod:`secrets`, base64url (43 characters)."""
    return secrets.token_urlsafe(32)


def generate_code_verifier() -> str:
    """A fresh PKCE code verifier (RFC 7636 §4.1): 384 bits, 64 unreserved characters."""
    return secrets.token_urlsafe(48)


def pkce_challenge(code_verifier: str) -> str:
    """The S256 code challenge of a verifier: ``BASE64URL(SHA256(verifier))``. ``plain`` is never used."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def require_str(data: Mapping[str, Any], name: str) -> str:
    """``data[name]`` as a non-empty string (an integer id becomes its decimal string).

    Raises:
        LuciaOAuthError: ``OAUTH_INVALID_RESPONSE`` if it is missing or of another type.
    """
    value = data.get(name) if isinstance(data, Mapping) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise LuciaOAuthError("OAUTH_INVALID_RESPONSE", f"the provider's answer has no usable {name!r}")
    return value


def optional_str(data: Mapping[str, Any], name: str) -> str | None:
    """``data[name]`` if it is a non-empty string, else ``None``."""
    value = data.get(name) if isinstance(data, Mapping) else None
    return value if isinstance(value, str) and value else None


class AuthorizationURL(tuple[str, str, "str | None"]):
    """What :meth:`OAuth2Provider.get_authorization_url` returns: ``url, state, code_verifier``.

    It unpacks as a 3-tuple; OpenID Connect providers also set :attr:`nonce`. Keep
    ``state``, ``code_verifier`` and ``nonce`` in short-lived cookies
    (:func:`lucia_oauth.create_oauth_cookies` does) until the callback.

    Attributes:
        url: Where to redirect the browser.
        state: The CSRF token of the flow; compare it with the callback's ``state``.
        code_verifier: The PKCE verifier, or ``None`` for a provider without PKCE.
        nonce: The OpenID Connect nonce sent in the request, or ``None`` for plain OAuth 2.0.
    """

    nonce: str | None

    def __new__(cls, url: str, state: str, code_verifier: str | None, *, nonce: str | None = None) -> AuthorizationURL:
        self = super().__new__(cls, (url, state, code_verifier))
        self.nonce = nonce
        return self

    @property
    def url(self) -> str:
        """Where to redirect the browser."""
        return self[0]

    @property
    def state(self) -> str:
        """The flow's ``state``."""
        return self[1]

    @property
    def code_verifier(self) -> str | None:
        """The PKCE code verifier, if the provider supports PKCE."""
        return self[2]

    def __repr__(self) -> str:
        hidden = "'**********'"
        return f"AuthorizationURL(url='{_origin(self.url)}?...', state={hidden}, code_verifier={hidden})"


class _Flight:
    """One in-flight refresh that concurrent callers wait for."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.result: OAuth2Tokens | None = None
        self.error: Exception | None = None


class OAuth2Provider:
    """A generic OAuth 2.0 authorization-code provider, and the base of every named one.

    Args:
        auth: The :class:`~lucia.Lucia` instance the users and keys live in.
        client_id: The client id registered with the provider.
        client_secret: The client secret (``None`` for a public client: ``token_endpoint_auth_method="none"``).
        redirect_uri: The callback URL, exactly as registered; sent identically in both requests.
        scope: Scopes to request (default: the provider's ``default_scopes``).
        provider_id: The provider id in Lucia keys (default: the class's ``provider_id``).
        authorization_endpoint: Overrides the class's endpoint.
        token_endpoint: Overrides the class's endpoint.
        userinfo_endpoint: Overrides the class's endpoint.
        pkce: Overrides ``supports_pkce`` (only ever ``S256``).
        token_endpoint_auth_method: Overrides the class's method.
        user_id_field: For the generic provider: the member of the userinfo answer that is the
            immutable user id (default ``"sub"``).
        authorization_params: Extra fixed parameters of the authorization request.
        timeout: Seconds for each back-channel request.
        http_client: An ``httpx.AsyncClient`` to reuse (redirects are still never followed).
        clock: Seconds since the epoch, injectable for tests.

    Raises:
        LuciaOAuthError: ``OAUTH_CONFIGURATION`` for a missing endpoint or a bad redirect URI.
    """

    provider_id: str = "oauth2"
    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    default_scopes: ClassVar[tuple[str, ...]] = ()
    scope_separator: ClassVar[str] = " "
    supports_pkce: ClassVar[bool] = True
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_basic"
    supports_refresh: ClassVar[bool] = True
    request_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        auth: Lucia,
        *,
        client_id: str,
        client_secret: str | None = None,
        redirect_uri: str,
        scope: Sequence[str] | None = None,
        provider_id: str | None = None,
        authorization_endpoint: str | None = None,
        token_endpoint: str | None = None,
        userinfo_endpoint: str | None = None,
        pkce: bool | None = None,
        token_endpoint_auth_method: TokenEndpointAuthMethod | None = None,
        user_id_field: str = "sub",
        authorization_params: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(scope, str):
            raise TypeError('scope must be a sequence of scopes, e.g. ["openid", "email"], not a string')
        self.auth = auth
        self.client_id = _check_text(client_id, "client_id")
        self._client_secret = client_secret
        self.redirect_uri = _check_redirect_uri(redirect_uri)
        self.scope: tuple[str, ...] = tuple(self.default_scopes if scope is None else scope)
        if provider_id is not None:
            if not provider_id or ":" in provider_id:
                raise LuciaOAuthError("OAUTH_CONFIGURATION", "provider_id must be non-empty and contain no ':'")
            self.provider_id = provider_id
        if authorization_endpoint is not None:
            self.authorization_endpoint = authorization_endpoint
        if token_endpoint is not None:
            self.token_endpoint = token_endpoint
        if userinfo_endpoint is not None:
            self.userinfo_endpoint = userinfo_endpoint
        self.pkce = self.supports_pkce if pkce is None else pkce
        if token_endpoint_auth_method is not None:
            self.token_endpoint_auth_method = token_endpoint_auth_method
        if self.token_endpoint_auth_method not in ("client_secret_basic", "client_secret_post", "none"):
            raise LuciaOAuthError("OAUTH_CONFIGURATION", "unknown token_endpoint_auth_method")
        self.user_id_field = user_id_field
        self._authorization_params = dict(authorization_params or {})
        self.timeout = timeout
        self._http_client = http_client
        self.clock = clock
        self._refreshes: dict[str, _Flight] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider_id={self.provider_id!r}, client_id={self.client_id!r})"

    # -- extension points ---------------------------------------------------------------

    def extra_authorization_params(self) -> Mapping[str, str]:
        """Fixed extra parameters of the authorization request (default: the constructor's)."""
        return self._authorization_params

    async def client_secret_value(self) -> str | None:
        """The client secret to send now (Apple computes a fresh JWT here)."""
        return self._client_secret

    async def get_provider_user(self, tokens: OAuth2Tokens, *, claims: Mapping[str, Any] | None) -> ProviderUser:
        """Who signed in. The generic provider reads ``userinfo_endpoint``.

        Args:
            tokens: The token response.
            claims: The verified id_token claims (OpenID Connect), else ``None``.

        Raises:
            LuciaOAuthError: If the provider's answer is unusable.
        """
        if self.userinfo_endpoint is None:
            raise LuciaOAuthError("OAUTH_CONFIGURATION", f"{type(self).__name__} has no userinfo_endpoint")
        data = await self.fetch_json(self.userinfo_endpoint, access_token=tokens.access_token)
        if not isinstance(data, Mapping):
            raise LuciaOAuthError("OAUTH_INVALID_RESPONSE", "the userinfo answer is not a JSON object")
        return ProviderUser(
            provider_user_id=require_str(data, self.user_id_field),
            data=data,
            email=optional_str(data, "email"),
            email_verified=data.get("email_verified") is True,
        )

    async def verify_token_response(
        self, tokens: OAuth2Tokens, *, nonce: str | None, code_verifier: str | None
    ) -> Mapping[str, Any] | None:
        """Verify what the token response proves; return verified id_token claims if any.

        Plain OAuth 2.0 has nothing to verify here; :class:`OIDCProvider` verifies the id_token.
        """
        return None

    def parse_token_response(self, status: int, body: object) -> OAuth2Tokens:
        """Turn a 2xx token answer into :class:`OAuth2Tokens`.

        Raises:
            LuciaOAuthRequestError: If the answer carries an OAuth ``error`` member.
            LuciaOAuthError: ``OAUTH_INVALID_RESPONSE`` if it is not a token response.
        """
        if not isinstance(body, Mapping):
            raise LuciaOAuthError("OAUTH_INVALID_RESPONSE", "the token answer is not a JSON object")
        if "error" in body:
            raise LuciaOAuthRequestError(status, body)
        access_token = require_str(body, "access_token")
        token_type = optional_str(body, "token_type") or "Bearer"
        expires_in_raw = body.get("expires_in")
        expires_in: int | None = None
        if isinstance(expires_in_raw, str) and expires_in_raw.isdigit():
            expires_in = int(expires_in_raw)
        elif isinstance(expires_in_raw, int) and not isinstance(expires_in_raw, bool):
            expires_in = expires_in_raw
        scope_raw = optional_str(body, "scope")
        scope = tuple(s for s in scope_raw.replace(",", " ").split() if s) if scope_raw is not None else None
        return OAuth2Tokens(
            access_token=access_token,
            token_type=token_type,
            expires_in=expires_in,
            expires_at=None if expires_in is None else self.clock() + expires_in,
            refresh_token=optional_str(body, "refresh_token"),
            scope=scope,
            id_token=optional_str(body, "id_token"),
            raw=dict(body),
        )

    # -- the flow -----------------------------------------------------------------------

    async def get_authorization_url(self) -> AuthorizationURL:
        """Start a sign-in: the URL to redirect to, with a fresh ``state`` (and PKCE verifier).

        Returns:
            ``url, state, code_verifier`` (an :class:`AuthorizationURL`; ``code_verifier`` is
            ``None`` when the provider has no PKCE). Store ``state`` and ``code_verifier`` in
            short-lived cookies (:func:`lucia_oauth.create_oauth_cookies`).
        """
        endpoint = await self._endpoint("authorization_endpoint")
        state = generate_state()
        code_verifier = generate_code_verifier() if self.pkce else None
        nonce = self._nonce_for(code_verifier)
        params = self._authorization_query(state, code_verifier, nonce)
        separator = "&" if urlsplit(endpoint).query else "?"
        url = endpoint + separator + urlencode(params, quote_via=quote)
        return AuthorizationURL(url, state, code_verifier, nonce=nonce)

    def _nonce_for(self, code_verifier: str | None) -> str | None:
        return None

    def _authorization_query(self, state: str, code_verifier: str | None, nonce: str | None) -> dict[str, str]:
        params: dict[str, str] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": state,
        }
        if self.scope:
            params["scope"] = self.scope_separator.join(self.scope)
        if code_verifier is not None:
            params["code_challenge"] = pkce_challenge(code_verifier)
            params["code_challenge_method"] = "S256"
        if nonce is not None:
            params["nonce"] = nonce
        for name, value in self.extra_authorization_params().items():
            if name not in _RESERVED_PARAMS:
                params[name] = value
        return params

    async def validate_callback(
        self, code: str, *, code_verifier: str | None = None, nonce: str | None = None
    ) -> ProviderSession:
        """Finish a sign-in: exchange the code, verify what came back, find the Lucia user.

        Check ``state`` before calling this (:func:`lucia_oauth.check_callback` does).

        Args:
            code: The ``code`` parameter of the callback.
            code_verifier: The verifier from :meth:`get_authorization_url` (required with PKCE).
            nonce: OpenID Connect only: the nonce from :meth:`get_authorization_url`. When
                omitted it is recomputed from ``code_verifier``, from which it was derived.

        Returns:
            A :class:`ProviderSession`; nothing is created until you call its methods.

        Raises:
            LuciaOAuthRequestError: The token or user endpoint refused (a wrong ``code_verifier``...).
            LuciaOAuthError: Any other failure; it fails closed and creates nothing.
        """
        if not isinstance(code, str) or not code or len(code) > _MAX_CODE_LENGTH:
            raise LuciaOAuthError("OAUTH_INVALID_CALLBACK", "the callback has no usable code")
        await self._endpoint("token_endpoint")  # discovery may still decide whether PKCE is on
        if self.pkce and not code_verifier:
            raise LuciaOAuthError("OAUTH_INVALID_CALLBACK", "the code_verifier is missing (is the cookie gone?)")
        tokens = await self.exchange_code(code, code_verifier=code_verifier if self.pkce else None)
        claims = await self.verify_token_response(tokens, nonce=nonce, code_verifier=code_verifier)
        user = await self.get_provider_user(tokens, claims=claims)
        existing = await find_existing_user(self.auth, self.provider_id, user.provider_user_id)
        return ProviderSession(
            auth=self.auth, provider_id=self.provider_id, user=user, tokens=tokens, existing_user=existing
        )

    async def exchange_code(self, code: str, *, code_verifier: str | None) -> OAuth2Tokens:
        """The token request of the authorization-code grant (RFC 6749 §4.1.3), unverified.

        Prefer :meth:`validate_callback`, which also verifies the answer.
        """
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if code_verifier is not None:
            form["code_verifier"] = code_verifier
        return await self._token_request(form)

    async def refresh_access_token(self, refresh_token: str) -> OAuth2Tokens:
        """Get a new token set with a refresh token (RFC 6749 §6).

        Concurrent calls with the same refresh token share one request to the provider and
        all get its result (providers that rotate refresh tokens would otherwise revoke the
        grant). If the provider issues no new refresh token, the old one is kept in the result.

        Raises:
            LuciaOAuthRequestError: The provider refused (an expired or revoked refresh token).
            LuciaOAuthError: ``OAUTH_CONFIGURATION`` if the provider issues no refresh tokens.
        """
        if not self.supports_refresh:
            raise LuciaOAuthError("OAUTH_CONFIGURATION", f"{type(self).__name__} does not issue refresh tokens")
        if not isinstance(refresh_token, str) or not refresh_token or len(refresh_token) > _MAX_CODE_LENGTH:
            raise LuciaOAuthError("OAUTH_INVALID_CALLBACK", "the refresh token is missing or too long")
        key = hashlib.sha256(refresh_token.encode()).hexdigest()
        while True:
            flight = self._refreshes.get(key)
            if flight is None:
                break
            await flight.done.wait()
            if flight.error is not None:
                raise flight.error
            if flight.result is not None:
                return flight.result
            # The leader was cancelled: try again, leading ourselves if no one else does.
        flight = _Flight()
        self._refreshes[key] = flight
        try:
            flight.result = await self._refresh(refresh_token)
            return flight.result
        except Exception as exc:
            flight.error = exc
            raise
        finally:
            del self._refreshes[key]
            flight.done.set()

    async def _refresh(self, refresh_token: str) -> OAuth2Tokens:
        tokens = await self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})
        await self.verify_refreshed_tokens(tokens)
        if tokens.refresh_token is None:
            tokens = OAuth2Tokens(
                access_token=tokens.access_token,
                token_type=tokens.token_type,
                expires_in=tokens.expires_in,
                expires_at=tokens.expires_at,
                refresh_token=refresh_token,
                scope=tokens.scope,
                id_token=tokens.id_token,
                raw=tokens.raw,
            )
        return tokens

    async def verify_refreshed_tokens(self, tokens: OAuth2Tokens) -> None:
        """Verify a refresh answer (OpenID Connect verifies a new id_token here)."""

    # -- back channel -------------------------------------------------------------------

    async def _endpoint(self, name: Literal["authorization_endpoint", "token_endpoint", "userinfo_endpoint"]) -> str:
        value = getattr(self, name)
        if not isinstance(value, str) or not value:
            raise LuciaOAuthError("OAUTH_CONFIGURATION", f"{type(self).__name__} has no {name}")
        return value

    async def _token_request(self, form: dict[str, str]) -> OAuth2Tokens:
        endpoint = await self._endpoint("token_endpoint")
        headers = {"Accept": "application/json"}
        secret = await self.client_secret_value()
        method = self.token_endpoint_auth_method
        if method == "client_secret_basic":
            if secret is None:
                raise LuciaOAuthError("OAUTH_CONFIGURATION", "client_secret_basic needs a client_secret")
            # RFC 6749 §2.3.1: both halves are form-urlencoded before Base64.
            pair = f"{quote(self.client_id, safe='')}:{quote(secret, safe='')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        elif method == "client_secret_post":
            if secret is None:
                raise LuciaOAuthError("OAUTH_CONFIGURATION", "client_secret_post needs a client_secret")
            form = {**form, "client_id": self.client_id, "client_secret": secret}
        else:
            form = {**form, "client_id": self.client_id}
        status, body = await self._request_json("POST", endpoint, headers=headers, data=form)
        return self.parse_token_response(status, body)

    async def fetch_json(
        self,
        url: str,
        *,
        access_token: str | None = None,
        method: Literal["GET", "POST"] = "GET",
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> Any:
        """A back-channel JSON request (for user endpoints in ``get_provider_user``).

        Redirects are never followed; the access token goes in the ``Authorization`` header.

        Returns:
            The decoded JSON.

        Raises:
            LuciaOAuthRequestError: On any non-2xx answer.
            LuciaOAuthError: ``OAUTH_NETWORK_ERROR`` (timeout, connection), ``OAUTH_INVALID_RESPONSE`` (not JSON).
        """
        all_headers = {"Accept": "application/json", **(headers or {})}
        if access_token is not None:
            all_headers["Authorization"] = f"Bearer {access_token}"
        _, body = await self._request_json(method, url, headers=all_headers, params=params, data=data)
        return body

    async def _request_json(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        request_headers = {"User-Agent": f"lucia-oauth/{__version__}", **self.request_headers, **headers}
        try:
            if self._http_client is not None:
                response = await self._http_client.request(
                    method,
                    url,
                    headers=request_headers,
                    params=params,
                    data=data,
                    follow_redirects=False,
                    timeout=self.timeout,
                )
            else:
                async with httpx.AsyncClient(
                    timeout=self.timeout, follow_redirects=False, trust_env=False, verify=_tls_context()
                ) as client:
                    response = await client.request(method, url, headers=request_headers, params=params, data=data)
        except httpx.TimeoutException as exc:
            raise LuciaOAuthError("OAUTH_NETWORK_ERROR", f"{method} {_origin(url)} timed out") from exc
        except httpx.HTTPError as exc:
            raise LuciaOAuthError(
                "OAUTH_NETWORK_ERROR", f"{method} {_origin(url)} failed: {type(exc).__name__}"
            ) from exc
        logger.debug("%s %s answered %s", method, _origin(url), response.status_code)
        if not 200 <= response.status_code < 300:
            raise LuciaOAuthRequestError(response.status_code, _error_body(response))
        try:
            return response.status_code, json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise LuciaOAuthError("OAUTH_INVALID_RESPONSE", f"{method} {_origin(url)} did not answer JSON") from exc


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every back-channel request: building one costs ~100 ms."""
    return ssl.create_default_context()


def _origin(url: str) -> str:
    """Scheme, host and path of a URL: what may appear in logs and errors (no query)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _error_body(response: httpx.Response) -> Mapping[str, Any] | str:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return response.content[:_MAX_BODY_IN_ERROR].decode("utf-8", "replace")
    if isinstance(body, Mapping):
        return body
    return response.content[:_MAX_BODY_IN_ERROR].decode("utf-8", "replace")


def _check_text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise LuciaOAuthError("OAUTH_CONFIGURATION", f"{name} must be a non-empty string")
    return value


def _check_redirect_uri(value: object) -> str:
    uri = _check_text(value, "redirect_uri")
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment or "#" in uri:
        raise LuciaOAuthError("OAUTH_CONFIGURATION", "redirect_uri must be an absolute http(s) URL without fragment")
    return uri
