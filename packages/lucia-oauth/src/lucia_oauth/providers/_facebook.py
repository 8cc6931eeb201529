"""Facebook Login."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from lucia_oauth.providers._base import Endpoints, HostedProvider

__all__ = ["Facebook"]

#: The Graph API version of every endpoint.
GRAPH_API_VERSION = "v22.0"


class Facebook(HostedProvider):
    """Sign in with Facebook (https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow).

    - Scopes: default ``["public_profile", "email"]`` (sent comma-separated).
    - Token endpoint authentication: ``client_secret_post`` (a POST body, never the query
      string the manual-flow guide shows). PKCE: no. Refresh: no (Facebook has no refresh
      tokens; it exchanges long-lived tokens instead).
    - ``provider_user_id``: the app-scoped ``id``.
    - ``provider_user``: ``GET /me?fields=id,name,email`` of the Graph API (``email`` only
      with the ``email`` permission). Facebook does not say the email is verified:
      ``email_verified`` is false.

    Options: ``base_url`` (``https://www.facebook.com``, the login dialog) and
    ``api_base_url`` (``https://graph.facebook.com``). Graph API version: ``v22.0``.
    """

    provider_id = "facebook"
    endpoints = Endpoints(
        "https://www.facebook.com",
        f"/{GRAPH_API_VERSION}/dialog/oauth",
        f"/{GRAPH_API_VERSION}/oauth/access_token",
        f"/{GRAPH_API_VERSION}/me",
        api_base_url="https://graph.facebook.com",
        token_on_api_host=True,  # graph.facebook.com, the dialog is on www.facebook.com
    )
    userinfo_params: ClassVar[Mapping[str, str]] = {"fields": "id,name,email"}
    default_scopes = ("public_profile", "email")
    scope_separator = ","
    supports_pkce = False
    supports_refresh = False
    token_endpoint_auth_method = "client_secret_post"
