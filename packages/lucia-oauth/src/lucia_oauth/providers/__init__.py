"""The named providers: each knows its endpoints, scopes and quirks.

::

    from lucia_oauth.providers import GitHub

    github = GitHub(auth, client_id="...", client_secret="...", redirect_uri="https://app.example/login/github/callback")
    url, state, code_verifier = await github.get_authorization_url()
    provider_session = await github.validate_callback(code, code_verifier=code_verifier)
    user = provider_session.existing_user or await provider_session.create_user({"username": "..."})

Each class documents its scopes, token endpoint authentication method, PKCE and refresh
support, and what ``provider_user`` holds. Every endpoint host is a keyword-only option
(``base_url``, ``issuer``, ``domain``, ``tenant``...) for self-hosted instances; each
provider's keyword options are the fields of its options class (``HostedOptions`` for the
plain OAuth 2.0 ones, ``IssuerOptions``, ``AppleOptions``, ``Auth0Options``,
``EntraOptions``, ``KeycloakOptions``, ``OktaOptions``), validated once and kept as
``provider.options``.
"""

from lucia_oauth.providers._apple import Apple, AppleOptions
from lucia_oauth.providers._auth0 import Auth0, Auth0Options
from lucia_oauth.providers._base import HostedOptions, IssuerOptions
from lucia_oauth.providers._discord import Discord
from lucia_oauth.providers._facebook import Facebook
from lucia_oauth.providers._github import GitHub
from lucia_oauth.providers._gitlab import GitLab
from lucia_oauth.providers._google import Google
from lucia_oauth.providers._keycloak import Keycloak, KeycloakOptions
from lucia_oauth.providers._linkedin import LinkedIn
from lucia_oauth.providers._microsoft import EntraOptions, MicrosoftEntraID
from lucia_oauth.providers._okta import Okta, OktaOptions
from lucia_oauth.providers._patreon import Patreon
from lucia_oauth.providers._reddit import Reddit
from lucia_oauth.providers._slack import Slack
from lucia_oauth.providers._spotify import Spotify
from lucia_oauth.providers._twitch import Twitch

__all__ = [
    "Apple",
    "AppleOptions",
    "Auth0",
    "Auth0Options",
    "Discord",
    "EntraOptions",
    "Facebook",
    "GitHub",
    "GitLab",
    "Google",
    "HostedOptions",
    "IssuerOptions",
    "Keycloak",
    "KeycloakOptions",
    "LinkedIn",
    "MicrosoftEntraID",
    "Okta",
    "OktaOptions",
    "Patreon",
    "Reddit",
    "Slack",
    "Spotify",
    "Twitch",
]
