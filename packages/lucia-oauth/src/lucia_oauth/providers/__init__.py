"""The named providers: each knows its endpoints, scopes and quirks.

::

    from lucia_oauth.providers import GitHub

    github = GitHub(auth, client_id="...", client_secret="...", redirect_uri="https://app.example/login/github/callback")
    url, state, code_verifier = await github.get_authorization_url()
    provider_session = await github.validate_callback(code, code_verifier=code_verifier)
    user = provider_session.existing_user or await provider_session.create_user({"username": "..."})

Each class documents its scopes, token endpoint authentication method, PKCE and refresh
support, and what ``provider_user`` holds. Every endpoint host is a keyword-only option
(``base_url``, ``issuer``, ``domain``, ``tenant``...) for self-hosted instances.
"""

from lucia_oauth.providers._apple import Apple
from lucia_oauth.providers._auth0 import Auth0
from lucia_oauth.providers._discord import Discord
from lucia_oauth.providers._facebook import Facebook
from lucia_oauth.providers._github import GitHub
from lucia_oauth.providers._gitlab import GitLab
from lucia_oauth.providers._google import Google
from lucia_oauth.providers._keycloak import Keycloak
from lucia_oauth.providers._linkedin import LinkedIn
from lucia_oauth.providers._microsoft import MicrosoftEntraID
from lucia_oauth.providers._okta import Okta
from lucia_oauth.providers._patreon import Patreon
from lucia_oauth.providers._reddit import Reddit
from lucia_oauth.providers._slack import Slack
from lucia_oauth.providers._spotify import Spotify
from lucia_oauth.providers._twitch import Twitch

__all__ = [
    "Apple",
    "Auth0",
    "Discord",
    "Facebook",
    "GitHub",
    "GitLab",
    "Google",
    "Keycloak",
    "LinkedIn",
    "MicrosoftEntraID",
    "Okta",
    "Patreon",
    "Reddit",
    "Slack",
    "Spotify",
    "Twitch",
]
