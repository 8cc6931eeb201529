"""What every integration shares: pending cookies, the CSRF gate, exempt paths. No I/O."""

from __future__ import annotations

from collections.abc import Collection

from lucia._cookies import Cookie
from lucia._core import Lucia
from lucia._csrf import SAFE_METHODS
from lucia._request import LuciaRequest

__all__ = ["FORBIDDEN_TEXT", "PendingCookies", "csrf_refused", "is_exempt"]

#: The body of the ``403`` an integration answers to a refused cross-origin request.
FORBIDDEN_TEXT = "Forbidden: cross-origin request"


class PendingCookies:
    """The cookies one request asked for, written to its response when the headers go out."""

    def __init__(self) -> None:
        self.cookies: dict[str, Cookie] = {}
        self.sent = False

    def set(self, cookie: Cookie) -> None:
        """Remember ``cookie``; a later cookie of the same name replaces it, as in a browser.

        Raises:
            RuntimeError: When the response headers were already sent: a lost renewal
                cookie would sign the user out silently, so this fails loudly instead.
        """
        if self.sent:
            raise RuntimeError("Lucia cannot set a cookie: the response headers were already sent")
        self.cookies[cookie.name] = cookie

    def headers(self) -> list[str]:
        """The ``Set-Cookie`` values to append, and mark the cookies as sent."""
        self.sent = True
        return [cookie.serialize() for cookie in self.cookies.values()]


def is_exempt(path: str, exempt_paths: Collection[str]) -> bool:
    """Whether ``path`` is one of ``exempt_paths`` (an entry ending in ``/`` is a prefix)."""
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in exempt_paths)


def csrf_refused(auth: Lucia, request: LuciaRequest, path: str, exempt_paths: Collection[str]) -> bool:
    """Whether an integration must answer ``403``: an unsafe request failing the CSRF check.

    Safe methods (GET, HEAD, OPTIONS) always pass; so do requests to ``exempt_paths``,
    which still never get a session from their cookie when they fail the check.
    """
    if request.method.upper() in SAFE_METHODS or is_exempt(path, exempt_paths):
        return False
    return not auth.csrf.is_trusted(request.method, request.url, request.get("origin"), request.get("sec-fetch-site"))
