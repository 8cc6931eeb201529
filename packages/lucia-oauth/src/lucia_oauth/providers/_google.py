"""Google (OpenID Connect)."""

from __future__ import annotations

from typing import ClassVar

from lucia_oauth._options import TokenEndpointAuthMethod
from lucia_oauth.providers._base import HostedOIDCProvider

__all__ = ["Google"]

_ISSUER = "https://accounts.google.com"


class Google(HostedOIDCProvider):
    """Sign in with Google (https://developers.google.com/identity/openid-connect/openid-connect).

    - Scopes: default ``["openid", "profile", "email"]``. For a refresh token pass
      ``authorization_params={"access_type": "offline", "prompt": "consent"}``.
    - Token endpoint authentication: ``client_secret_post``. PKCE: S256. Refresh: yes.
    - The id_token is verified by :class:`~lucia_oauth.OIDCProvider` against Google's JWKS;
      Google writes ``iss`` as ``https://accounts.google.com`` or ``accounts.google.com``,
      both are accepted (and nothing else).
    - ``provider_user_id``: ``sub``.
    - ``provider_user``: the verified id_token claims updated with the userinfo answer
      (``sub``, ``email``, ``email_verified``, ``name``, ``picture``, ``given_name``...).

    Option: ``issuer`` (``https://accounts.google.com``).
    """

    provider_id = "google"
    issuer = _ISSUER
    supports_pkce: ClassVar[bool] = True
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_post"

    def is_valid_issuer(self, iss: str) -> bool:
        """The configured issuer, or Google's documented scheme-less spelling of it."""
        if self.issuer == _ISSUER and iss == "accounts.google.com":
            return True
        return super().is_valid_issuer(iss)
