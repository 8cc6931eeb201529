"""Keeping ``state``, ``code_verifier``, ``nonce`` and the post-login target between the two legs.

Start of the flow (any framework)::

    authorization = await github.get_authorization_url()
    response = RedirectResponse(authorization.url)
    for cookie in create_oauth_cookies(auth, authorization, next=request.query_params.get("next")):
        response.headers.append("Set-Cookie", cookie.serialize())

Callback::

    cookies = read_oauth_cookies(request.headers.getlist("cookie"), github)
    callback = check_callback(request.query_params, cookies)
    provider_session = await github.validate_callback(callback.code, code_verifier=callback.code_verifier)
    # ... sign in, then redirect to callback.next and clear the cookies:
    for cookie in clear_oauth_cookies(auth, github):
        response.headers.append("Set-Cookie", cookie.serialize())

The cookies of a flow are named after its provider (``oauth_state_github``,
``oauth_state_google``...), so sign-ins started in two tabs with two providers never
overwrite each other's ``state`` or verifier (H12). A provider whose callback is a
cross-site form POST (Apple's ``response_mode=form_post``) gets ``SameSite=None; Secure``
cookies, the only ones a browser sends with such a POST (H13); its callback route must be
exempted from the CSRF check (:func:`form_post_callback_paths`): ``state`` is what
protects it.

No I/O happens here.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from lucia.cookies import Cookie, CookieAttributes, read_cookie
from lucia.redirects import safe_redirect
from lucia_oauth._errors import LuciaOAuthCallbackError, LuciaOAuthProviderError, LuciaOAuthStateError

if TYPE_CHECKING:
    from lucia import Lucia
    from lucia_oauth._provider import AuthorizationURL, OAuth2Provider

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
    "form_post_callback_paths",
    "oauth_cookie_name",
    "read_oauth_cookies",
]

#: The prefixes of the flow's cookie names; the full name ends with the provider id
#: (:func:`oauth_cookie_name`): ``oauth_state_github``.
STATE_COOKIE = "oauth_state"
CODE_VERIFIER_COOKIE = "oauth_code_verifier"
NONCE_COOKIE = "oauth_nonce"
NEXT_COOKIE = "oauth_next"
_COOKIES = (STATE_COOKIE, CODE_VERIFIER_COOKIE, NONCE_COOKIE, NEXT_COOKIE)
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


def oauth_cookie_name(prefix: str, provider_id: str) -> str:
    """The name of one flow cookie of a provider: ``oauth_cookie_name(STATE_COOKIE, "github") == "oauth_state_github"``.

    A provider id outside ``[A-Za-z0-9._~-]`` is percent-encoded, so every name is a valid cookie name.
    """
    return f"{prefix}_{quote(provider_id, safe='')}"


def _attributes(auth: Lucia, max_age: int, *, form_post: bool) -> CookieAttributes:
    if form_post:
        # Sent with the provider's cross-site POST only when SameSite=None, which needs Secure.
        return CookieAttributes(http_only=True, secure=True, same_site="none", path="/", domain=None, max_age=max_age)
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
    """The cookies to set when redirecting to the provider, named after it (``oauth_state_github``...).

    HttpOnly, ``SameSite=Lax`` (sent on the provider's top-level redirect back to us),
    ``Secure`` in ``PROD``, ``Max-Age`` ten minutes by default. For a flow whose callback is
    a cross-site form POST (``authorization.form_post``: Apple) they are
    ``SameSite=None; Secure`` instead, in every ``env``: a browser sends nothing else with
    a cross-site POST (and accepts ``Secure`` cookies over ``http`` only on localhost).

    Args:
        auth: The :class:`~lucia.Lucia` instance (its ``env`` decides ``Secure``).
        authorization: The result of ``get_authorization_url()`` (it knows its provider).
        next: Where to send the user after signing in; kept only if
            :func:`lucia.redirects.is_safe_redirect` accepts it (C4).
        allowed_origins: Absolute origins ``next`` may also point to.
        max_age: Lifetime of the cookies in seconds.
    """
    attributes = _attributes(auth, max_age, form_post=authorization.form_post)
    provider_id = authorization.provider_id
    values = {STATE_COOKIE: authorization.state}
    if authorization.code_verifier is not None:
        values[CODE_VERIFIER_COOKIE] = authorization.code_verifier
    if authorization.nonce is not None:
        values[NONCE_COOKIE] = authorization.nonce
    target = safe_redirect(next, default="", allowed_origins=allowed_origins) if next is not None else ""
    if target:
        values[NEXT_COOKIE] = quote(target, safe="")
    return [Cookie(oauth_cookie_name(prefix, provider_id), value, attributes) for prefix, value in values.items()]


def clear_oauth_cookies(auth: Lucia, provider: OAuth2Provider) -> list[Cookie]:
    """Blank, already-expired cookies that remove the provider's flow cookies (a flow is single-use)."""
    attributes = _attributes(auth, 0, form_post=provider.uses_form_post)
    return [Cookie(oauth_cookie_name(prefix, provider.provider_id), "", attributes) for prefix in _COOKIES]


def read_oauth_cookies(cookie_headers: str | Iterable[str] | None, provider: OAuth2Provider) -> OAuthCookies:
    """Read the provider's flow cookies from the request's ``Cookie`` header(s). Garbage reads as absent.

    Args:
        cookie_headers: The ``Cookie`` header(s) of the callback request.
        provider: The provider of the callback: only its own cookies are read (H12).
    """
    if cookie_headers is None:
        headers: list[str] = []
    elif isinstance(cookie_headers, str):
        headers = [cookie_headers]
    else:
        headers = list(cookie_headers)

    def value(prefix: str) -> str | None:
        raw = read_cookie(headers, oauth_cookie_name(prefix, provider.provider_id))
        return raw if raw and len(raw) <= _MAX_VALUE and _COOKIE_VALUE.match(raw) else None

    next_raw = read_cookie(headers, oauth_cookie_name(NEXT_COOKIE, provider.provider_id))
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
        raise LuciaOAuthStateError(None, "the state is missing")
    if not hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8")):
        raise LuciaOAuthStateError(None, "the state does not match")


def check_callback(
    params: Mapping[str, str],
    cookies: OAuthCookies,
    *,
    issuer: str | None = None,
    allowed_origins: Iterable[str] = (),
) -> OAuthCallback:
    """Check the parameters of a callback request (its query, or the form of a form POST) before any code exchange.

    In order: an ``error`` parameter from the provider; ``state`` against the cookie
    (constant time); the RFC 9207 ``iss`` parameter when the provider sends one and
    ``issuer`` is given; the presence of ``code``. Then the post-login target is validated.

    Args:
        params: The callback's query parameters, or the form of a ``form_post`` callback.
        cookies: :func:`read_oauth_cookies` of the callback request.
        issuer: The provider's issuer, to refuse a mix-up (RFC 9207) when ``iss`` is present.
        allowed_origins: Absolute origins the post-login target may point to.

    Raises:
        LuciaOAuthError: ``OAUTH_PROVIDER_ERROR``, ``OAUTH_INVALID_STATE`` or ``OAUTH_INVALID_CALLBACK``.
    """
    error = params.get("error")
    if error is not None:
        shown = error if _ERROR_CODE.match(error) else "(unreadable)"
        raise LuciaOAuthProviderError(None, f"the provider refused the sign-in: {shown}")
    check_state(cookies.state, params.get("state"))
    iss = params.get("iss")
    if issuer is not None and iss is not None and iss != issuer:
        raise LuciaOAuthCallbackError(None, "the callback comes from another issuer ('iss')")
    code = params.get("code")
    if not code:
        raise LuciaOAuthCallbackError(None, "the callback has no code")
    return OAuthCallback(
        code=code,
        code_verifier=cookies.code_verifier,
        nonce=cookies.nonce,
        next=safe_redirect(cookies.next, default="/", allowed_origins=allowed_origins),
    )


def form_post_callback_paths(providers: Iterable[OAuth2Provider]) -> list[str]:
    """The callback paths to exempt from the CSRF check: those of providers that answer with a form POST.

    A ``response_mode=form_post`` callback (Apple) is a cross-site POST, which the CSRF
    check of Lucia's integrations refuses with ``403``. Exempt exactly those routes, and
    nothing else::

        app.add_middleware(LuciaMiddleware, auth=auth, csrf_exempt_paths=form_post_callback_paths(providers))

    The exemption drops the ``Origin`` check only: the callback handler still checks
    ``state`` against the flow's cookie (:func:`check_callback`), which a cross-site
    attacker cannot know, and an exempt request that fails the CSRF check never
    authenticates with the session cookie it carries.

    Args:
        providers: Every provider the application signs in with.
    """
    return sorted({provider.callback_path for provider in providers if provider.uses_form_post})
