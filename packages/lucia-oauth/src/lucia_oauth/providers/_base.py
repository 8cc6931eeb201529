"""What the named providers share: endpoints built from overridable base URLs."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from lucia_oauth._errors import LuciaOAuthError
from lucia_oauth._oidc import OIDCProvider
from lucia_oauth._provider import OAuth2Provider
from lucia_oauth._session import OAuth2Tokens

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = ["HostedOIDCProvider", "HostedProvider", "base_url_of", "scope_list_as_text", "user_object"]


def base_url_of(value: str, name: str) -> str:
    """A base URL without its trailing slash; a bare host name (``example.okta.com``) gets ``https://``.

    Raises:
        LuciaOAuthError: ``OAUTH_CONFIGURATION`` if it is empty or not http(s).
    """
    if not isinstance(value, str) or not value.strip("/"):
        raise LuciaOAuthError("OAUTH_CONFIGURATION", f"{name} must be a non-empty URL or host name")
    url = value if "://" in value else f"https://{value}"
    if not url.startswith(("https://", "http://")):
        raise LuciaOAuthError("OAUTH_CONFIGURATION", f"{name} must be an http(s) URL")
    return url.rstrip("/")


def scope_list_as_text(body: object) -> object:
    """A token answer whose ``scope`` is a JSON list (Twitch) with it joined by spaces."""
    if isinstance(body, Mapping) and isinstance(body.get("scope"), list):
        return {**body, "scope": " ".join(s for s in body["scope"] if isinstance(s, str))}
    return body


class HostedProvider(OAuth2Provider):
    """A plain OAuth 2.0 provider whose endpoints are paths on one or two hosts.

    ``base_url`` is the host of the authorization and token endpoints, ``api_base_url``
    the host of the user API (the same host when the provider has only one). Both are
    keyword-only options so a self-hosted instance, or a local emulation in tests, can
    replace them.

    Args:
        auth: The :class:`~lucia.Lucia` instance.
        client_id: The client id registered with the provider.
        client_secret: The client secret.
        redirect_uri: The callback URL, exactly as registered.
        scope: Scopes to request (default: the provider's ``default_scopes``).
        base_url: Replaces the provider's authorization host.
        api_base_url: Replaces the provider's API host (for a provider with a single host:
            default ``base_url``).
        provider_id: The provider id in Lucia keys (default: the provider's name).
        pkce: Overrides the provider's PKCE support (S256 only), for a scope that refuses it.
        authorization_params: Extra fixed parameters of the authorization request.
        timeout: Seconds for each back-channel request.
        http_client: An ``httpx.AsyncClient`` to reuse (redirects are still never followed).
        clock: Seconds since the epoch, injectable for tests.
    """

    default_base_url: ClassVar[str]
    default_api_base_url: ClassVar[str | None] = None
    authorization_path: ClassVar[str]
    token_path: ClassVar[str]
    userinfo_path: ClassVar[str]
    #: Whether the token endpoint is on the API host rather than the authorization host.
    token_on_api_host: ClassVar[bool] = False

    def __init__(
        self,
        auth: Lucia,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        scope: Sequence[str] | None = None,
        base_url: str | None = None,
        api_base_url: str | None = None,
        provider_id: str | None = None,
        pkce: bool | None = None,
        authorization_params: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url_of(base_url or self.default_base_url, "base_url")
        # A provider with one host serves its API there; one with two keeps its API host.
        api = api_base_url or self.default_api_base_url
        self.api_base_url = self.base_url if api is None else base_url_of(api, "api_base_url")
        super().__init__(
            auth,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            scope=scope,
            provider_id=provider_id,
            authorization_endpoint=self.base_url + self.authorization_path,
            token_endpoint=(self.api_base_url if self.token_on_api_host else self.base_url) + self.token_path,
            userinfo_endpoint=self.api_base_url + self.userinfo_path,
            pkce=pkce,
            authorization_params=authorization_params,
            timeout=timeout,
            http_client=http_client,
            clock=clock,
        )

    def api_url(self, path: str) -> str:
        """An endpoint of the provider's user API."""
        return self.api_base_url + path

    def parse_token_response(self, status: int, body: object) -> OAuth2Tokens:
        """The standard parse, also accepting a ``scope`` sent as a JSON list."""
        return super().parse_token_response(status, scope_list_as_text(body))


def user_object(data: Any, what: str) -> Mapping[str, Any]:
    """``data`` if it is a JSON object, else ``OAUTH_INVALID_RESPONSE``."""
    if not isinstance(data, Mapping):
        raise LuciaOAuthError("OAUTH_INVALID_RESPONSE", f"the {what} answer is not a JSON object")
    return data


class HostedOIDCProvider(OIDCProvider):
    """An OpenID Connect provider whose issuer has a default, with its PKCE support stated.

    Args:
        auth: The :class:`~lucia.Lucia` instance.
        client_id: The client id registered with the provider.
        client_secret: The client secret.
        redirect_uri: The callback URL, exactly as registered.
        scope: Scopes to request; ``openid`` is always sent.
        issuer: Replaces the provider's issuer (its discovery document is read from there).
        provider_id: The provider id in Lucia keys (default: the provider's name).
        authorization_params: Extra fixed parameters of the authorization request.
        timeout: Seconds for each back-channel request.
        http_client: An ``httpx.AsyncClient`` to reuse (redirects are still never followed).
        clock: Seconds since the epoch, injectable for tests.
    """

    #: Whether to read the userinfo endpoint after verifying the id_token.
    use_userinfo: ClassVar[bool] = True

    def __init__(
        self,
        auth: Lucia,
        *,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        scope: Sequence[str] | None = None,
        issuer: str | None = None,
        provider_id: str | None = None,
        authorization_params: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            auth,
            issuer=issuer,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            scope=scope,
            provider_id=provider_id,
            userinfo=self.use_userinfo,
            pkce=self.supports_pkce,
            authorization_params=authorization_params,
            timeout=timeout,
            http_client=http_client,
            clock=clock,
        )
