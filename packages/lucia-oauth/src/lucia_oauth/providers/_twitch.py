"""Twitch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lucia_oauth._errors import LuciaOAuthResponseError
from lucia_oauth._provider import optional_str
from lucia_oauth.providers._base import Endpoints, HostedProvider

__all__ = ["Twitch"]


class Twitch(HostedProvider):
    """Sign in with Twitch (https://dev.twitch.tv/docs/authentication/getting-tokens-oauth/).

    - Scopes: default ``["user:read:email"]``.
    - Token endpoint authentication: ``client_secret_post``. PKCE: no. Refresh: yes.
      Twitch answers ``scope`` as a JSON list; :attr:`OAuth2Tokens.scope` holds it.
    - ``provider_user_id``: the user ``id``.
    - ``provider_user``: the first element of ``data`` of ``GET /helix/users`` (``id``,
      ``login``, ``display_name``, ``profile_image_url``, ``email``...), called with the
      ``Client-Id`` header Twitch requires. Twitch documents ``email`` as the user's verified
      address (present with ``user:read:email``), so ``email_verified`` is true when present.

    Options: ``base_url`` (``https://id.twitch.tv``) and ``api_base_url`` (``https://api.twitch.tv``).
    """

    provider_id = "twitch"
    endpoints = Endpoints(
        "https://id.twitch.tv",
        "/oauth2/authorize",
        "/oauth2/token",
        "/helix/users",
        api_base_url="https://api.twitch.tv",
    )
    default_scopes = ("user:read:email",)
    supports_pkce = False
    token_endpoint_auth_method = "client_secret_post"

    def userinfo_headers(self) -> Mapping[str, str]:
        """The ``Client-Id`` header Twitch requires (``GET /helix/users`` without parameters: the signed-in user)."""
        return {"Client-Id": self.client_id}

    def user_resource(self, answer: Mapping[str, Any]) -> Mapping[str, Any]:
        """The one element of ``data``."""
        users = answer.get("data")
        if not isinstance(users, list) or len(users) != 1 or not isinstance(users[0], Mapping):
            raise LuciaOAuthResponseError(None, "the users answer does not hold exactly one user")
        user: Mapping[str, Any] = users[0]
        return user

    def email_of(self, user: Mapping[str, Any]) -> tuple[str | None, bool]:
        """``email``: Twitch documents it as verified."""
        return optional_str(user, "email"), True
