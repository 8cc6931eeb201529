"""Twitch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from lucia_oauth._errors import LuciaOAuthResponseError
from lucia_oauth._options import TokenEndpointAuthMethod
from lucia_oauth._provider import optional_str, require_str
from lucia_oauth._session import OAuth2Tokens, ProviderUser
from lucia_oauth.providers._base import HostedProvider, user_object

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
    default_base_url: ClassVar[str] = "https://id.twitch.tv"
    default_api_base_url: ClassVar[str | None] = "https://api.twitch.tv"
    authorization_path: ClassVar[str] = "/oauth2/authorize"
    token_path: ClassVar[str] = "/oauth2/token"
    userinfo_path: ClassVar[str] = "/helix/users"
    default_scopes: ClassVar[tuple[str, ...]] = ("user:read:email",)
    supports_pkce: ClassVar[bool] = False
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_post"

    async def get_provider_user(self, tokens: OAuth2Tokens, *, claims: Mapping[str, Any] | None) -> ProviderUser:
        """``GET /helix/users`` (the signed-in user when called without parameters)."""
        answer = user_object(
            await self.fetch_json(
                self.api_url(self.userinfo_path),
                access_token=tokens.access_token,
                headers={"Client-Id": self.client_id},
            ),
            "users",
        )
        users = answer.get("data")
        if not isinstance(users, list) or len(users) != 1 or not isinstance(users[0], Mapping):
            raise LuciaOAuthResponseError(None, "the users answer does not hold exactly one user")
        user: Mapping[str, Any] = users[0]
        email = optional_str(user, "email")
        return ProviderUser(
            provider_user_id=require_str(user, "id"), data=user, email=email, email_verified=email is not None
        )
