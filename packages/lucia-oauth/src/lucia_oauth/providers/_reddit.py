"""Reddit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lucia_oauth.providers._base import Endpoints, HostedProvider

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
    endpoints = Endpoints(
        "https://www.reddit.com",
        "/api/v1/authorize",
        "/api/v1/access_token",
        "/api/v1/me",
        api_base_url="https://oauth.reddit.com",
    )
    default_scopes = ("identity",)
    supports_pkce = False
    token_endpoint_auth_method = "client_secret_basic"

    def extra_authorization_params(self) -> Mapping[str, str]:
        """``duration=permanent`` (a refresh token), then the application's own parameters."""
        return {"duration": "permanent", **super().extra_authorization_params()}

    def email_of(self, user: Mapping[str, Any]) -> tuple[str | None, bool]:
        """None: Reddit gives no email."""
        return None, False
