"""Sign in with Apple (OpenID Connect, with an ES256 client-secret JWT)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, ClassVar

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from lucia_oauth._errors import LuciaOAuthError
from lucia_oauth._jose import sign_jwt
from lucia_oauth._provider import TokenEndpointAuthMethod
from lucia_oauth.providers._base import HostedOIDCProvider

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = ["Apple"]

#: Lifetime of each client-secret JWT: a fresh one is signed for every token request.
CLIENT_SECRET_LIFETIME = 300


class Apple(HostedOIDCProvider):
    """Sign in with Apple (https://developer.apple.com/documentation/sign_in_with_apple/sign_in_with_apple_rest_api).

    - Scopes: default ``["name", "email"]`` (``openid`` is added).
    - Token endpoint authentication: ``client_secret_post`` where the client secret is an
      ES256 JWT signed with your team's private key (``iss`` = team id, ``sub`` = client id,
      ``aud`` = ``https://appleid.apple.com``, ``kid`` = key id), signed afresh for every
      token request and valid five minutes. PKCE: no. Refresh: yes.
    - With ``name`` or ``email`` Apple requires ``response_mode=form_post``: the callback is
      a POST whose form holds ``code`` and ``state`` (and, at the first sign-in only, a
      ``user`` JSON with the name: keep it then, Apple never sends it again).
    - The user is in the id_token, verified by :class:`~lucia_oauth.OIDCProvider` against
      Apple's JWKS; the flow's ``nonce`` must be passed to ``validate_callback``.
    - ``provider_user_id``: ``sub`` (stable per team).
    - ``provider_user``: the verified id_token claims (``sub``, ``email``, ``email_verified``,
      ``is_private_email``...). Apple writes ``email_verified`` as ``"true"``; it counts.

    Args:
        auth: The :class:`~lucia.Lucia` instance.
        client_id: The Services ID (web) or bundle id.
        team_id: Your Apple Developer team id.
        key_id: The id of the Sign in with Apple private key.
        private_key: That key: the ``.p8`` file's PEM text (a P-256 key).
        redirect_uri: The callback URL, exactly as registered.
        scope: Scopes to request; ``openid`` is always sent.
        issuer: Replaces ``https://appleid.apple.com`` (also the client secret's audience).
        provider_id: The provider id in Lucia keys (default ``"apple"``).
        authorization_params: Extra fixed parameters of the authorization request.
        timeout: Seconds for each back-channel request.
        http_client: An ``httpx.AsyncClient`` to reuse (redirects are still never followed).
        clock: Seconds since the epoch, injectable for tests.

    Raises:
        LuciaOAuthError: ``OAUTH_CONFIGURATION`` if the key is not a P-256 private key.
    """

    provider_id = "apple"
    issuer = "https://appleid.apple.com"
    default_scopes: ClassVar[tuple[str, ...]] = ("name", "email")
    supports_pkce: ClassVar[bool] = False
    use_userinfo: ClassVar[bool] = False
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_post"

    def __init__(
        self,
        auth: Lucia,
        *,
        client_id: str,
        team_id: str,
        key_id: str,
        private_key: str | bytes,
        redirect_uri: str,
        scope: Sequence[str] | None = None,
        issuer: str | None = None,
        provider_id: str | None = None,
        authorization_params: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not team_id or not key_id:
            raise LuciaOAuthError("OAUTH_CONFIGURATION", "team_id and key_id are required")
        self.team_id = team_id
        self.key_id = key_id
        self._private_key = _load_p256_key(private_key)
        super().__init__(
            auth,
            issuer=issuer,
            client_id=client_id,
            client_secret=None,
            redirect_uri=redirect_uri,
            scope=scope,
            provider_id=provider_id,
            authorization_params=authorization_params,
            timeout=timeout,
            http_client=http_client,
            clock=clock,
        )

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


def _load_p256_key(private_key: str | bytes) -> ec.EllipticCurvePrivateKey:
    pem = private_key.encode("ascii") if isinstance(private_key, str) else private_key
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise LuciaOAuthError("OAUTH_CONFIGURATION", "private_key is not a PEM private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise LuciaOAuthError("OAUTH_CONFIGURATION", "private_key must be a P-256 (ES256) key")
    return key
