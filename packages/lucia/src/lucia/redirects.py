r"""Redirect targets after sign-in or an OAuth callback (SECURITY C4).

A target is safe when it is a relative path on this site (``/account?tab=1``) or an
absolute URL whose origin is explicitly allowed. Everything that a browser could
read as another site is refused: ``//evil.com``, ``/\\evil.com``, ``https:evil.com``,
``javascript:``, and their percent-encoded or whitespace-padded forms::

    from lucia.redirects import safe_redirect

    return RedirectResponse(safe_redirect(request.query_params.get("next"), default="/"))
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from lucia._csrf import parse_origin

__all__ = ["is_safe_redirect", "safe_redirect"]

_MAX_LENGTH = 2048


def is_safe_redirect(target: object, *, allowed_origins: Iterable[str] = ()) -> bool:
    """Whether ``target`` may be redirected to.

    Args:
        target: The requested redirect target (from a query string, a form or a cookie).
        allowed_origins: Absolute origins (``"https://app.example.com"``) also allowed.
    """
    if not isinstance(target, str) or not target or len(target) > _MAX_LENGTH:
        return False
    # Decode repeatedly so that %2F%2Fevil.com and %252F... are judged as browsers may read them.
    decoded = target
    for _ in range(3):
        unquoted = unquote(decoded)
        if unquoted == decoded:
            break
        decoded = unquoted
    for candidate in {target, decoded}:
        if any(ord(c) < 0x21 or c == "\x7f" for c in candidate) or "\\" in candidate:
            return False
    if target.startswith("/"):
        return not decoded.startswith("//") and not decoded.startswith("/\\")
    origin = parse_origin(target, allow_path=True)
    if origin is None or urlsplit(target).netloc == "":
        return False
    allowed = {parse_origin(o) for o in allowed_origins}
    return origin in allowed


def safe_redirect(target: object, *, default: str = "/", allowed_origins: Iterable[str] = ()) -> str:
    """``target`` if :func:`is_safe_redirect` accepts it, else ``default``."""
    if is_safe_redirect(target, allowed_origins=allowed_origins):
        assert isinstance(target, str)
        return target
    return default
