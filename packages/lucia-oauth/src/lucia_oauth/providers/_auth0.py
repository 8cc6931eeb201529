"""Auth0 (OpenID Connect)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

import httpx

from lucia_oauth._provider import TokenEndpointAuthMethod
from lucia_oauth.providers._base import HostedOIDCProvider, base_url_of

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = ["Auth0"]


class Auth0(HostedOIDCProvider):
    """Sign in with Auth0 (https://auth0.com/docs/get-started/authentication-and-authorization-flow).

    - Scopes: default ``["openid", "profile", "email"]``; add ``"offline_access"`` for a refresh token.
    - Token endpoint authentication: ``client_secret_post`` (Auth0's default for regular web
      apps). PKCE: S256. Refresh: yes.
    - The id_token is verified by :class:`~lucia_oauth.OIDCProvider`; the issuer is
      ``https://{domain}/`` (with its trailing slash, as Auth0 writes it).
    - ``provider_user_id``: ``sub`` (``auth0|...``, ``google-oauth2|...``).
    - ``provider_user``: the verified id_token claims updated with ``/userinfo``.

    Args:
        auth: The :class:`~lucia.Lucia` instance.
        domain: Your tenant's domain (``dev-abc123.us.auth0.com``) or custom domain, or a
            base URL with its scheme.
        client_id: The application's client id.
        client_secret: The application's client secret.
        redirect_uri: The callback URL, exactly as registered.
        scope: Scopes to request; ``openid`` is always sent.
        provider_id: The provider id in Lucia keys (default ``"auth0"``).
        authorization_params: Extra fixed parameters (``{"audience": "https://api.example"}``).
        timeout: Seconds for each back-channel request.
        http_client: An ``httpx.AsyncClient`` to reuse (redirects are still never followed).
        clock: Seconds since the epoch, injectable for tests.
    """

    provider_id = "auth0"
    supports_pkce: ClassVar[bool] = True
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_post"

    def __init__(
        self,
        auth: Lucia,
        *,
        domain: str,
        client_id: str,
        client_secret: str | None,
        redirect_uri: str,
        scope: Sequence[str] | None = None,
        provider_id: str | None = None,
        authorization_params: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            auth,
            issuer=base_url_of(domain, "domain") + "/",
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
