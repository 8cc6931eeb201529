"""Reddit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from lucia_oauth._options import TokenEndpointAuthMethod
from lucia_oauth._provider import require_str
from lucia_oauth._session import OAuth2Tokens, ProviderUser
from lucia_oauth.providers._base import HostedProvider, user_object

__all__ = ["Reddit"]


class Reddit(HostedProvider):
    """Sign in with Reddit (https://github.com/reddit-archive/reddit/wiki/OAuth2).

    - Scopes: default ``["identity"]``.
    - Token endpoint authentication: ``client_secret_basic``. PKCE: no. Refresh: yes: the
      authorization request asks ``duration=permanent``, the only way Reddit issues one.
    - ``provider_user_id``: the account ``id`` (base 36, without the ``t2_`` prefix).
    - ``provider_user``: ``GET /api/v1/me`` of ``oauth.reddit.com`` (``id``, ``name``,
      ``icon_img``, ``created_utc``...). Reddit gives no email.

    Reddit asks every client for a descriptive User-Agent; set yours on a subclass:
    ``class MyReddit(Reddit): request_headers = {"User-Agent": "web:app-id:1.0 (by /u/you)"}``.

    Options: ``base_url`` (``https://www.reddit.com``) and ``api_base_url`` (``https://oauth.reddit.com``).
    """

    provider_id = "reddit"
    default_base_url: ClassVar[str] = "https://www.reddit.com"
    default_api_base_url: ClassVar[str | None] = "https://oauth.reddit.com"
    authorization_path: ClassVar[str] = "/api/v1/authorize"
    token_path: ClassVar[str] = "/api/v1/access_token"
    userinfo_path: ClassVar[str] = "/api/v1/me"
    default_scopes: ClassVar[tuple[str, ...]] = ("identity",)
    supports_pkce: ClassVar[bool] = False
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_basic"

    def extra_authorization_params(self) -> Mapping[str, str]:
        """``duration=permanent`` (a refresh token), then the application's own parameters."""
        return {"duration": "permanent", **super().extra_authorization_params()}

    async def get_provider_user(self, tokens: OAuth2Tokens, *, claims: Mapping[str, Any] | None) -> ProviderUser:
        """``GET /api/v1/me``."""
        user = user_object(
            await self.fetch_json(self.api_url(self.userinfo_path), access_token=tokens.access_token), "user"
        )
        return ProviderUser(provider_user_id=require_str(user, "id"), data=user)
