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

    A session is *active* for ``active_period`` after it is created or renewed, then
    *idle* for ``idle_period`` more (using it while idle renews it with a new token),
    then *dead*. With ``absolute_period``, nothing from one sign-in (the session and
    every renewal of it) authenticates after ``created_at + absolute_period``.

    Raises:
        ValueError: A period that is not a positive ``timedelta`` (``idle_period`` may be
            zero), or an ``absolute_period`` shorter than ``active_period``.
    """

    active_period: timedelta = timedelta(days=1)
    idle_period: timedelta = timedelta(days=14)
    absolute_period: timedelta | None = None

    def __post_init__(self) -> None:
        for name in ("active_period", "idle_period", "absolute_period"):
            value = getattr(self, name)
            if not (value is None and name == "absolute_period") and not isinstance(value, timedelta):
                raise ValueError(f"{name} must be a timedelta")
        if self.active_period <= timedelta(0) or self.idle_period < timedelta(0):
            raise ValueError("active_period must be positive and idle_period not negative")
        if self.absolute_period is not None and self.absolute_period < self.active_period:
            raise ValueError("absolute_period must not be shorter than active_period")


@dataclass(frozen=True, slots=True)
class SessionCookieOptions:
    """The session cookie. ``domain=None`` keeps the cookie on the exact host (SECURITY C1).

    Args:
        name: The cookie name.
        same_site: ``"lax"`` (default) or ``"strict"``.
        path: The cookie path.
        domain: A domain to share the cookie with subdomains; ``None`` for this host only.
        host_prefix: Name the cookie ``__Host-<name>`` (H11): browsers then accept it only
            ``Secure``, with ``Path=/`` and no ``Domain``, so no subdomain or plain-http
            page can plant or overwrite it. Recommended in production unless a Lucia-JS
            app shares the cookie. Only the prefixed name is read in this mode.
    """

    name: str = "auth_session"
    same_site: Literal["lax", "strict"] = "lax"
    path: str = "/"
    domain: str | None = None
    host_prefix: bool = False

    @property
    def cookie_name(self) -> str:
        """The name the cookie is set and read under (``__Host-`` prefixed with ``host_prefix``)."""
        return f"__Host-{self.name}" if self.host_prefix else self.name

    def __post_init__(self) -> None:
        if not self.name or any(c in self.name for c in ' \t\r\n;,="()<>@:\\/[]?{}'):
            raise ValueError("the cookie name must be a non-empty RFC 6265 token")
        if self.host_prefix and (self.path != "/" or self.domain is not None):
            raise ValueError("a __Host- cookie (host_prefix=True) needs path='/' and no domain")
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
