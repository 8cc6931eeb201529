"""Discord."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lucia_oauth._provider import optional_str
from lucia_oauth.providers._base import Endpoints, HostedProvider

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
    endpoints = Endpoints("https://discord.com", "/oauth2/authorize", "/api/oauth2/token", "/api/users/@me")
    default_scopes = ("identify", "email")
    supports_pkce = True
    token_endpoint_auth_method = "client_secret_basic"

    def email_of(self, user: Mapping[str, Any]) -> tuple[str | None, bool]:
        """``email``, verified when Discord's ``verified`` is true."""
        return optional_str(user, "email"), user.get("verified") is True
