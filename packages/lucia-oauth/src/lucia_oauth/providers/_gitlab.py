"""GitLab (gitlab.com or self-managed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from lucia_oauth._options import TokenEndpointAuthMethod
from lucia_oauth._provider import optional_str, require_str
from lucia_oauth._session import OAuth2Tokens, ProviderUser
from lucia_oauth.providers._base import HostedProvider, user_object

__all__ = ["GitLab"]


class GitLab(HostedProvider):
    """Sign in with GitLab (https://docs.gitlab.com/api/oauth2/).

    - Scopes: default ``["read_user"]``.
    - Token endpoint authentication: ``client_secret_post``. PKCE: S256. Refresh: yes.
    - ``provider_user_id``: the numeric ``id`` (as a string).
    - ``provider_user``: the ``GET /api/v4/user`` object (``id``, ``username``, ``name``,
      ``email``, ``avatar_url``, ``web_url``...). GitLab's REST API does not say whether
      ``email`` is verified, so ``email_verified`` is false (use :class:`~lucia_oauth.OIDCProvider`
      with GitLab as issuer if you need the ``email_verified`` claim).

    Option: ``base_url`` (``https://gitlab.com``, or your self-managed instance).
    """

    provider_id = "gitlab"
    default_base_url: ClassVar[str] = "https://gitlab.com"
    authorization_path: ClassVar[str] = "/oauth/authorize"
    token_path: ClassVar[str] = "/oauth/token"
    userinfo_path: ClassVar[str] = "/api/v4/user"
    default_scopes: ClassVar[tuple[str, ...]] = ("read_user",)
    supports_pkce: ClassVar[bool] = True
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_post"

    async def get_provider_user(self, tokens: OAuth2Tokens, *, claims: Mapping[str, Any] | None) -> ProviderUser:
        """``GET /api/v4/user``."""
        user = user_object(
            await self.fetch_json(self.api_url(self.userinfo_path), access_token=tokens.access_token), "user"
        )
        return ProviderUser(provider_user_id=require_str(user, "id"), data=user, email=optional_str(user, "email"))
