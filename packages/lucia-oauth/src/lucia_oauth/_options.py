"""How a provider is configured: one frozen options object per provider, validated once. No I/O.

Every provider takes its options as keyword arguments (``GitHub(auth, client_id=...,
client_secret=..., redirect_uri=..., scope=[...])``); the class's options dataclass turns
them into one validated object (``provider.options``) that the provider's ``__init__``
reads. The options every provider shares are :class:`ClientOptions`; each kind of provider
adds its own in a subclass (:class:`OAuth2Options`, :class:`OIDCOptions`, a named
provider's ``base_url``, ``domain``, ``tenant``...). Nothing is forwarded by hand.

Endpoint URLs must be ``https``, except on loopback hosts (``localhost``, ``127.0.0.0/8``,
``[::1]``) for development and tests (H10): :func:`check_endpoint`.
"""

from __future__ import annotations

import functools
import inspect
import ipaddress
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Concatenate, Literal, ParamSpec, TypeVar
from urllib.parse import urlsplit

import httpx

from lucia_oauth._errors import LuciaOAuthConfigurationError, LuciaOAuthInsecureEndpointError

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = [
    "ClientOptions",
    "EndpointOptions",
    "IdTokenOptions",
    "OAuth2Options",
    "OIDCOptions",
    "TokenEndpointAuthMethod",
    "base_url_of",
    "check_endpoint",
    "check_redirect_uri",
    "configured_by",
    "is_loopback_host",
]

TokenEndpointAuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]

_LOOPBACK_V4 = ipaddress.IPv4Network("127.0.0.0/8")
_LOOPBACK_V6 = ipaddress.IPv6Address("::1")

_P = ParamSpec("_P")
_Self = TypeVar("_Self")
_Options = TypeVar("_Options")


def configured_by(
    options_class: Callable[_P, _Options],
) -> Callable[[Callable[[_Self, Lucia, _Options], None]], Callable[Concatenate[_Self, Lucia, _P], None]]:
    """Give a provider's ``__init__(self, auth, options)`` the keyword signature of ``options_class``.

    ``GitHub(auth, client_id=..., ...)`` builds ``options_class(client_id=..., ...)`` (a
    misspelt or missing option is a ``TypeError``, as for any call) and hands it to the
    decorated ``__init__``. Type checkers and ``help()`` see the options as keyword parameters.
    """

    def decorate(init: Callable[[_Self, Lucia, _Options], None]) -> Callable[Concatenate[_Self, Lucia, _P], None]:
        @functools.wraps(init)
        def __init__(self: _Self, auth: Lucia, /, *args: _P.args, **kwargs: _P.kwargs) -> None:
            init(self, auth, options_class(*args, **kwargs))

        leading = list(inspect.signature(init).parameters.values())[:2]
        options = inspect.signature(options_class).parameters.values()
        __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [p.replace(kind=inspect.Parameter.POSITIONAL_ONLY) for p in leading] + list(options)
        )
        return __init__

    return decorate


# -- the options ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ClientOptions:
    """What every provider is configured with: the registered client and how to reach the provider.

    Attributes:
        client_id: The client id registered with the provider.
        client_secret: The client secret (``None`` for a public client). Never shown by ``repr``.
        redirect_uri: The callback URL, exactly as registered; sent identically in both requests.
        scope: Scopes to request (default: the provider's ``default_scopes``). A list, never a string.
        provider_id: The provider id in Lucia keys (default: the class's ``provider_id``).
        pkce: Overrides the provider's PKCE support (only ever ``S256``), e.g. for a scope that refuses it.
        authorization_params: Extra fixed parameters of the authorization request; they
            never replace ``state``, PKCE or ``nonce``. ``{"response_mode": "form_post"}``
            makes the callback a cross-site POST (see :func:`lucia_oauth.form_post_callback_paths`).
        timeout: Seconds for each back-channel request.
        http_client: An ``httpx.AsyncClient`` to reuse (redirects are still never followed).
        clock: Seconds since the epoch, injectable for tests.

    Raises:
        LuciaOAuthConfigurationError: For an empty ``client_id``, a bad ``redirect_uri``, a
            ``:`` in ``provider_id`` or a timeout that is not positive.
        TypeError: For a ``scope`` given as one string.
    """

    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str
    scope: Sequence[str] | None = None
    provider_id: str | None = None
    pkce: bool | None = None
    authorization_params: Mapping[str, str] | None = None
    timeout: float = 10.0
    http_client: httpx.AsyncClient | None = None
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if isinstance(self.scope, str):
            raise TypeError('scope must be a sequence of scopes, e.g. ["openid", "email"], not a string')
        check_text(self.client_id, "client_id")
        check_redirect_uri(self.redirect_uri)
        if self.provider_id is not None and (not isinstance(self.provider_id, str) or not self.provider_id):
            raise LuciaOAuthConfigurationError(None, "provider_id must be a non-empty string")
        if self.provider_id is not None and ":" in self.provider_id:
            raise LuciaOAuthConfigurationError(None, "provider_id must contain no ':'")
        if not isinstance(self.timeout, int | float) or not self.timeout > 0:
            raise LuciaOAuthConfigurationError(None, "timeout must be a positive number of seconds")


@dataclass(frozen=True, kw_only=True)
class EndpointOptions(ClientOptions):
    """Endpoint overrides of the generic providers (each must be ``https`` or on a loopback host).

    Attributes:
        authorization_endpoint: Where the browser is sent to sign in.
        token_endpoint: Where codes and refresh tokens are exchanged.
        userinfo_endpoint: Where the user is read.
        token_endpoint_auth_method: ``"client_secret_basic"`` (default), ``"client_secret_post"``
            or ``"none"`` (a public client).
    """

    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    token_endpoint_auth_method: TokenEndpointAuthMethod | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.token_endpoint_auth_method not in (None, "client_secret_basic", "client_secret_post", "none"):
            raise LuciaOAuthConfigurationError(None, "unknown token_endpoint_auth_method")


@dataclass(frozen=True, kw_only=True)
class OAuth2Options(EndpointOptions):
    """The options of :class:`~lucia_oauth.OAuth2Provider`.

    Attributes:
        user_id_field: The member of the userinfo answer that is the immutable user id.
    """

    user_id_field: str = "sub"


@dataclass(frozen=True, kw_only=True)
class IdTokenOptions(ClientOptions):
    """How an OpenID Connect provider verifies id_tokens (every OpenID Connect provider takes these).

    Attributes:
        algorithms: The id_token algorithm allowlist (default RS*, PS*, ES*, Ed25519);
            asymmetric algorithms only.
        leeway: Clock skew tolerated on ``exp``/``iat``/``nbf`` in seconds.
        jwks_refetch_interval: Minimum seconds between two JWKS fetches caused by unknown keys.
    """

    algorithms: Sequence[str] | None = None
    leeway: float = 60.0
    jwks_refetch_interval: float = 10.0


@dataclass(frozen=True, kw_only=True)
class OIDCOptions(EndpointOptions, IdTokenOptions):
    """The options of :class:`~lucia_oauth.OIDCProvider`.

    Attributes:
        issuer: The issuer identifier, exactly as the provider writes it in ``iss``.
        jwks_uri: Overrides discovery (with both other endpoints, discovery is skipped).
        userinfo: Whether to read the userinfo endpoint (default: when the provider has one).
    """

    issuer: str | None = None
    jwks_uri: str | None = None
    userinfo: bool | None = None


# -- URLs ----------------------------------------------------------------------------------


def check_text(value: object, name: str) -> str:
    """``value`` if it is a non-empty string, else ``OAUTH_CONFIGURATION``."""
    if not isinstance(value, str) or not value:
        raise LuciaOAuthConfigurationError(None, f"{name} must be a non-empty string")
    return value


def check_redirect_uri(value: object) -> str:
    """An absolute http(s) URL without fragment (the app's own callback; ``http`` stays allowed for development)."""
    uri = check_text(value, "redirect_uri")
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment or "#" in uri:
        raise LuciaOAuthConfigurationError(None, "redirect_uri must be an absolute http(s) URL without fragment")
    return uri


def is_loopback_host(host: str) -> bool:
    """``localhost``, an IPv4 address in ``127.0.0.0/8``, or the IPv6 ``::1``: nothing else.

    Subdomains of ``localhost`` and IPv4-mapped IPv6 addresses are not trusted: whether
    they reach this machine depends on the resolver and the network stack.
    """
    host = host.lower()
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return address in _LOOPBACK_V4
    return address == _LOOPBACK_V6


def check_endpoint(url: object, name: str) -> str:
    """``url`` if it is an ``https`` URL, or an ``http`` URL on a loopback host (H10).

    Args:
        url: The endpoint.
        name: Its name, for the error (``"token_endpoint"``).

    Raises:
        LuciaOAuthInsecureEndpointError: For a plain-``http`` endpoint elsewhere, another
            scheme, no host, credentials in the URL or a fragment.
    """
    text = check_text(url, name)
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        host, parts = "", urlsplit("")
    if not host or parts.username is not None or parts.password is not None or parts.fragment:
        detail = f"{name} must be an absolute URL without credentials or fragment"
        raise LuciaOAuthInsecureEndpointError(None, detail, endpoint=name)
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(host)):
        return text
    raise LuciaOAuthInsecureEndpointError(
        None, f"{name} must use https (plain http only on localhost, 127.0.0.0/8 or [::1])", endpoint=name
    )


def base_url_of(value: object, name: str) -> str:
    """A base URL without its trailing slash; a bare host name (``example.okta.com``) gets ``https://``.

    Raises:
        LuciaOAuthConfigurationError: If it is empty; :class:`LuciaOAuthInsecureEndpointError`
            if it is not ``https`` (or ``http`` on a loopback host).
    """
    if not isinstance(value, str) or not value.strip("/"):
        raise LuciaOAuthConfigurationError(None, f"{name} must be a non-empty URL or host name")
    url = value if "://" in value else f"https://{value}"
    return check_endpoint(url.rstrip("/"), name)
