"""LinkedIn (Sign In with LinkedIn using OpenID Connect)."""

from __future__ import annotations

from typing import ClassVar

from lucia_oauth._options import TokenEndpointAuthMethod
from lucia_oauth.providers._base import HostedOIDCProvider

__all__ = ["LinkedIn"]


class LinkedIn(HostedOIDCProvider):
    """Sign in with LinkedIn (https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2).

    - Scopes: default ``["openid", "profile", "email"]``.
    - Token endpoint authentication: ``client_secret_post``. PKCE: no (LinkedIn offers it to
      native apps only). Refresh: only for apps LinkedIn approved for programmatic refresh tokens.
    - The id_token is verified by :class:`~lucia_oauth.OIDCProvider` (issuer
      ``https://www.linkedin.com/oauth``); the flow's ``nonce`` must be passed to
      ``validate_callback`` (there is no PKCE verifier to derive it from).
    - ``provider_user_id``: ``sub``.
    - ``provider_user``: the verified id_token claims updated with the userinfo answer
      (``sub``, ``name``, ``given_name``, ``family_name``, ``picture``, ``locale``, ``email``,
      ``email_verified``).

    Option: ``issuer`` (``https://www.linkedin.com/oauth``).
    """

    provider_id = "linkedin"
    issuer = "https://www.linkedin.com/oauth"
    supports_pkce: ClassVar[bool] = False
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_post"
