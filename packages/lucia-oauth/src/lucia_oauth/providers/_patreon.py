"""Patreon."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from lucia_oauth._provider import optional_str
from lucia_oauth.providers._base import Endpoints, HostedProvider, user_object

__all__ = ["Patreon"]


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
    endpoints = Endpoints(
        "https://www.patreon.com", "/oauth2/authorize", "/api/oauth2/token", "/api/oauth2/v2/identity"
    )
    userinfo_params: ClassVar[Mapping[str, str]] = {
        "fields[user]": "email,full_name,image_url,is_email_verified,vanity"
    }
    default_scopes = ("identity", "identity[email]")
    supports_pkce = False
    token_endpoint_auth_method = "client_secret_post"

    def user_resource(self, answer: Mapping[str, Any]) -> Mapping[str, Any]:
        """The JSON:API ``data`` resource."""
        return user_object(answer.get("data"), "identity 'data'")

    def email_of(self, user: Mapping[str, Any]) -> tuple[str | None, bool]:
        """``attributes.email``, verified when ``attributes.is_email_verified`` is true."""
        attributes = user.get("attributes")
        attributes = attributes if isinstance(attributes, Mapping) else {}
        return optional_str(attributes, "email"), attributes.get("is_email_verified") is True
