"""What the named providers share: endpoints built from overridable base URLs, one options class each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from lucia_oauth._errors import LuciaOAuthResponseError
from lucia_oauth._oidc import OIDCProvider
from lucia_oauth._options import ClientOptions, IdTokenOptions, base_url_of, configured_by
from lucia_oauth._provider import OAuth2Provider
from lucia_oauth._session import OAuth2Tokens

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = [
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


class HostedProvider(OAuth2Provider):
    """A plain OAuth 2.0 provider whose endpoints are paths on one or two hosts.

    ``base_url`` is the host of the authorization and token endpoints, ``api_base_url``
    the host of the user API (the same host when the provider has only one). Both are
    keyword-only options (:class:`HostedOptions`) so a self-hosted instance, or a local
    emulation in tests, can replace them; both must be ``https`` (``http`` only on
    loopback hosts).
    """

    default_base_url: ClassVar[str]
    default_api_base_url: ClassVar[str | None] = None
    authorization_path: ClassVar[str]
    token_path: ClassVar[str]
    userinfo_path: ClassVar[str]
    #: Whether the token endpoint is on the API host rather than the authorization host.
    token_on_api_host: ClassVar[bool] = False

    @configured_by(HostedOptions)
    def __init__(self, auth: Lucia, options: HostedOptions) -> None:
        self.base_url = base_url_of(options.base_url or self.default_base_url, "base_url")
        # A provider with one host serves its API there; one with two keeps its API host.
        api = options.api_base_url or self.default_api_base_url
        self.api_base_url = self.base_url if api is None else base_url_of(api, "api_base_url")
        self.authorization_endpoint = self.base_url + self.authorization_path
        self.token_endpoint = (self.api_base_url if self.token_on_api_host else self.base_url) + self.token_path
        self.userinfo_endpoint = self.api_base_url + self.userinfo_path
        self._configure(auth, options)

    def api_url(self, path: str) -> str:
        """An endpoint of the provider's user API."""
        return self.api_base_url + path

    def parse_token_response(self, status: int, body: object) -> OAuth2Tokens:
        """The standard parse, also accepting a ``scope`` sent as a JSON list."""
        return super().parse_token_response(status, scope_list_as_text(body))


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
