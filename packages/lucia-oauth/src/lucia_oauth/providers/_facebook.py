"""Facebook Login."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from lucia_oauth._options import TokenEndpointAuthMethod
from lucia_oauth._provider import optional_str, require_str
from lucia_oauth._session import OAuth2Tokens, ProviderUser
from lucia_oauth.providers._base import HostedProvider, user_object

__all__ = ["Facebook"]

#: The Graph API version of every endpoint.
GRAPH_API_VERSION = "v22.0"


class Facebook(HostedProvider):
    """Sign in with Facebook (https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow).

    - Scopes: default ``["public_profile", "email"]`` (sent comma-separated).
    - Token endpoint authentication: ``client_secret_post`` (a POST body, never the query
      string the manual-flow guide shows). PKCE: no. Refresh: no (Facebook has no refresh
      tokens; it exchanges long-lived tokens instead).
    - ``provider_user_id``: the app-scoped ``id``.
    - ``provider_user``: ``GET /me?fields=id,name,email`` of the Graph API (``email`` only
      with the ``email`` permission). Facebook does not say the email is verified:
      ``email_verified`` is false.

    Options: ``base_url`` (``https://www.facebook.com``, the login dialog) and
    ``api_base_url`` (``https://graph.facebook.com``). Graph API version: ``v22.0``.
    """

    provider_id = "facebook"
    default_base_url: ClassVar[str] = "https://www.facebook.com"
    default_api_base_url: ClassVar[str | None] = "https://graph.facebook.com"
    authorization_path: ClassVar[str] = f"/{GRAPH_API_VERSION}/dialog/oauth"
    token_path: ClassVar[str] = f"/{GRAPH_API_VERSION}/oauth/access_token"
    token_on_api_host: ClassVar[bool] = True  # graph.facebook.com, the dialog is on www.facebook.com
    userinfo_path: ClassVar[str] = f"/{GRAPH_API_VERSION}/me"
    default_scopes: ClassVar[tuple[str, ...]] = ("public_profile", "email")
    scope_separator: ClassVar[str] = ","
    supports_pkce: ClassVar[bool] = False
    supports_refresh: ClassVar[bool] = False
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_post"

    async def get_provider_user(self, tokens: OAuth2Tokens, *, claims: Mapping[str, Any] | None) -> ProviderUser:
        """``GET /me?fields=id,name,email``."""
        user = user_object(
            await self.fetch_json(
                self.api_url(self.userinfo_path), access_token=tokens.access_token, params={"fields": "id,name,email"}
            ),
            "user",
        )
        return ProviderUser(provider_user_id=require_str(user, "id"), data=user, email=optional_str(user, "email"))
