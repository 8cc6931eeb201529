"""OAuth 2.0 and OpenID Connect sign-in for Lucia for Python.

::

    from lucia_oauth import GitHub

    github = GitHub(auth, client_id="...", client_secret="...", redirect_uri="https://app.example/login/github/callback")
    url, state, code_verifier = await github.get_authorization_url()
    # ... the user comes back with ?code=...&state=... (check state: lucia_oauth.check_callback)
    provider_session = await github.validate_callback(code, code_verifier=code_verifier)
    user = provider_session.existing_user or await provider_session.create_user({"username": "..."})
"""

from lucia_oauth._cookies import (
    CODE_VERIFIER_COOKIE,
    NEXT_COOKIE,
    NONCE_COOKIE,
    OAUTH_COOKIE_MAX_AGE,
    STATE_COOKIE,
    OAuthCallback,
    OAuthCookies,
    check_callback,
    check_state,
    clear_oauth_cookies,
    create_oauth_cookies,
    form_post_callback_paths,
    oauth_cookie_name,
    read_oauth_cookies,
)
from lucia_oauth._errors import (
    OAUTH_ERROR_CODES,
    LuciaOAuthCallbackError,
    LuciaOAuthConfigurationError,
    LuciaOAuthError,
    LuciaOAuthIdTokenError,
    LuciaOAuthInsecureEndpointError,
    LuciaOAuthNetworkError,
    LuciaOAuthProviderError,
    LuciaOAuthRequestError,
    LuciaOAuthResponseError,
    LuciaOAuthStateError,
    OAuthErrorCode,
)
from lucia_oauth._jose import sign_jwt
from lucia_oauth._oidc import OIDCProvider, derive_nonce
from lucia_oauth._options import (
    ClientOptions,
    EndpointOptions,
    IdTokenOptions,
    OAuth2Options,
    OIDCOptions,
    TokenEndpointAuthMethod,
    configured_by,
)
from lucia_oauth._provider import (
    AuthorizationURL,
    OAuth2Provider,
    generate_code_verifier,
    generate_state,
    optional_str,
    pkce_challenge,
    require_str,
)
from lucia_oauth._session import OAuth2Tokens, ProviderSession, ProviderUser
from lucia_oauth._version import __version__
from lucia_oauth.providers import (
    Apple,
    Auth0,
    Discord,
    Facebook,
    GitHub,
    GitLab,
    Google,
    Keycloak,
    LinkedIn,
    MicrosoftEntraID,
    Okta,
    Patreon,
    Reddit,
    Slack,
    Spotify,
    Twitch,
)

__all__ = [
    "CODE_VERIFIER_COOKIE",
    "NEXT_COOKIE",
    "NONCE_COOKIE",
    "OAUTH_COOKIE_MAX_AGE",
    "OAUTH_ERROR_CODES",
    "STATE_COOKIE",
    "Apple",
    "Auth0",
    "AuthorizationURL",
    "ClientOptions",
    "Discord",
    "EndpointOptions",
    "Facebook",
    "GitHub",
    "GitLab",
    "Google",
    "IdTokenOptions",
    "Keycloak",
    "LinkedIn",
    "LuciaOAuthCallbackError",
    "LuciaOAuthConfigurationError",
    "LuciaOAuthError",
    "LuciaOAuthIdTokenError",
    "LuciaOAuthInsecureEndpointError",
    "LuciaOAuthNetworkError",
    "LuciaOAuthProviderError",
    "LuciaOAuthRequestError",
    "LuciaOAuthResponseError",
    "LuciaOAuthStateError",
    "MicrosoftEntraID",
    "OAuth2Options",
    "OAuth2Provider",
    "OAuth2Tokens",
    "OAuthCallback",
    "OAuthCookies",
    "OAuthErrorCode",
    "OIDCOptions",
    "OIDCProvider",
    "Okta",
    "Patreon",
    "ProviderSession",
    "ProviderUser",
    "Reddit",
    "Slack",
    "Spotify",
    "TokenEndpointAuthMethod",
    "Twitch",
    "__version__",
    "check_callback",
    "check_state",
    "clear_oauth_cookies",
    "configured_by",
    "create_oauth_cookies",
    "derive_nonce",
    "form_post_callback_paths",
    "generate_code_verifier",
    "generate_state",
    "oauth_cookie_name",
    "optional_str",
    "pkce_challenge",
    "read_oauth_cookies",
    "require_str",
    "sign_jwt",
]
