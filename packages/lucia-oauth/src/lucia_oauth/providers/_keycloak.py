"""Keycloak (OpenID Connect)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

from lucia_oauth._errors import LuciaOAuthConfigurationError
from lucia_oauth._options import IdTokenOptions, TokenEndpointAuthMethod, base_url_of, configured_by
from lucia_oauth.providers._base import HostedOIDCProvider

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = ["Keycloak", "KeycloakOptions"]


@dataclass(frozen=True, kw_only=True)
class KeycloakOptions(IdTokenOptions):
    """The options of :class:`Keycloak`.

    Attributes:
        base_url: Where Keycloak is served (``https://sso.example.com``; add ``/auth`` for
            Keycloak 16 and older).
        realm: The realm name.
    """

    base_url: str
    realm: str

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.realm, str) or not self.realm:
            raise LuciaOAuthConfigurationError(None, "realm must be a non-empty string")


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

    Options (:class:`KeycloakOptions`): ``base_url``, ``realm`` and the other
    :class:`~lucia_oauth.ClientOptions`.
    """

    provider_id = "keycloak"
    supports_pkce: ClassVar[bool] = True
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_basic"

    @configured_by(KeycloakOptions)
    def __init__(self, auth: Lucia, options: KeycloakOptions) -> None:
        base = base_url_of(options.base_url, "base_url")
        self._configure_oidc(auth, options, issuer=f"{base}/realms/{quote(options.realm, safe='')}")
