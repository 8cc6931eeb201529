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

- Options of your own (a tenant, a self-hosted base URL): a frozen ``kw_only`` dataclass
  extending :class:`~lucia_oauth.ClientOptions`, and an ``__init__`` that reads it::

      @dataclass(frozen=True, kw_only=True)
      class ExampleOptions(ClientOptions):
          tenant: str

      class Example(OAuth2Provider):
          @configured_by(ExampleOptions)
          def __init__(self, auth, options: ExampleOptions) -> None:
              self.token_endpoint = f"https://{options.tenant}.example.com/oauth/token"
              self._configure(auth, options)

  ``Example(auth, tenant="acme", client_id=..., ...)`` then works and type-checks;
  ``_configure`` takes everything :class:`~lucia_oauth.ClientOptions` holds and checks
  every endpoint (``https`` only, except on loopback hosts).
- :meth:`~OAuth2Provider.extra_authorization_params`: fixed parameters of the authorization
  request (``{"access_type": "offline"}``); they can never replace ``state``, PKCE or ``nonce``.
- :meth:`~OAuth2Provider.client_secret_value`: compute the client secret per request
  (Apple's is an ES256 JWT: use :func:`lucia_oauth.sign_jwt`).
- :meth:`~OAuth2Provider.parse_token_response`: a provider whose token answer is not standard.
- ``request_headers``: headers for every back-channel request (Reddit wants a User-Agent).

Helpers for hooks: :meth:`~OAuth2Provider.fetch_json` (any back-channel call: ``https``
only, no redirects, timeouts, ``LuciaOAuthRequestError`` on non-2xx, ``OAUTH_INVALID_RESPONSE``
on bad JSON) and
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
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import quote, urlencode, urlsplit

import anyio
import httpx

from lucia_oauth._errors import (
    LuciaOAuthCallbackError,
    LuciaOAuthConfigurationError,
    LuciaOAuthNetworkError,
    LuciaOAuthRequestError,
    LuciaOAuthResponseError,
)
from lucia_oauth._options import (
    ClientOptions,
    EndpointOptions,
    OAuth2Options,
    TokenEndpointAuthMethod,
    check_endpoint,
    configured_by,
)
from lucia_oauth._session import OAuth2Tokens, ProviderSession, ProviderUser, find_existing_user
from lucia_oauth._version import __version__

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = [
    "AuthorizationURL",
    "OAuth2Provider",
    "generate_code_verifier",
    "generate_state",
    "optional_str",
    "pkce_challenge",
    "require_str",
]

logger = logging.getLogger("lucia_oauth")

_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint")

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
        raise LuciaOAuthResponseError(None, f"the provider's answer has no usable {name!r}")
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
        provider_id: The provider the flow is for (the flow's cookies are named after it).
        form_post: Whether the provider will answer with a cross-site form POST
            (``response_mode=form_post``, Apple): its cookies must be ``SameSite=None``.
    """

    nonce: str | None
    provider_id: str
    form_post: bool

    def __new__(
        cls,
        url: str,
        state: str,
        code_verifier: str | None,
        *,
        nonce: str | None = None,
        provider_id: str = "oauth2",
        form_post: bool = False,
    ) -> AuthorizationURL:
        self = super().__new__(cls, (url, state, code_verifier))
        self.nonce = nonce
        self.provider_id = provider_id
        self.form_post = form_post
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


@dataclass(frozen=True)
class _Refreshed:
    """A refresh answer with the claims of its verified id_token (``None`` without one)."""

    tokens: OAuth2Tokens
    claims: Mapping[str, Any] | None


class _Flight:
    """One in-flight refresh that concurrent callers wait for."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.result: _Refreshed | None = None
        self.error: Exception | None = None


class OAuth2Provider:
    """A generic OAuth 2.0 authorization-code provider, and the base of every named one.

    ``OAuth2Provider(auth, client_id=..., client_secret=..., redirect_uri=..., token_endpoint=..., ...)``:
    the keyword options are the fields of :class:`~lucia_oauth.OAuth2Options` (the shared
    ones are documented on :class:`~lucia_oauth.ClientOptions`); the validated object is
    :attr:`options`.

    Args:
        auth: The :class:`~lucia.Lucia` instance the users and keys live in.
        options: Built from the keyword arguments.

    Raises:
        LuciaOAuthConfigurationError: For a missing client secret or a bad redirect URI;
            :class:`~lucia_oauth.LuciaOAuthInsecureEndpointError` for an endpoint that is
            not ``https`` (plain ``http`` only on loopback hosts).
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
    #: Whether the class computes its client secret (Apple's JWT) instead of taking one.
    computes_client_secret: ClassVar[bool] = False
    #: The member of the userinfo answer that is the immutable user id (generic provider).
    user_id_field: str = "sub"

    options: ClientOptions

    @configured_by(OAuth2Options)
    def __init__(self, auth: Lucia, options: OAuth2Options) -> None:
        self.user_id_field = options.user_id_field
        self._configure(auth, options)

    def _configure(self, auth: Lucia, options: ClientOptions) -> None:
        """Take everything :class:`ClientOptions` (and endpoint overrides) hold, then check the result.

        Every ``__init__`` ends here, after it has set what its own options decide
        (endpoints computed from a base URL, an issuer...).
        """
        self.auth = auth
        self.options = options
        self.client_id = options.client_id
        self._client_secret = options.client_secret
        self.redirect_uri = options.redirect_uri
        self.scope: tuple[str, ...] = tuple(self.default_scopes if options.scope is None else options.scope)
        if options.provider_id is not None:
            self.provider_id = options.provider_id
        self.pkce = self.supports_pkce if options.pkce is None else options.pkce
        if isinstance(options, EndpointOptions):
            for name in _ENDPOINTS:
                if getattr(options, name) is not None:
                    setattr(self, name, getattr(options, name))
            if options.token_endpoint_auth_method is not None:
                self.token_endpoint_auth_method = options.token_endpoint_auth_method
        self._authorization_params = dict(options.authorization_params or {})
        self.timeout = options.timeout
        self._http_client = options.http_client
        self.clock = options.clock
        self._refreshes: dict[str, _Flight] = {}
        needs_secret = self.token_endpoint_auth_method != "none" and not self.computes_client_secret
        if needs_secret and self._client_secret is None:
            raise LuciaOAuthConfigurationError(None, f"{self.token_endpoint_auth_method} needs a client_secret")
        self.check_endpoints()

    def check_endpoints(self) -> None:
        """Refuse any known endpoint that is not ``https`` (``http`` only on loopback hosts) (H10).

        Raises:
            LuciaOAuthInsecureEndpointError: Naming the endpoint.
        """
        for name in _ENDPOINTS:
            value = getattr(self, name)
            if value is not None:
                check_endpoint(value, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider_id={self.provider_id!r}, client_id={self.client_id!r})"

    @property
    def uses_form_post(self) -> bool:
        """Whether the callback comes as a cross-site form POST (``response_mode=form_post``).

        Such a callback needs its route exempted from the CSRF check
        (:func:`lucia_oauth.form_post_callback_paths`) and ``SameSite=None`` flow cookies
        (:func:`lucia_oauth.create_oauth_cookies` sets them for such a flow).
        """
        return self.extra_authorization_params().get("response_mode") == "form_post"

    @property
    def callback_path(self) -> str:
        """The path of :attr:`redirect_uri` (where the provider sends the user back)."""
        return urlsplit(self.redirect_uri).path or "/"

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
            raise LuciaOAuthConfigurationError(None, f"{type(self).__name__} has no userinfo_endpoint")
        data = await self.fetch_json(self.userinfo_endpoint, access_token=tokens.access_token)
        if not isinstance(data, Mapping):
            raise LuciaOAuthResponseError(None, "the userinfo answer is not a JSON object")
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
            raise LuciaOAuthResponseError(None, "the token answer is not a JSON object")
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
        return AuthorizationURL(
            url,
            state,
            code_verifier,
            nonce=nonce,
            provider_id=self.provider_id,
            form_post=params.get("response_mode") == "form_post",
        )

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
            raise LuciaOAuthCallbackError(None, "the callback has no usable code")
        await self._endpoint("token_endpoint")  # discovery may still decide whether PKCE is on
        if self.pkce and not code_verifier:
            raise LuciaOAuthCallbackError(None, "the code_verifier is missing (is the cookie gone?)")
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

    async def refresh_access_token(self, refresh_token: str, *, subject: str | None = None) -> OAuth2Tokens:
        """Get a new token set with a refresh token (RFC 6749 §6).

        Concurrent calls with the same refresh token share one request to the provider and
        all get its result (providers that rotate refresh tokens would otherwise revoke the
        grant). If the provider issues no new refresh token, the old one is kept in the result.

        Args:
            refresh_token: The refresh token.
            subject: The ``provider_user_id`` the refresh token was issued for. OpenID
                Connect: a refreshed id_token must name this same ``sub`` (H12), and an
                id_token in the answer is refused when ``subject`` is not given.

        Raises:
            LuciaOAuthRequestError: The provider refused (an expired or revoked refresh token).
            LuciaOAuthError: ``OAUTH_CONFIGURATION`` if the provider issues no refresh tokens;
                ``OAUTH_INVALID_ID_TOKEN`` for a refreshed id_token that fails verification
                or names another subject.
        """
        if not self.supports_refresh:
            raise LuciaOAuthConfigurationError(None, f"{type(self).__name__} does not issue refresh tokens")
        if not isinstance(refresh_token, str) or not refresh_token or len(refresh_token) > _MAX_CODE_LENGTH:
            raise LuciaOAuthCallbackError(None, "the refresh token is missing or too long")
        refreshed = await self._refresh_once(refresh_token)
        self.check_refreshed_subject(refreshed.claims, subject)
        return refreshed.tokens

    async def _refresh_once(self, refresh_token: str) -> _Refreshed:
        """One request per refresh token at a time: later callers wait for the leader's answer."""
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

    async def _refresh(self, refresh_token: str) -> _Refreshed:
        tokens = await self._token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})
        claims = await self.verify_refreshed_tokens(tokens)
        if tokens.refresh_token is None:
            tokens = replace(tokens, refresh_token=refresh_token)
        return _Refreshed(tokens, claims)

    async def verify_refreshed_tokens(self, tokens: OAuth2Tokens) -> Mapping[str, Any] | None:
        """Verify a refresh answer; return the claims of its id_token (OpenID Connect), else ``None``."""
        return None

    def check_refreshed_subject(self, claims: Mapping[str, Any] | None, subject: str | None) -> None:
        """Plain OAuth 2.0 has no id_token to compare; :class:`~lucia_oauth.OIDCProvider` checks ``sub``."""

    # -- back channel -------------------------------------------------------------------

    async def _endpoint(self, name: Literal["authorization_endpoint", "token_endpoint", "userinfo_endpoint"]) -> str:
        value = getattr(self, name)
        if not isinstance(value, str) or not value:
            raise LuciaOAuthConfigurationError(None, f"{type(self).__name__} has no {name}")
        return value

    async def _token_request(self, form: dict[str, str]) -> OAuth2Tokens:
        endpoint = await self._endpoint("token_endpoint")
        headers = {"Accept": "application/json"}
        secret = await self.client_secret_value()
        method = self.token_endpoint_auth_method
        if method == "client_secret_basic":
            if secret is None:
                raise LuciaOAuthConfigurationError(None, "client_secret_basic needs a client_secret")
            # RFC 6749 §2.3.1: both halves are form-urlencoded before Base64.
            pair = f"{quote(self.client_id, safe='')}:{quote(secret, safe='')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        elif method == "client_secret_post":
            if secret is None:
                raise LuciaOAuthConfigurationError(None, "client_secret_post needs a client_secret")
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

        Only ``https`` URLs (``http`` on loopback hosts) are requested; redirects are never
        followed; the access token goes in the ``Authorization`` header.

        Returns:
            The decoded JSON.

        Raises:
            LuciaOAuthRequestError: On any non-2xx answer.
            LuciaOAuthError: ``OAUTH_NETWORK_ERROR`` (timeout, connection), ``OAUTH_INVALID_RESPONSE``
                (not JSON), ``OAUTH_CONFIGURATION`` (an ``http`` URL off loopback).
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
        check_endpoint(url, "request URL")  # the last guard: every back-channel URL is https (H10)
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
            raise LuciaOAuthNetworkError(None, f"{method} {_origin(url)} timed out") from exc
        except httpx.HTTPError as exc:
            raise LuciaOAuthNetworkError(None, f"{method} {_origin(url)} failed: {type(exc).__name__}") from exc
        logger.debug("%s %s answered %s", method, _origin(url), response.status_code)
        if not 200 <= response.status_code < 300:
            raise LuciaOAuthRequestError(response.status_code, _error_body(response))
        try:
            return response.status_code, json.loads(response.content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise LuciaOAuthResponseError(None, f"{method} {_origin(url)} did not answer JSON") from exc


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
