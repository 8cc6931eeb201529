"""Keycloak (OpenID Connect)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

import httpx

from lucia_oauth._errors import LuciaOAuthError
from lucia_oauth._provider import TokenEndpointAuthMethod
from lucia_oauth.providers._base import HostedOIDCProvider, base_url_of

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = ["Keycloak"]


class Keycloak(HostedOIDCProvider):
    """Sign in with Keycloak (https://www.keycloak.org/docs/latest/securing_apps/#_oidc).

    - Scopes: default ``["openid", "profile", "email"]``.
    - Token endpoint authentication: ``client_secret_basic`` (a confidential client with
      "Client Id and Secret"). PKCE: S256. Refresh: yes.
    - The id_token is verified by :class:`~lucia_oauth.OIDCProvider`; the issuer is
      ``{base_url}/realms/{realm}``.
    - ``provider_user_id``: ``sub`` (the Keycloak user id).
    - ``provider_user``: the verified id_token claims updated with the realm's userinfo
      (``sub``, ``preferred_username``, ``email``, ``email_verified``, ``name``...).

    Args:
        auth: The :class:`~lucia.Lucia` instance.
        base_url: Where Keycloak is served (``https://sso.example.com``; add ``/auth`` for
            Keycloak 16 and older).
        realm: The realm name.
        client_id: The client id.
        client_secret: The client secret.
        redirect_uri: The callback URL, exactly as registered.
        scope: Scopes to request; ``openid`` is always sent.
        provider_id: The provider id in Lucia keys (default ``"keycloak"``).
        authorization_params: Extra fixed parameters of the authorization request.
        timeout: Seconds for each back-channel request.
        http_client: An ``httpx.AsyncClient`` to reuse (redirects are still never followed).
        clock: Seconds since the epoch, injectable for tests.
    """

    provider_id = "keycloak"
    supports_pkce: ClassVar[bool] = True
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_basic"

    def __init__(
        self,
        auth: Lucia,
        *,
        base_url: str,
        realm: str,
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
        if not isinstance(realm, str) or not realm:
            raise LuciaOAuthError("OAUTH_CONFIGURATION", "realm must be a non-empty string")
        super().__init__(
            auth,
            issuer=f"{base_url_of(base_url, 'base_url')}/realms/{quote(realm, safe='')}",
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
