"""Discord."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from lucia_oauth._options import TokenEndpointAuthMethod
from lucia_oauth._provider import optional_str, require_str
from lucia_oauth._session import OAuth2Tokens, ProviderUser
from lucia_oauth.providers._base import HostedProvider, user_object

__all__ = ["Discord"]


class Discord(HostedProvider):
    """Sign in with Discord (https://discord.com/developers/docs/topics/oauth2).

    - Scopes: default ``["identify", "email"]``.
    - Token endpoint authentication: ``client_secret_basic``. PKCE: S256 (Discord refuses
      PKCE with the ``role_connections.write`` scope: pass ``pkce=False`` for it). Refresh: yes.
    - ``provider_user_id``: the snowflake ``id``.
    - ``provider_user``: the ``GET /users/@me`` user object (``id``, ``username``,
      ``global_name``, ``avatar``, ``email`` and ``verified`` with the ``email`` scope...).
      ``email_verified`` is Discord's ``verified``.

    Option: ``base_url`` (``https://discord.com``).
    """

    provider_id = "discord"
    default_base_url: ClassVar[str] = "https://discord.com"
    authorization_path: ClassVar[str] = "/oauth2/authorize"
    token_path: ClassVar[str] = "/api/oauth2/token"
    userinfo_path: ClassVar[str] = "/api/users/@me"
    default_scopes: ClassVar[tuple[str, ...]] = ("identify", "email")
    supports_pkce: ClassVar[bool] = True
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_basic"

    async def get_provider_user(self, tokens: OAuth2Tokens, *, claims: Mapping[str, Any] | None) -> ProviderUser:
        """``GET /users/@me``."""
        user = user_object(
            await self.fetch_json(self.api_url(self.userinfo_path), access_token=tokens.access_token), "user"
        )
        email = optional_str(user, "email")
        return ProviderUser(
            provider_user_id=require_str(user, "id"),
            data=user,
            email=email,
            email_verified=email is not None and user.get("verified") is True,
        )
