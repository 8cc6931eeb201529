"""What the named providers share: endpoints built from overridable base URLs, one options class each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from lucia_oauth._errors import LuciaOAuthResponseError
from lucia_oauth._oidc import OIDCProvider
from lucia_oauth._options import ClientOptions, IdTokenOptions, base_url_of, configured_by
from lucia_oauth._provider import OAuth2Provider, optional_str, require_str
from lucia_oauth._session import OAuth2Tokens, ProviderUser

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = [
    "Endpoints",
    "HostedOIDCProvider",
    "HostedOptions",
    "HostedProvider",
    "IssuerOptions",
    "scope_list_as_text",
    "user_object",
]


def scope_list_as_text(body: object) -> object:
    """A token answer whose ``scope`` is a JSON list (Twitch) with it joined by spaces."""
    if isinstance(body, Mapping) and isinstance(body.get("scope"), list):
        return {**body, "scope": " ".join(s for s in body["scope"] if isinstance(s, str))}
    return body


def user_object(data: Any, what: str) -> Mapping[str, Any]:
    """``data`` if it is a JSON object, else ``OAUTH_INVALID_RESPONSE``."""
    if not isinstance(data, Mapping):
        raise LuciaOAuthResponseError(None, f"the {what} answer is not a JSON object")
    return data


@dataclass(frozen=True, kw_only=True)
class HostedOptions(ClientOptions):
    """The options of a plain OAuth 2.0 named provider (GitHub, Discord...).

    Attributes:
        base_url: Replaces the provider's authorization host (a self-hosted instance, an emulation).
        api_base_url: Replaces the provider's API host (for a provider with a single host:
            default ``base_url``).
    """

    base_url: str | None = None
    api_base_url: str | None = None


@dataclass(frozen=True)
class Endpoints:
    """Where a plain OAuth 2.0 provider answers: three paths on one or two hosts.

    Attributes:
        base_url: The authorization host (and the token endpoint's, unless ``token_on_api_host``).
        authorization_path: The authorization endpoint on ``base_url``.
        token_path: The token endpoint.
        userinfo_path: The user endpoint on the API host.
        api_base_url: The API host, for a provider with two (``None``: the API is on ``base_url``).
        token_on_api_host: Whether the token endpoint is on the API host (Facebook's Graph API).
    """

    base_url: str
    authorization_path: str
    token_path: str
    userinfo_path: str
    api_base_url: str | None = None
    token_on_api_host: bool = False


class HostedProvider(OAuth2Provider):
    """A plain OAuth 2.0 provider whose endpoints are paths on one or two hosts.

    ``base_url`` is the host of the authorization and token endpoints, ``api_base_url``
    the host of the user API (the same host when the provider has only one). Both are
    keyword-only options (:class:`HostedOptions`) so a self-hosted instance, or a local
    emulation in tests, can replace them; both must be ``https`` (``http`` only on
    loopback hosts).

    A subclass states its :class:`Endpoints`; the user is read from ``GET`` of the user
    endpoint (with ``userinfo_params`` and :meth:`userinfo_headers`): the answer's
    :meth:`user_resource`, whose ``id`` is the provider user id and whose email is
    :meth:`email_of`.
    """

    endpoints: ClassVar[Endpoints]
    #: Query parameters of the user request (the fields to return, where the API asks for them).
    userinfo_params: ClassVar[Mapping[str, str] | None] = None

    @configured_by(HostedOptions)
    def __init__(self, auth: Lucia, options: HostedOptions) -> None:
        endpoints = self.endpoints
        self.base_url = base_url_of(options.base_url or endpoints.base_url, "base_url")
        # A provider with one host serves its API there; one with two keeps its API host.
        api = options.api_base_url or endpoints.api_base_url
        self.api_base_url = self.base_url if api is None else base_url_of(api, "api_base_url")
        self.authorization_endpoint = self.base_url + endpoints.authorization_path
        token_host = self.api_base_url if endpoints.token_on_api_host else self.base_url
        self.token_endpoint = token_host + endpoints.token_path
        self.userinfo_endpoint = self.api_base_url + endpoints.userinfo_path
        self._configure(auth, options)

    def api_url(self, path: str) -> str:
        """An endpoint of the provider's user API."""
        return self.api_base_url + path

    def parse_token_response(self, status: int, body: object) -> OAuth2Tokens:
        """The standard parse, also accepting a ``scope`` sent as a JSON list."""
        return super().parse_token_response(status, scope_list_as_text(body))

    async def get_provider_user(self, tokens: OAuth2Tokens, *, claims: Mapping[str, Any] | None) -> ProviderUser:
        """``GET`` the user endpoint: the user is the answer's :meth:`user_resource`, its id is ``id``."""
        answer = await self.fetch_json(
            self.api_url(self.endpoints.userinfo_path),
            access_token=tokens.access_token,
            headers=self.userinfo_headers(),
            params=self.userinfo_params,
        )
        user = self.user_resource(user_object(answer, "user"))
        email, email_verified = self.email_of(user)
        return ProviderUser(
            provider_user_id=require_str(user, "id"),
            data=user,
            email=email,
            email_verified=email is not None and email_verified,
        )

    def userinfo_headers(self) -> Mapping[str, str]:
        """Headers of the user request besides the access token (none by default)."""
        return {}

    def user_resource(self, answer: Mapping[str, Any]) -> Mapping[str, Any]:
        """The user object within the user endpoint's answer (by default the answer itself)."""
        return answer

    def email_of(self, user: Mapping[str, Any]) -> tuple[str | None, bool]:
        """The user's email address and whether the provider vouches for it (by default it does not)."""
        return optional_str(user, "email"), False


@dataclass(frozen=True, kw_only=True)
class IssuerOptions(IdTokenOptions):
    """The options of an OpenID Connect named provider with a fixed issuer (Google, LinkedIn, Slack, Apple).

    Attributes:
        issuer: Replaces the provider's issuer (its discovery document is read from there).
    """

    issuer: str | None = None


class HostedOIDCProvider(OIDCProvider):
    """An OpenID Connect named provider: its issuer has a default, its PKCE support is stated."""

    pkce_from_discovery: ClassVar[bool] = False
    use_userinfo: ClassVar[bool | None] = True

    @configured_by(IssuerOptions)
    def __init__(self, auth: Lucia, options: IssuerOptions) -> None:
        self._configure_oidc(auth, options, issuer=options.issuer)
