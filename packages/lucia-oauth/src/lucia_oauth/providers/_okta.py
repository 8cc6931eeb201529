"""Okta (OpenID Connect)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

from lucia_oauth._options import IdTokenOptions, TokenEndpointAuthMethod, base_url_of, configured_by
from lucia_oauth.providers._base import HostedOIDCProvider

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = ["Okta", "OktaOptions"]


@dataclass(frozen=True, kw_only=True)
class OktaOptions(IdTokenOptions):
    """The options of :class:`Okta`.

    Attributes:
        domain: Your Okta domain (``dev-123456.okta.com``), or a base URL with its scheme.
        authorization_server_id: The custom authorization server, or ``None`` for the org one.
    """

    domain: str
    authorization_server_id: str | None = "default"


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

    Options (:class:`OktaOptions`): ``domain``, ``authorization_server_id`` and the other
    :class:`~lucia_oauth.ClientOptions`.
    """

    provider_id = "okta"
    supports_pkce: ClassVar[bool] = True
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_basic"

    @configured_by(OktaOptions)
    def __init__(self, auth: Lucia, options: OktaOptions) -> None:
        issuer = base_url_of(options.domain, "domain")
        if options.authorization_server_id is not None:
            issuer += f"/oauth2/{quote(options.authorization_server_id, safe='')}"
        self._configure_oidc(auth, options, issuer=issuer)
