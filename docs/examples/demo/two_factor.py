"""Two-factor sign-in with an authenticator app (TOTP, RFC 6238): turn it on, sign in with it, turn it off.

A real application also hands out recovery codes when two-factor is turned on
(``password_token``, see docs/tokens/two-factor.md); the demo leaves them out.
"""

from __future__ import annotations

import math
from textwrap import wrap
from typing import Any
from urllib.parse import urlencode

import segno
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from lucia import Session, TooManyRequestsError, User
from lucia.redirects import safe_redirect
from lucia_tokens import LuciaTokenError
from lucia_tokens.totp import generate_secret, provisioning_uri

from .web import Demo, demo_of, render, requires_user, see_other, start_session

PENDING_COOKIE = "pending_two_factor"
PENDING_PATH = "/sign-in/two-factor"


async def check_code(demo: Demo, user_id: str, secret: str, code: str) -> tuple[str, int] | None:
    """``None`` if ``code`` is right (it is then used up), else the message and the HTTP status.

    A code is accepted once, and no code of an earlier time step after it (replays are
    refused); wrong guesses share the core's throttle (SECURITY B3).
    """
    try:
        await demo.totp.verify(user_id, secret, code.replace(" ", ""))
    except LuciaTokenError:
        return "That code is not right. Enter the code your app shows now.", 400
    except TooManyRequestsError as throttled:
        return f"Too many attempts, try again in {math.ceil(throttled.retry_after)} seconds.", 429
    return None


async def ask_for_code(request: Request, user: User, *, remember: bool, next_url: str) -> Response:
    """The password was right and two-factor is on: ask for the code before any session exists.

    A session means "fully signed in". Until the code is checked, a short-lived,
    single-use token in an HttpOnly cookie carries who passed the password.
    """
    query = urlencode({"next": next_url, "remember": "on" if remember else ""})
    return await _keep_pending(request, see_other(f"{PENDING_PATH}?{query}"), user.user_id)


async def _keep_pending(request: Request, response: Response, user_id: str) -> Response:
    demo = demo_of(request)
    token = await demo.pending_two_factor.issue(user_id)
    response.set_cookie(
        PENDING_COOKIE,
        token.value or "",
        max_age=300,
        path=PENDING_PATH,
        httponly=True,
        samesite="lax",
        secure=demo.auth.env == "PROD",
    )
    return response


async def sign_in_with_code(request: Request) -> Response:
    """The second step of signing in: the code from the authenticator app."""
    params = request.query_params if request.method == "GET" else await request.form()
    next_url, remember = safe_redirect(params.get("next")), params.get("remember") == "on"
    if request.method == "GET":
        if PENDING_COOKIE not in request.cookies:
            return see_other("/sign-in")
        return await render(request, "two_factor_sign_in.html", next=next_url, remember=remember)
    demo = demo_of(request)
    try:
        pending = await demo.pending_two_factor.validate(request.cookies.get(PENDING_COOKIE, ""))
    except LuciaTokenError:
        return see_other("/sign-in?notice=two-factor-expired")
    user = await demo.auth.get_user(pending.user_id)
    secret = user.attributes.get("totp_secret")
    failed = await check_code(demo, user.user_id, secret, str(params.get("code", ""))) if secret else None
    if failed is None:  # the right code (or two-factor was turned off meanwhile: the password was right)
        await start_session(request, user.user_id, persistent=remember)
        signed_in = see_other(next_url)
        signed_in.delete_cookie(PENDING_COOKIE, path=PENDING_PATH)
        return signed_in
    # The pending token was used up: a new one lets the user retry without the password
    # (the throttle above bounds the guesses).
    error, status = failed
    again = await render(
        request, "two_factor_sign_in.html", status_code=status, error=error, next=next_url, remember=remember
    )
    return await _keep_pending(request, again, user.user_id)


def _enrolment(user: User) -> dict[str, Any]:
    """The QR code and the secret of an enrolment in progress (nothing once two-factor is on)."""
    pending = user.attributes.get("totp_pending")
    if user.attributes.get("totp_secret") or not pending:
        return {}
    uri = provisioning_uri(pending, account_name=user.attributes.get("email") or user.user_id, issuer="Lucia demo")
    # Drawn on the server as inline SVG: no script, and the secret never leaves in an image URL.
    qr_code = segno.make(uri, error="m").svg_inline(scale=5, title="QR code for your authenticator app")
    return {"qr_code": Markup(qr_code), "secret": " ".join(wrap(pending, 4))}


@requires_user
async def settings(request: Request, session: Session, user: User) -> Response:
    """Two-factor settings: turn it on (scan, then confirm a code) or off."""
    return await render(request, "two_factor.html", **_enrolment(user))


@requires_user
async def set_up(request: Request, session: Session, user: User) -> Response:
    """Start turning it on: a new secret, pending until the user's app proves it has it."""
    # The secret is as sensitive as a password: encrypt this column at rest in a real app.
    await demo_of(request).auth.update_user_attributes(user.user_id, {"totp_pending": generate_secret()})
    return see_other("/two-factor")


@requires_user
async def enable(request: Request, session: Session, user: User) -> Response:
    """Finish turning it on with a code from the app."""
    demo, pending = demo_of(request), user.attributes.get("totp_pending")
    if not pending:
        return see_other("/two-factor")
    failed = await check_code(demo, user.user_id, pending, str((await request.form()).get("code", "")))
    if failed is not None:
        error, status = failed
        return await render(request, "two_factor.html", status_code=status, error=error, **_enrolment(user))
    await demo.auth.update_user_attributes(user.user_id, {"totp_secret": pending, "totp_pending": None})
    # The account's security changed: the other devices sign in again, with a code.
    await demo.auth.invalidate_all_user_sessions(user.user_id, except_session_id=session.session_id)
    return see_other("/two-factor?notice=two-factor-on")


@requires_user
async def disable(request: Request, session: Session, user: User) -> Response:
    """Turn it off; a current code proves the app is still at hand."""
    demo, secret = demo_of(request), user.attributes.get("totp_secret")
    if not secret:
        return see_other("/two-factor")
    failed = await check_code(demo, user.user_id, secret, str((await request.form()).get("code", "")))
    if failed is not None:
        error, status = failed
        return await render(request, "two_factor.html", status_code=status, error=error)
    await demo.auth.update_user_attributes(user.user_id, {"totp_secret": None})
    return see_other("/two-factor?notice=two-factor-off")
