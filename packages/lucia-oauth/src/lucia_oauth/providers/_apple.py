"""Sign in with Apple (OpenID Connect, with an ES256 client-secret JWT)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from lucia_oauth._errors import LuciaOAuthConfigurationError
from lucia_oauth._jose import load_es256_private_key, sign_jwt
from lucia_oauth._options import TokenEndpointAuthMethod, configured_by
from lucia_oauth.providers._base import HostedOIDCProvider, IssuerOptions

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = ["Apple", "AppleOptions"]

#: Lifetime of each client-secret JWT: a fresh one is signed for every token request.
CLIENT_SECRET_LIFETIME = 300


@dataclass(frozen=True, kw_only=True)
class AppleOptions(IssuerOptions):
    """The options of :class:`Apple`: no ``client_secret``, the team's key instead.

    Attributes:
        team_id: Your Apple Developer team id.
        key_id: The id of the Sign in with Apple private key.
        private_key: That key: the ``.p8`` file's PEM text (a P-256 key). Never shown by ``repr``.
    """

    team_id: str
    key_id: str
    private_key: str | bytes = field(repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.client_secret is not None:
            raise LuciaOAuthConfigurationError(None, "Apple signs its own client secret: pass private_key instead")
        if not self.team_id or not self.key_id:
            raise LuciaOAuthConfigurationError(None, "team_id and key_id are required")


class Apple(HostedOIDCProvider):
    """Sign in with Apple (https://developer.apple.com/documentation/sign_in_with_apple/sign_in_with_apple_rest_api).

    - Scopes: default ``["name", "email"]`` (``openid`` is added).
    - Token endpoint authentication: ``client_secret_post`` where the client secret is an
      ES256 JWT signed with your team's private key (``iss`` = team id, ``sub`` = client id,
      ``aud`` = ``https://appleid.apple.com``, ``kid`` = key id), signed afresh for every
      token request and valid five minutes. PKCE: no. Refresh: yes.
    - With ``name`` or ``email`` Apple requires ``response_mode=form_post``: the callback is
      a cross-site POST whose form holds ``code`` and ``state`` (and, at the first sign-in
      only, a ``user`` JSON with the name: keep it then, Apple never sends it again). Exempt
      that one route from the CSRF check (:func:`lucia_oauth.form_post_callback_paths`) and
      check ``state`` with :func:`lucia_oauth.check_callback` as for any callback; the flow
      cookies are ``SameSite=None; Secure`` so the browser sends them with that POST.
    - The user is in the id_token, verified by :class:`~lucia_oauth.OIDCProvider` against
      Apple's JWKS; the flow's ``nonce`` must be passed to ``validate_callback``.
    - ``provider_user_id``: ``sub`` (stable per team).
    - ``provider_user``: the verified id_token claims (``sub``, ``email``, ``email_verified``,
      ``is_private_email``...). Apple writes ``email_verified`` as ``"true"``; it counts.

    Options (:class:`AppleOptions`): ``client_id`` (the Services ID or bundle id),
    ``team_id``, ``key_id``, ``private_key`` (the ``.p8`` PEM text), ``redirect_uri``,
    ``scope``, ``issuer`` (replaces ``https://appleid.apple.com``, also the client secret's
    audience) and the other :class:`~lucia_oauth.ClientOptions`.

    Raises:
        LuciaOAuthError: ``OAUTH_CONFIGURATION`` if the key is not a P-256 private key.
    """

    provider_id = "apple"
    issuer = "https://appleid.apple.com"
    default_scopes: ClassVar[tuple[str, ...]] = ("name", "email")
    supports_pkce: ClassVar[bool] = False
    use_userinfo: ClassVar[bool | None] = False
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_post"
    computes_client_secret: ClassVar[bool] = True

    @configured_by(AppleOptions)
    def __init__(self, auth: Lucia, options: AppleOptions) -> None:
        self.team_id = options.team_id
        self.key_id = options.key_id
        try:
            self._private_key = load_es256_private_key(options.private_key)
        except ValueError as exc:
            raise LuciaOAuthConfigurationError(None, f"private_key: {exc}") from None
        self._configure_oidc(auth, options, issuer=options.issuer)

    async def client_secret_value(self) -> str:
        """A freshly signed ES256 client-secret JWT."""
        now = int(self.clock())
        claims = {
            "iss": self.team_id,
            "iat": now,
            "exp": now + CLIENT_SECRET_LIFETIME,
            "aud": self.issuer,
            "sub": self.client_id,
        }
        return sign_jwt(claims, self._private_key, kid=self.key_id)

    def extra_authorization_params(self) -> Mapping[str, str]:
        """``response_mode=form_post`` when asking for the name or email (Apple requires it)."""
        params = dict(super().extra_authorization_params())
        if {"name", "email"} & set(self.scope):
            params.setdefault("response_mode", "form_post")
        return params
