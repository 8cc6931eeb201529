"""Okta (OpenID Connect)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

import httpx

from lucia_oauth._provider import TokenEndpointAuthMethod
from lucia_oauth.providers._base import HostedOIDCProvider, base_url_of

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = ["Okta"]


class Okta(HostedOIDCProvider):
    """Sign in with Okta (https://developer.okta.com/docs/guides/sign-into-web-app-redirect/).

    - Scopes: default ``["openid", "profile", "email"]``; add ``"offline_access"`` for a refresh token.
    - Token endpoint authentication: ``client_secret_basic`` (Okta's default). PKCE: S256. Refresh: yes.
    - The id_token is verified by :class:`~lucia_oauth.OIDCProvider`. The issuer is
      ``https://{domain}/oauth2/{authorization_server_id}`` (a custom authorization server,
      ``default`` unless you say otherwise), or ``https://{domain}`` for the org
      authorization server (``authorization_server_id=None``).
    - ``provider_user_id``: ``sub`` (the Okta user id, ``00u...``).
    - ``provider_user``: the verified id_token claims updated with ``/v1/userinfo``.

    Args:
        auth: The :class:`~lucia.Lucia` instance.
        domain: Your Okta domain (``dev-123456.okta.com``), or a base URL with its scheme.
        client_id: The application's client id.
        client_secret: The application's client secret.
        redirect_uri: The callback URL, exactly as registered.
        scope: Scopes to request; ``openid`` is always sent.
        authorization_server_id: The custom authorization server, or ``None`` for the org one.
        provider_id: The provider id in Lucia keys (default ``"okta"``).
        authorization_params: Extra fixed parameters of the authorization request.
        timeout: Seconds for each back-channel request.
        http_client: An ``httpx.AsyncClient`` to reuse (redirects are still never followed).
        clock: Seconds since the epoch, injectable for tests.
    """

    provider_id = "okta"
    supports_pkce: ClassVar[bool] = True
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_basic"

    def __init__(
        self,
        auth: Lucia,
        *,
        domain: str,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        scope: Sequence[str] | None = None,
        authorization_server_id: str | None = "default",
        provider_id: str | None = None,
        authorization_params: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        issuer = base_url_of(domain, "domain")
        if authorization_server_id is not None:
            issuer += f"/oauth2/{authorization_server_id}"
        super().__init__(
            auth,
            issuer=issuer,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            scope=scope,
            provider_id=provider_id,
            authorization_params=authorization_params,
            timeout=timeout,
            http_client=http_client,
            clock=clock,
        )
