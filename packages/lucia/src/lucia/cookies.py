"""Session cookies: serialising ``Set-Cookie`` and reading ``Cookie`` headers. No I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["MAX_COOKIE_HEADER_LENGTH", "MAX_COOKIE_MAX_AGE", "Cookie", "CookieAttributes", "read_cookie"]

#: Cookie headers longer than this in total are ignored: the request is anonymous.
MAX_COOKIE_HEADER_LENGTH = 32 * 1024
#: RFC 6265bis caps Max-Age at 400 days.
MAX_COOKIE_MAX_AGE = 400 * 24 * 3600


@dataclass(frozen=True, slots=True)
class CookieAttributes:
    """The attributes of a ``Set-Cookie`` header."""

    http_only: bool = True
    secure: bool = False
    same_site: Literal["lax", "strict", "none"] = "lax"  # "none" needs secure=True (lucia-oauth's form_post)
    path: str = "/"
    domain: str | None = None
    max_age: int | None = None


@dataclass(frozen=True, slots=True)
class Cookie:
    """A cookie to set on a response: ``response.headers.append("Set-Cookie", cookie.serialize())``."""

    name: str
    value: str
    attributes: CookieAttributes

    def serialize(self) -> str:
        """The ``Set-Cookie`` header value."""
        a = self.attributes
        parts = [f"{self.name}={self.value}"]
        if a.max_age is not None:
            parts.append(f"Max-Age={max(0, min(a.max_age, MAX_COOKIE_MAX_AGE))}")
        if a.domain is not None:
            parts.append(f"Domain={a.domain}")
        parts.append(f"Path={a.path}")
        if a.http_only:
            parts.append("HttpOnly")
        if a.secure:
            parts.append("Secure")
        parts.append(f"SameSite={a.same_site.capitalize()}")
        return "; ".join(parts)

    def __repr__(self) -> str:
        value = "'**********'" if self.value else "''"
        return f"Cookie(name={self.name!r}, value={value}, attributes={self.attributes!r})"


def read_cookie(headers: Iterable[str], name: str) -> str | None:
    """The value of the first cookie called ``name`` across every ``Cookie`` header.

    Garbage, oversized headers (over :data:`MAX_COOKIE_HEADER_LENGTH` in total) and
    stray bytes give ``None``; this never raises. The first occurrence wins, which is
    the most specific cookie in the order browsers send them.
    """
    headers = list(headers)
    if not all(isinstance(h, str) for h in headers):
        return None
    if sum(len(h) for h in headers) > MAX_COOKIE_HEADER_LENGTH:
        return None
    for header in headers:
        for pair in header.split(";"):
            key, sep, value = pair.partition("=")
            if sep and key.strip() == name:
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] == '"':
                    value = value[1:-1]
                return value
    return None
