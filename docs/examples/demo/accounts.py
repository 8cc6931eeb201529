"""Accounts: sign up, sign in, sign out, email verification, password reset.

No handler checks a CSRF token: ``LuciaMiddleware`` refuses every POST whose ``Origin``
(or ``Sec-Fetch-Site``) is not this site before a handler runs.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lucia import (
    DuplicateKeyError,
    InvalidCredentialsError,
    InvalidInputError,
    InvalidKeyError,
    PrimaryKey,
    Session,
    TooManyRequestsError,
    User,
)
from lucia.integrations.starlette import get_auth
from lucia.redirects import safe_redirect
from lucia_tokens import LuciaTokenError

from . import two_factor
from .web import (
    demo_of,
    email_problem,
    may_mail,
    normalize_email,
    password_problem,
    render,
    requires_user,
    see_other,
    send_mail,
    start_session,
)


async def home(request: Request) -> Response:
    """The welcome page, or the signed-in user's account."""
    _, user = await get_auth(request).validate_user()
    if user is None:
        return await render(request, "welcome.html")
    demo = demo_of(request)
    passkeys = await demo.passkeys.list_credentials(user.user_id) if demo.passkeys else []
    devices = await demo.auth.get_all_user_sessions(user.user_id)
    return await render(request, "home.html", passkey_count=len(passkeys), device_count=len(devices))


async def me(request: Request) -> Response:
    """Who am I, as JSON (401 when signed out)."""
    session, user = await get_auth(request).validate_user()
    if user is None:
        return JSONResponse({"user": None}, status_code=401)
    return JSONResponse(
        {
            "user_id": user.user_id,
            "email": user.attributes.get("email"),
            "email_verified": bool(user.attributes.get("email_verified")),
            "two_factor": bool(user.attributes.get("totp_secret")),
            "persistent": session.persistent if session else None,
        }
    )


async def send_verification(request: Request, user_id: str, email: str) -> bool:
    """Mail a link that verifies ``email`` (it stops working if the address changes: H14), unless throttled."""
    demo = demo_of(request)
    if not await may_mail(request, email):
        return False
    token = await demo.verification.issue(user_id, bind=email)  # supersedes the previous link
    send_mail(email, "Verify your email", f"{demo.settings.base_url}/verify-email/{token.value}")
    return True


async def sign_up(request: Request) -> Response:
    """Create an account with an email and a password, sign in, and mail a verification link."""
    if request.method == "GET":
        return await render(request, "sign_up.html")
    form = await request.form()
    email, password, remember = normalize_email(form.get("email")), str(form.get("password", "")), "remember" in form
    error = email_problem(email) or password_problem(password)
    if error is None:
        try:
            user = await demo_of(request).auth.create_user(
                primary_key=PrimaryKey("email", email, password=password),
                attributes={"email": email, "email_verified": False},
            )
        except DuplicateKeyError:
            # Sign-up has to say this; sign-in and password reset never reveal who has an account.
            error = "An account with this email exists already. Sign in, or reset your password."
        except InvalidInputError:
            error = "That email address is too long, or contains characters we cannot store."
        else:
            await start_session(request, user.user_id, persistent=remember)
            await send_verification(request, user.user_id, email)
            return see_other("/")
    return await render(request, "sign_up.html", status_code=400, error=error, email=email, remember=remember)


async def sign_in(request: Request) -> Response:
    """Sign in with an email and a password; with two-factor on, the code is asked next."""
    if request.method == "GET":
        return await render(request, "sign_in.html", next=safe_redirect(request.query_params.get("next")))
    form = await request.form()
    email, password, remember = normalize_email(form.get("email")), str(form.get("password", "")), "remember" in form
    next_url = safe_redirect(form.get("next"))  # only paths on this site (SECURITY C4)
    headers: dict[str, str] = {}
    try:
        key = await demo_of(request).auth.use_key("email", email, password, client=get_auth(request).client)
    except InvalidCredentialsError:
        # One message for an unknown email and a wrong password: never say which.
        error, status = "Incorrect email or password.", 400
    except TooManyRequestsError as throttled:
        seconds = math.ceil(throttled.retry_after)
        error, status = f"Too many attempts, try again in {seconds} seconds.", 429
        headers = {"Retry-After": str(seconds)}
    except InvalidInputError:
        error, status = "That email or password is too long, or contains characters we cannot store.", 400
    else:
        user = await demo_of(request).auth.get_user(key.user_id)
        if user.attributes.get("totp_secret"):
            return await two_factor.ask_for_code(request, user, remember=remember, next_url=next_url)
        await start_session(request, user.user_id, persistent=remember)
        return see_other(next_url)
    response = await render(
        request, "sign_in.html", status_code=status, error=error, email=email, remember=remember, next=next_url
    )
    response.headers.update(headers)
    return response


async def sign_out(request: Request) -> Response:
    """Sign out this device (a POST: a link or an image on another site cannot sign you out)."""
    session = await get_auth(request).validate()
    if session is not None:
        await demo_of(request).auth.invalidate_session(session.session_id)
    get_auth(request).set_session(None)
    return see_other("/?notice=signed-out")


async def verify_email(request: Request) -> Response:
    """The link from the verification mail."""
    session, user = await get_auth(request).validate_user()
    if session is None or user is None:
        # The token is bound to the user's current address, so we need the user first.
        back = f"/verify-email/{request.path_params['token']}"
        return see_other("/sign-in?" + urlencode({"next": back, "notice": "sign-in-to-verify"}))
    demo = demo_of(request)
    try:
        token = await demo.verification.validate(request.path_params["token"], bind=user.attributes.get("email"))
    except LuciaTokenError as error:
        expired = error.code == "EXPIRED_TOKEN"
        return await render(request, "verify_email.html", status_code=400, expired=expired)
    if token.user_id != user.user_id:
        return await render(request, "verify_email.html", status_code=400, other_account=True)
    await demo.auth.update_user_attributes(user.user_id, {"email_verified": True})
    # Replace the session, as docs/tokens/email-verification.md does. A verified address is
    # a new privilege (an OAuth account with this verified address now links to this
    # account, see oauth.py), and a privilege change gets a new session id (OWASP). Other
    # devices sign in again, so every session that carries the new privilege was started
    # after the address was proven.
    await demo.auth.invalidate_all_user_sessions(user.user_id)
    await start_session(request, user.user_id, persistent=session.persistent)
    return see_other("/?notice=verified")


@requires_user
async def resend_verification(request: Request, session: Session, user: User) -> Response:
    """Mail a new verification link (the old one stops working)."""
    if user.attributes.get("email_verified") or not user.attributes.get("email"):
        return see_other("/")
    sent = await send_verification(request, user.user_id, user.attributes["email"])
    return see_other("/?notice=verification-sent" if sent else "/?notice=mail-wait")


async def forgot_password(request: Request) -> Response:
    """Ask for a password reset link."""
    if request.method == "GET":
        return await render(request, "forgot_password.html")
    demo = demo_of(request)
    email = normalize_email((await request.form()).get("email"))
    try:
        key = await demo.auth.get_key("email", email)
    except (InvalidKeyError, InvalidInputError):
        key = None
    # Throttled or not, known or not: the same answer (the page must not tell who has an account).
    if key is not None and await may_mail(request, email):
        token = await demo.password_reset.issue(key.user_id)  # older reset links stop working
        send_mail(email, "Reset your password", f"{demo.settings.base_url}/reset-password/{token.value}")
    return await render(request, "forgot_password.html", sent=True, email=email)


async def reset_password(request: Request) -> Response:
    """The link from the reset mail: choose a new password."""
    if request.method == "GET":  # never consume the token on a GET: mail scanners open links
        return await render(request, "reset_password.html")
    demo = demo_of(request)
    password = str((await request.form()).get("password", ""))
    problem = password_problem(password)  # before the token: a short password must not spend the link
    if problem is not None:
        return await render(request, "reset_password.html", status_code=400, error=problem)
    try:
        token = await demo.password_reset.validate(request.path_params["token"])
    except LuciaTokenError as error:
        return await render(request, "reset_password.html", status_code=400, spent=error.code)
    user = await demo.auth.get_user(token.user_id)
    await demo.auth.update_key_password("email", user.attributes["email"], password)
    # Following the link proved the user reads that mailbox (docs/tokens/password-reset.md).
    await demo.auth.update_user_attributes(user.user_id, {"email_verified": True})
    await demo.verification.invalidate_all_user_tokens(user.user_id)
    await demo.auth.invalidate_all_user_sessions(user.user_id)  # whoever knew the old password is out (S6)
    if user.attributes.get("totp_secret"):
        # A mailbox is one factor: with two-factor on, the new password alone does not sign in.
        return see_other("/sign-in?notice=password-reset-sign-in")
    await start_session(request, user.user_id, persistent=True)
    return see_other("/?notice=password-reset")
