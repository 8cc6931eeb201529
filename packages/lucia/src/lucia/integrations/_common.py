"""What every integration shares: pending cookies, the CSRF gate, exempt paths. No I/O."""

from __future__ import annotations

from collections.abc import Collection

from lucia._core import Lucia
from lucia._request import LuciaRequest, RequestCredentials
from lucia.cookies import Cookie

__all__ = ["FORBIDDEN_TEXT", "PendingCookies", "accept", "is_exempt"]

#: The body of the ``403`` an integration answers to an unsafe request that failed the CSRF check.
FORBIDDEN_TEXT = "Forbidden: the origin of this request could not be verified (CSRF check)"


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


def accept(
    auth: Lucia, request: LuciaRequest, path: str, exempt_paths: Collection[str], *, allow_bearer: bool
) -> RequestCredentials | None:
    """Read a request once; ``None`` when the integration must answer ``403`` (CSRF).

    An unsafe request that fails the CSRF check is refused, except on ``exempt_paths``,
    where it goes on without a session from its cookie.
    """
    credentials = auth.read_request(request, allow_bearer=allow_bearer)
    if not credentials.csrf_trusted and not is_exempt(path, exempt_paths):
        return None
    return credentials
