"""Patreon."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from lucia_oauth._options import TokenEndpointAuthMethod
from lucia_oauth._provider import optional_str, require_str
from lucia_oauth._session import OAuth2Tokens, ProviderUser
from lucia_oauth.providers._base import HostedProvider, user_object

__all__ = ["Patreon"]

_USER_FIELDS = "email,full_name,image_url,is_email_verified,vanity"


class Patreon(HostedProvider):
    """Sign in with Patreon (https://docs.patreon.com/#oauth).

    - Scopes: default ``["identity", "identity[email]"]``.
    - Token endpoint authentication: ``client_secret_post``. PKCE: no. Refresh: yes (sent
      in the POST body, not the query string the documentation shows).
    - ``provider_user_id``: the user resource ``id``.
    - ``provider_user``: the JSON:API ``data`` resource of ``GET /api/oauth2/v2/identity``
      with ``fields[user]=email,full_name,image_url,is_email_verified,vanity``:
      ``{"id", "type": "user", "attributes": {...}}``. ``email_verified`` is Patreon's
      ``is_email_verified``.

    Option: ``base_url`` (``https://www.patreon.com``).
    """

    provider_id = "patreon"
    default_base_url: ClassVar[str] = "https://www.patreon.com"
    authorization_path: ClassVar[str] = "/oauth2/authorize"
    token_path: ClassVar[str] = "/api/oauth2/token"
    userinfo_path: ClassVar[str] = "/api/oauth2/v2/identity"
    default_scopes: ClassVar[tuple[str, ...]] = ("identity", "identity[email]")
    supports_pkce: ClassVar[bool] = False
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_post"

    async def get_provider_user(self, tokens: OAuth2Tokens, *, claims: Mapping[str, Any] | None) -> ProviderUser:
        """``GET /api/oauth2/v2/identity`` with the user fields above."""
        answer = user_object(
            await self.fetch_json(
                self.api_url(self.userinfo_path),
                access_token=tokens.access_token,
                params={"fields[user]": _USER_FIELDS},
            ),
            "identity",
        )
        resource = user_object(answer.get("data"), "identity 'data'")
        attributes = resource.get("attributes")
        attributes = attributes if isinstance(attributes, Mapping) else {}
        email = optional_str(attributes, "email")
        return ProviderUser(
            provider_user_id=require_str(resource, "id"),
            data=resource,
            email=email,
            email_verified=email is not None and attributes.get("is_email_verified") is True,
        )
