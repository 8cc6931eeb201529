"""Slack (Sign in with Slack, OpenID Connect)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from lucia_oauth._errors import LuciaOAuthRequestError
from lucia_oauth._options import TokenEndpointAuthMethod
from lucia_oauth._session import OAuth2Tokens, ProviderUser
from lucia_oauth.providers._base import HostedOIDCProvider, user_object

__all__ = ["Slack"]


class Slack(HostedOIDCProvider):
    """Sign in with Slack (https://api.slack.com/authentication/sign-in-with-slack).

    - Scopes: default ``["openid", "profile", "email"]``.
    - Token endpoint authentication: ``client_secret_post``. PKCE: no. Refresh: no (Sign in
      with Slack issues no refresh tokens). The flow's ``nonce`` must be passed to
      ``validate_callback``.
    - Slack answers failures with HTTP 200 and ``{"ok": false, "error": ...}``: they raise
      :class:`~lucia_oauth.LuciaOAuthRequestError` like any other refusal.
    - ``provider_user_id``: ``sub`` (the Slack user id, unique within its workspace; the
      workspace is ``provider_user["https://slack.com/team_id"]``).
    - ``provider_user``: the verified id_token claims updated with
      ``openid.connect.userInfo`` (``sub``, ``email``, ``email_verified``, ``name``,
      ``picture``, ``https://slack.com/team_id``, ``https://slack.com/team_name``...).

    Option: ``issuer`` (``https://slack.com``).
    """

    provider_id = "slack"
    issuer = "https://slack.com"
    supports_pkce: ClassVar[bool] = False
    supports_refresh: ClassVar[bool] = False
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_post"

    async def fetch_json(self, url: str, **options: Any) -> Any:
        """A back-channel request; Slack's ``{"ok": false}`` answers raise like an HTTP error."""
        body = await super().fetch_json(url, **options)
        if isinstance(body, Mapping) and body.get("ok") is False:
            raise LuciaOAuthRequestError(200, body)
        return body

    async def get_provider_user(self, tokens: OAuth2Tokens, *, claims: Mapping[str, Any] | None) -> ProviderUser:
        """The verified claims and userinfo, without Slack's ``ok`` envelope member."""
        user = await super().get_provider_user(tokens, claims=claims)
        data = {k: v for k, v in user_object(user.data, "userinfo").items() if k != "ok"}
        return ProviderUser(
            provider_user_id=user.provider_user_id, data=data, email=user.email, email_verified=user.email_verified
        )
