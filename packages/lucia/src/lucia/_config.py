"""The option objects of :class:`lucia.Lucia`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

__all__ = ["CsrfProtection", "SessionCookieOptions", "SessionExpiresIn"]


@dataclass(frozen=True, slots=True)
class SessionExpiresIn:
    """How long a session lives.

    A session is *active* for ``active_period`` after it is created, then *idle* for
    ``idle_period`` more (using it while idle renews it with a new token), then *dead*.
    """

    active_period: timedelta = timedelta(days=1)
    idle_period: timedelta = timedelta(days=14)

    def __post_init__(self) -> None:
        if self.active_period <= timedelta(0) or self.idle_period < timedelta(0):
            raise ValueError("active_period must be positive and idle_period not negative")


@dataclass(frozen=True, slots=True)
class SessionCookieOptions:
    """The session cookie. ``domain=None`` keeps the cookie on the exact host (SECURITY C1)."""

    name: str = "auth_session"
    same_site: Literal["lax", "strict"] = "lax"
    path: str = "/"
    domain: str | None = None

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in ' \t\r\n;,="()<>@:\\/[]?{}'):
            raise ValueError("the cookie name must be a non-empty RFC 6265 token")
        if self.same_site not in ("lax", "strict"):
            raise ValueError("same_site must be 'lax' or 'strict'")
        for value in (self.path, self.domain or ""):
            if any(c in value for c in ";\r\n\x00"):
                raise ValueError("cookie path and domain must not contain ';' or control characters")


@dataclass(frozen=True, slots=True)
class CsrfProtection:
    """Which origins may send unsafe requests besides the request's own.

    Args:
        allowed_subdomains: Subdomain labels of the request host whose origins are trusted
            (``["app"]`` trusts ``https://app.example.com`` on ``example.com``), or ``"*"``
            for any subdomain.
        allowed_origins: Full origins (``"https://partner.example"``) that are trusted.
        allow_same_site: Also accept ``Sec-Fetch-Site: same-site`` when no ``Origin`` is sent.
    """

    allowed_subdomains: Sequence[str] | Literal["*"] = field(default_factory=tuple)
    allowed_origins: Sequence[str] = field(default_factory=tuple)
    allow_same_site: bool = False
