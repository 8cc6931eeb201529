"""GitHub (OAuth apps and GitHub Apps)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lucia_oauth._provider import optional_str
from lucia_oauth._session import OAuth2Tokens, ProviderUser
from lucia_oauth.providers._base import Endpoints, HostedProvider

__all__ = ["GitHub"]

_API = "https://api.github.com"
_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


class GitHub(HostedProvider):
    """Sign in with GitHub (https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps).

    - Scopes: default ``["read:user", "user:email"]``.
    - Token endpoint authentication: ``client_secret_post``. PKCE: S256.
    - Refresh: GitHub Apps with expiring user tokens issue refresh tokens; OAuth apps do not.
    - ``provider_user_id``: the numeric ``id`` (as a string), never the login, which can change.
    - ``provider_user``: the ``GET /user`` object plus ``primary_email``: the verified primary
      address from ``GET /user/emails`` (``None`` without the ``user:email`` scope or when
      the primary address is unverified). ``email`` is that address, ``email_verified`` true.

    Options: ``base_url`` (``https://github.com``; GitHub Enterprise Server: your host) and
    ``api_base_url`` (``https://api.github.com``; Enterprise Server: ``https://HOST/api/v3``).
    """

    provider_id = "github"
    endpoints = Endpoints(
        "https://github.com", "/login/oauth/authorize", "/login/oauth/access_token", "/user", api_base_url=_API
    )
    default_scopes = ("read:user", "user:email")
    supports_pkce = True
    token_endpoint_auth_method = "client_secret_post"

    def userinfo_headers(self) -> Mapping[str, str]:
        """The media type and API version GitHub asks for."""
        return _HEADERS

    async def get_provider_user(self, tokens: OAuth2Tokens, *, claims: Mapping[str, Any] | None) -> ProviderUser:
        """``GET /user``, then the verified primary email from ``GET /user/emails``."""
        user = await super().get_provider_user(tokens, claims=claims)
        primary_email: str | None = None
        if _may_read_emails(tokens.scope or self.scope):
            emails = await self.fetch_json(
                self.api_url("/user/emails"), access_token=tokens.access_token, headers=_HEADERS
            )
            primary_email = _verified_primary(emails)
        return ProviderUser(
            provider_user_id=user.provider_user_id,
            data={**user.data, "primary_email": primary_email},
            email=primary_email,
            email_verified=primary_email is not None,
        )


def _may_read_emails(scopes: tuple[str, ...]) -> bool:
    return "user:email" in scopes or "user" in scopes


def _verified_primary(emails: object) -> str | None:
    if not isinstance(emails, list):
        return None
    for entry in emails:
        if isinstance(entry, Mapping) and entry.get("primary") is True and entry.get("verified") is True:
            return optional_str(entry, "email")
    return None
