"""Microsoft Entra ID (formerly Azure AD), tenant-aware (OpenID Connect)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from lucia_oauth._errors import LuciaOAuthConfigurationError, LuciaOAuthIdTokenError
from lucia_oauth._options import IdTokenOptions, TokenEndpointAuthMethod, base_url_of, configured_by
from lucia_oauth.providers._base import HostedOIDCProvider

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = ["EntraOptions", "MicrosoftEntraID"]


#: The tenants that stand for many: their id_tokens carry the user's own tenant in ``iss``.
MULTI_TENANT = frozenset({"common", "organizations", "consumers"})
#: The tenant of personal Microsoft accounts.
CONSUMERS_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
_GUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_TENANT_NAME = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True, kw_only=True)
class EntraOptions(IdTokenOptions):
    """The options of :class:`MicrosoftEntraID`.

    Attributes:
        tenant: ``"common"`` (default), ``"organizations"``, ``"consumers"``, or one tenant's
            GUID or domain name.
        base_url: The authority host (``https://login.microsoftonline.com``; national clouds differ).
    """

    tenant: str = "common"
    base_url: str = "https://login.microsoftonline.com"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.tenant, str) or _TENANT_NAME.fullmatch(self.tenant) is None:
            raise LuciaOAuthConfigurationError(None, "tenant must be a tenant GUID, domain name or common")


class MicrosoftEntraID(HostedOIDCProvider):
    """Sign in with Microsoft Entra ID (https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc).

    - Scopes: default ``["openid", "profile", "email"]``; add ``"offline_access"`` for a refresh token.
    - Token endpoint authentication: ``client_secret_post``. PKCE: S256. Refresh: yes.
    - The id_token is verified by :class:`~lucia_oauth.OIDCProvider` against the tenant's
      JWKS. For one tenant (its GUID or domain name) ``iss`` must be exactly the issuer its
      discovery document names. For ``common``, ``organizations`` and ``consumers`` the
      issuer is a template: ``iss`` must be ``{base_url}/{tid}/v2.0`` with the token's own
      ``tid`` claim (``consumers``: only the personal-account tenant; ``organizations``: any
      other). Restrict which tenants may sign in with ``provider_user["tid"]``.
    - ``provider_user_id``: ``sub`` (stable, unique per user and application). ``oid`` +
      ``tid`` identify the user across applications.
    - ``provider_user``: the verified id_token claims (``sub``, ``oid``, ``tid``, ``name``,
      ``preferred_username``, ``email``...); the userinfo endpoint is not read.
      ``email_verified`` is false: Entra ID does not vouch for ``email``.

    Options (:class:`EntraOptions`): ``tenant``, ``base_url`` (national clouds),
    ``authorization_params`` (``{"prompt": "select_account"}``) and the other
    :class:`~lucia_oauth.ClientOptions`.
    """

    provider_id = "microsoft-entra-id"
    supports_pkce: ClassVar[bool] = True
    use_userinfo: ClassVar[bool | None] = False
    token_endpoint_auth_method: TokenEndpointAuthMethod = "client_secret_post"

    @configured_by(EntraOptions)
    def __init__(self, auth: Lucia, options: EntraOptions) -> None:
        self.tenant = options.tenant
        self.authority = base_url_of(options.base_url, "base_url")
        self._issuer_pattern = re.compile(re.escape(self.authority) + f"/({_GUID})/v2\\.0")
        self._discovered_issuer: str | None = None
        self._configure_oidc(auth, options, issuer=f"{self.authority}/{options.tenant}/v2.0")

    @property
    def multi_tenant(self) -> bool:
        """Whether users of many tenants may sign in (``common``, ``organizations``, ``consumers``)."""
        return self.tenant.lower() in MULTI_TENANT

    async def discover(self) -> Mapping[str, Any]:
        """Discovery, remembering the issuer the tenant's document names."""
        document = await super().discover()
        issuer = document.get("issuer")
        if self._discovered_issuer is None and isinstance(issuer, str):
            self._discovered_issuer = issuer
        return document

    def is_valid_issuer(self, iss: str) -> bool:
        """The tenant's issuer: see the class documentation."""
        if self._discovered_issuer is None:
            # The discovery document: the configured issuer, the tenant's GUID issuer, or
            # (multi-tenant) the documented template.
            if iss == self.issuer or self._issuer_pattern.fullmatch(iss) is not None:
                return True
            return self.multi_tenant and iss == f"{self.authority}/{{tenantid}}/v2.0"
        if self.multi_tenant:
            return self._issuer_pattern.fullmatch(iss) is not None
        return iss == self._discovered_issuer

    async def verify_id_token(self, id_token: str, *, nonce: str | None) -> dict[str, Any]:
        """The generic verification, then the tenant rules of a multi-tenant application."""
        claims = await super().verify_id_token(id_token, nonce=nonce)
        if self.multi_tenant:
            tid = claims.get("tid")
            if not isinstance(tid, str) or claims.get("iss") != f"{self.authority}/{tid}/v2.0":
                raise LuciaOAuthIdTokenError(None, "the id_token 'iss' does not match its tenant ('tid')")
            tenant = self.tenant.lower()
            if (tenant == "consumers") != (tid == CONSUMERS_TENANT_ID) and tenant != "common":
                raise LuciaOAuthIdTokenError(None, f"the id_token tenant is not allowed for {tenant!r}")
        return claims
