"""Spotify."""

from __future__ import annotations

from lucia_oauth.providers._base import Endpoints, HostedProvider

__all__ = ["Spotify"]


class Spotify(HostedProvider):
    """Sign in with Spotify (https://developer.spotify.com/documentation/web-api/tutorials/code-flow).

    - Scopes: default ``["user-read-email"]``.
    - Token endpoint authentication: ``client_secret_basic``. PKCE: S256. Refresh: yes (the
      old refresh token stays valid when Spotify issues no new one).
    - ``provider_user_id``: the Spotify user ``id``.
    - ``provider_user``: ``GET /v1/me`` (``id``, ``display_name``, ``email``, ``images``,
      ``country``, ``product``...). Spotify documents ``email`` as unverified:
      ``email_verified`` is false.

    Options: ``base_url`` (``https://accounts.spotify.com``) and ``api_base_url`` (``https://api.spotify.com``).
    """

    provider_id = "spotify"
    endpoints = Endpoints(
        "https://accounts.spotify.com", "/authorize", "/api/token", "/v1/me", api_base_url="https://api.spotify.com"
    )
    default_scopes = ("user-read-email",)
    supports_pkce = True
    token_endpoint_auth_method = "client_secret_basic"
