"""Auth0 (OpenID Connect)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from lucia_oauth._options import IdTokenOptions, TokenEndpointAuthMethod, base_url_of, configured_by
from lucia_oauth.providers._base import HostedOIDCProvider

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = ["Auth0", "Auth0Options"]


@dataclass(frozen=True, kw_only=True)
class Auth0Options(IdTokenOptions):
    """The options of :class:`Auth0`.

    Attributes:
        domain: Your tenant's domain (``dev-abc123.us.auth0.com``) or custom domain, or a
            base URL with its scheme.
    """

    domain: str


class Auth0(HostedOIDCProvider):
    """Sign in with Auth0 (https://auth0.com/docs/get-started/authentication-and-authorization-flow).

    - Scopes: default ``["openid", "profile", "email"]``; add ``"offline_access"`` for a refresh token.
    - Token endpoint authentication: ``client_secret_post`` (Auth0's default for regular web
      apps). PKCE: S256. Refresh: yes.
    - The id_token is verified by :class:`~lucia_oauth.OIDCProvider`; the issuer is
      ``https://{domain}/`` (with its trailing slash, as Auth0 writes it).
    - ``provider_user_id``: ``sub`` (``auth0|...``, ``google-oauth2|...``).
    - ``provider_user``: the verified id_token claims updated with ``/userinfo``.

    Options (:class:`Auth0Options`): ``domain``, ``authorization_params``
    (``{"audience": "https://api.example"}``) and the other :class:`~lucia_oauth.ClientOptions`.
    """

    provider_id = "auth0"
    supports_pkce: ClassVar[bool] = True
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_post"

    @configured_by(Auth0Options)
    def __init__(self, auth: Lucia, options: Auth0Options) -> None:
        self._configure_oidc(auth, options, issuer=base_url_of(options.domain, "domain") + "/")
