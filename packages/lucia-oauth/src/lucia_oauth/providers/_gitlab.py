"""GitLab (gitlab.com or self-managed)."""

from __future__ import annotations

from lucia_oauth.providers._base import Endpoints, HostedProvider

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
    endpoints = Endpoints("https://gitlab.com", "/oauth/authorize", "/oauth/token", "/api/v4/user")
    default_scopes = ("read_user",)
    supports_pkce = True
    token_endpoint_auth_method = "client_secret_post"
