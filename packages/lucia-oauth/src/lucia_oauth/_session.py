"""What a successful callback yields: the tokens, the provider's user, and the Lucia link."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lucia import Key, LuciaError, User
from lucia_oauth._email import same_email_address

if TYPE_CHECKING:
    from lucia import Lucia

__all__ = [
    "OAuth2Tokens",
    "ProviderSession",
    "ProviderUser",
]


@dataclass(frozen=True, slots=True)
class OAuth2Tokens:
    """A token response (RFC 6749 §5.1). Secrets print as ``'**********'``.

    Attributes:
        access_token: The access token.
        token_type: Usually ``"Bearer"``.
        expires_in: Lifetime of the access token in seconds, if the provider said.
        expires_at: ``expires_in`` turned into seconds since the epoch on our clock, if known.
        refresh_token: A refresh token, if the provider issued one.
        scope: The granted scopes, if the provider said (they may differ from the requested ones).
        id_token: The raw OpenID Connect id_token, if any (verified before you ever see it).
        raw: The whole JSON response, for provider-specific members.
    """

    access_token: str
    token_type: str = "Bearer"
    expires_in: int | None = None
    expires_at: float | None = None
    refresh_token: str | None = None
    scope: tuple[str, ...] | None = None
    id_token: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        hidden = "'**********'"
        return (
            f"OAuth2Tokens(access_token={hidden}, token_type={self.token_type!r}, expires_in={self.expires_in!r}, "
            f"refresh_token={hidden if self.refresh_token else None}, scope={self.scope!r}, "
            f"id_token={hidden if self.id_token else None})"
        )


@dataclass(frozen=True, slots=True)
class ProviderUser:
    """Who the provider says signed in: what a provider's ``get_provider_user`` returns.

    Attributes:
        provider_user_id: The provider's immutable subject (OIDC ``sub``, GitHub's numeric
            id as a string...). Never an email or a username: those can change hands (O5).
        data: The provider's user object (userinfo, verified id_token claims, API user).
        email: An email address of the user, if the provider gave one.
        email_verified: Whether the provider vouches that the user controls ``email``.
    """

    provider_user_id: str
    data: Mapping[str, Any]
    email: str | None = None
    email_verified: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.provider_user_id, str) or not self.provider_user_id:
            raise ValueError("provider_user_id must be a non-empty string")


class ProviderSession:
    """The result of :meth:`OAuth2Provider.validate_callback`.

    Identity is the key ``(provider_id, provider_user_id)``: :attr:`existing_user` is the
    user holding that key, :meth:`create_user` makes a user with it as primary key,
    :meth:`create_persistent_key` links it to a signed-in user.

    Attributes:
        provider_id: The provider's id in Lucia keys (``"github"``).
        provider_user_id: The provider's immutable subject for this user.
        provider_user: The provider's user object.
        tokens: The token response.
        existing_user: The Lucia user already linked to this provider account, or ``None``.
        email: The email the provider gave, if any.
        email_verified: Whether the provider vouches for ``email``.
    """

    __slots__ = (
        "_auth",
        "email",
        "email_verified",
        "existing_user",
        "provider_id",
        "provider_user",
        "provider_user_id",
        "tokens",
    )

    def __init__(
        self,
        *,
        auth: Lucia,
        provider_id: str,
        user: ProviderUser,
        tokens: OAuth2Tokens,
        existing_user: User | None,
    ) -> None:
        self._auth = auth
        self.provider_id = provider_id
        self.provider_user_id = user.provider_user_id
        self.provider_user: Mapping[str, Any] = user.data
        self.email = user.email
        self.email_verified = user.email_verified
        self.tokens = tokens
        self.existing_user = existing_user

    def __repr__(self) -> str:
        return (
            f"ProviderSession(provider_id={self.provider_id!r}, provider_user_id={self.provider_user_id!r}, "
            f"existing_user={self.existing_user!r})"
        )

    async def create_user(self, attributes: Mapping[str, Any]) -> User:
        """Create a Lucia user whose primary key is this provider account (no password).

        Raises:
            LuciaError: ``AUTH_DUPLICATE_KEY_ID`` if the account is already linked (no user is created).
        """
        return await self._auth.create_user(
            primary_key={"provider_id": self.provider_id, "provider_user_id": self.provider_user_id, "password": None},
            attributes=attributes,
        )

    async def create_persistent_key(self, user_id: str) -> Key:
        """Link this provider account to an existing (signed-in) user.

        Raises:
            LuciaError: ``AUTH_DUPLICATE_KEY_ID`` if the account is already linked,
                ``AUTH_INVALID_USER_ID`` for an unknown user.
        """
        return await self._auth.create_key(
            user_id, provider_id=self.provider_id, provider_user_id=self.provider_user_id, password=None
        )

    def can_link_by_email(self, *, email: str | None, email_verified: bool) -> bool:
        """Whether this account may be linked to a local user found by email (O5).

        True only when the provider vouches for its email, the local email is verified
        too, and both are the same mailbox: the same domain after IDNA (UTS #46) and the
        same local part except for ASCII letter case. No Unicode case folding:
        ``user@straße.de`` is not ``user@strasse.de`` and ``ﬁnance@x`` is not ``finance@x``
        (H1). Anything else must be linked explicitly by a signed-in user with
        :meth:`create_persistent_key`.

        Args:
            email: The local user's email.
            email_verified: Whether the local user proved they control ``email``.
        """
        return can_link_by_email(self.email, self.email_verified, email, email_verified)


def can_link_by_email(
    provider_email: str | None, provider_verified: bool, local_email: str | None, local_verified: bool
) -> bool:
    """Both sides verified and the same mailbox: the only case where an email may join two identities."""
    if not (provider_verified is True and local_verified is True):
        return False
    return same_email_address(provider_email, local_email)


async def find_existing_user(auth: Lucia, provider_id: str, provider_user_id: str) -> User | None:
    """The user holding the key ``(provider_id, provider_user_id)``, or ``None``."""
    try:
        key = await auth.get_key(provider_id, provider_user_id)
    except LuciaError as exc:
        if exc.code == "AUTH_INVALID_KEY_ID":
            return None
        raise
    return await auth.get_user(key.user_id)
