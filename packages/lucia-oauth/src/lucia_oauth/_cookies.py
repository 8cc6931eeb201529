"""Keeping ``state``, ``code_verifier``, ``nonce`` and the post-login target between the two legs.

Start of the flow (any framework)::

    authorization = await github.get_authorization_url()
    response = RedirectResponse(authorization.url)
    for cookie in create_oauth_cookies(auth, authorization, next=request.query_params.get("next")):
        response.headers.append("Set-Cookie", cookie.serialize())

Callback::

    callback = check_callback(request.query_params, read_oauth_cookies(request.headers.getlist("cookie")))
    provider_session = await github.validate_callback(callback.code, code_verifier=callback.code_verifier)
    # ... sign in, then redirect to callback.next and clear the cookies:
    for cookie in clear_oauth_cookies(auth):
        response.headers.append("Set-Cookie", cookie.serialize())

No I/O happens here.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from lucia import Cookie, CookieAttributes
from lucia.cookies import read_cookie
from lucia.redirects import safe_redirect
from lucia_oauth._errors import LuciaOAuthError

if TYPE_CHECKING:
    from lucia import Lucia
    from lucia_oauth._provider import AuthorizationURL

__all__ = [
    "CODE_VERIFIER_COOKIE",
    "NEXT_COOKIE",
    "NONCE_COOKIE",
    "OAUTH_COOKIE_MAX_AGE",
    "STATE_COOKIE",
    "OAuthCallback",
    "OAuthCookies",
    "check_callback",
    "check_state",
    "clear_oauth_cookies",
    "create_oauth_cookies",
    "read_oauth_cookies",
]

STATE_COOKIE = "oauth_state"
CODE_VERIFIER_COOKIE = "oauth_code_verifier"
NONCE_COOKIE = "oauth_nonce"
NEXT_COOKIE = "oauth_next"
#: Ten minutes: long enough to sign in at the provider, short enough to be useless later.
OAUTH_COOKIE_MAX_AGE = 600

_MAX_VALUE = 512
_COOKIE_VALUE = re.compile(r"^[A-Za-z0-9._~-]+$")
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


@dataclass(frozen=True, slots=True)
class OAuthCookies:
    """What the callback request carried in its OAuth cookies (``None`` when absent)."""

    state: str | None
    code_verifier: str | None
    nonce: str | None
    next: str | None

    def __repr__(self) -> str:
        hidden = "'**********'"
        return (
            f"OAuthCookies(state={hidden if self.state else None}, "
            f"code_verifier={hidden if self.code_verifier else None}, nonce={self.nonce!r}, next={self.next!r})"
        )


@dataclass(frozen=True, slots=True)
class OAuthCallback:
    """A callback whose ``state`` matched: pass its fields to ``validate_callback``.

    Attributes:
        code: The authorization code.
        code_verifier: The PKCE verifier from the cookie (``None`` for a provider without PKCE).
        nonce: The OpenID Connect nonce from the cookie, if one was stored.
        next: The validated post-login target (``"/"`` when none or unsafe).
    """

    code: str
    code_verifier: str | None
    nonce: str | None
    next: str

    def __repr__(self) -> str:
        return f"OAuthCallback(code='**********', code_verifier='**********', nonce={self.nonce!r}, next={self.next!r})"


def _attributes(auth: Lucia, max_age: int) -> CookieAttributes:
    return CookieAttributes(
        http_only=True, secure=auth.env == "PROD", same_site="lax", path="/", domain=None, max_age=max_age
    )


def create_oauth_cookies(
    auth: Lucia,
    authorization: AuthorizationURL,
    *,
    next: str | None = None,
    allowed_origins: Iterable[str] = (),
    max_age: int = OAUTH_COOKIE_MAX_AGE,
) -> list[Cookie]:
    """The cookies to set when redirecting to the provider.

    HttpOnly, ``SameSite=Lax`` (sent on the provider's top-level redirect back to us),
    ``Secure`` in ``PROD``, ``Max-Age`` ten minutes by default.

    Args:
        auth: The :class:`~lucia.Lucia` instance (its ``env`` decides ``Secure``).
        authorization: The result of ``get_authorization_url()``.
        next: Where to send the user after signing in; kept only if
            :func:`lucia.redirects.is_safe_redirect` accepts it (C4).
        allowed_origins: Absolute origins ``next`` may also point to.
        max_age: Lifetime of the cookies in seconds.
    """
    attributes = _attributes(auth, max_age)
    cookies = [Cookie(STATE_COOKIE, authorization.state, attributes)]
    if authorization.code_verifier is not None:
        cookies.append(Cookie(CODE_VERIFIER_COOKIE, authorization.code_verifier, attributes))
    if authorization.nonce is not None:
        cookies.append(Cookie(NONCE_COOKIE, authorization.nonce, attributes))
    target = safe_redirect(next, default="", allowed_origins=allowed_origins) if next is not None else ""
    if target:
        cookies.append(Cookie(NEXT_COOKIE, quote(target, safe=""), attributes))
    return cookies


def clear_oauth_cookies(auth: Lucia) -> list[Cookie]:
    """Blank, already-expired cookies that remove every OAuth cookie (the flow is single-use)."""
    attributes = _attributes(auth, 0)
    return [Cookie(name, "", attributes) for name in (STATE_COOKIE, CODE_VERIFIER_COOKIE, NONCE_COOKIE, NEXT_COOKIE)]


def read_oauth_cookies(cookie_headers: str | Iterable[str] | None) -> OAuthCookies:
    """Read the OAuth cookies from the request's ``Cookie`` header(s). Garbage reads as absent."""
    if cookie_headers is None:
        headers: list[str] = []
    elif isinstance(cookie_headers, str):
        headers = [cookie_headers]
    else:
        headers = list(cookie_headers)

    def value(name: str) -> str | None:
        raw = read_cookie(headers, name)
        return raw if raw and len(raw) <= _MAX_VALUE and _COOKIE_VALUE.match(raw) else None

    next_raw = read_cookie(headers, NEXT_COOKIE)
    return OAuthCookies(
        state=value(STATE_COOKIE),
        code_verifier=value(CODE_VERIFIER_COOKIE),
        nonce=value(NONCE_COOKIE),
        next=unquote(next_raw) if next_raw else None,
    )


def check_state(expected: str | None, received: str | None) -> None:
    """Compare the ``state`` of the callback with the stored one, in constant time (O1).

    Raises:
        LuciaOAuthError: ``OAUTH_INVALID_STATE`` if either is missing or they differ.
    """
    if not isinstance(expected, str) or not isinstance(received, str) or not expected or not received:
        raise LuciaOAuthError("OAUTH_INVALID_STATE", "the state is missing")
    if not hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8")):
        raise LuciaOAuthError("OAUTH_INVALID_STATE", "the state does not match")


def check_callback(
    params: Mapping[str, str],
    cookies: OAuthCookies,
    *,
    issuer: str | None = None,
    allowed_origins: Iterable[str] = (),
) -> OAuthCallback:
    """Check the query of a callback request before any code exchange.

    In order: an ``error`` parameter from the provider; ``state`` against the cookie
    (constant time); the RFC 9207 ``iss`` parameter when the provider sends one and
    ``issuer`` is given; the presence of ``code``. Then the post-login target is validated.

    Args:
        params: The callback's query parameters.
        cookies: :func:`read_oauth_cookies` of the callback request.
        issuer: The provider's issuer, to refuse a mix-up (RFC 9207) when ``iss`` is present.
        allowed_origins: Absolute origins the post-login target may point to.

    Raises:
        LuciaOAuthError: ``OAUTH_PROVIDER_ERROR``, ``OAUTH_INVALID_STATE`` or ``OAUTH_INVALID_CALLBACK``.
    """
    error = params.get("error")
    if error is not None:
        shown = error if _ERROR_CODE.match(error) else "(unreadable)"
        raise LuciaOAuthError("OAUTH_PROVIDER_ERROR", f"the provider refused the sign-in: {shown}")
    check_state(cookies.state, params.get("state"))
    iss = params.get("iss")
    if issuer is not None and iss is not None and iss != issuer:
        raise LuciaOAuthError("OAUTH_INVALID_CALLBACK", "the callback comes from another issuer ('iss')")
    code = params.get("code")
    if not code:
        raise LuciaOAuthError("OAUTH_INVALID_CALLBACK", "the callback has no code")
    return OAuthCallback(
        code=code,
        code_verifier=cookies.code_verifier,
        nonce=cookies.nonce,
        next=safe_redirect(cookies.next, default="/", allowed_origins=allowed_origins),
    )
