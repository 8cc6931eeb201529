"""Cookies: the ``Set-Cookie`` value Lucia builds, and a ``Cookie`` header reader that never fails.

::

    from lucia.cookies import read_cookie

    state = read_cookie(request_cookie_headers, "oauth_state")  # None for garbage
"""

from lucia._cookies import MAX_COOKIE_HEADER_LENGTH, MAX_COOKIE_MAX_AGE, Cookie, CookieAttributes, read_cookie

__all__ = ["MAX_COOKIE_HEADER_LENGTH", "MAX_COOKIE_MAX_AGE", "Cookie", "CookieAttributes", "read_cookie"]
