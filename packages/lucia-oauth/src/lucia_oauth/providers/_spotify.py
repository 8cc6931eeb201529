"""Spotify."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from lucia_oauth._options import TokenEndpointAuthMethod
from lucia_oauth._provider import optional_str, require_str
from lucia_oauth._session import OAuth2Tokens, ProviderUser
from lucia_oauth.providers._base import HostedProvider, user_object

__all__ = ["Spotify"]


class Spotify(HostedProvider):
    """Sign in with Spotify (https://developer.spotify.com/documentation/web-api/tutorials/code-flow).

    - Scopes: default ``["user-read-email"]``.
    - Token endpoint authentication: ``client_secret_basic``. PKCE: S256. Refresh: yes (the
      old refresh token stays valid when Spotify issues no new one).
    - ``provider_user_id``: the Spotify user ``id``.
    - ``provider_user``: ``GET /v1/me`` (``id``, ``display_name``, ``email``, ``images``,
      ``country``, ``product``...). Spotify documents ``email`` as unverified:
      ``email_verified`` is false.

    Options: ``base_url`` (``https://accounts.spotify.com``) and ``api_base_url`` (``https://api.spotify.com``).
    """

    provider_id = "spotify"
    default_base_url: ClassVar[str] = "https://accounts.spotify.com"
    default_api_base_url: ClassVar[str | None] = "https://api.spotify.com"
    authorization_path: ClassVar[str] = "/authorize"
    token_path: ClassVar[str] = "/api/token"
    userinfo_path: ClassVar[str] = "/v1/me"
    default_scopes: ClassVar[tuple[str, ...]] = ("user-read-email",)
    supports_pkce: ClassVar[bool] = True
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_basic"

    async def get_provider_user(self, tokens: OAuth2Tokens, *, claims: Mapping[str, Any] | None) -> ProviderUser:
        """``GET /v1/me``."""
        user = user_object(
            await self.fetch_json(self.api_url(self.userinfo_path), access_token=tokens.access_token), "user"
        )
        return ProviderUser(provider_user_id=require_str(user, "id"), data=user, email=optional_str(user, "email"))
