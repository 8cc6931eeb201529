"""What every page shares: the app's services, rendering, signing in on this device, the mailer."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from lucia import Cookie, Lucia, Session, TooManyRequestsError, User
from lucia.integrations.starlette import get_auth
from lucia.passwords import MAX_PASSWORD_LENGTH
from lucia_tokens import IdTokenWrapper
from lucia_tokens.totp import TOTPVerifier

from .config import Settings

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")

#: Our own minimum (NIST SP 800-63B: at least 8; docs/tokens/password-reset.md: 12).
MIN_PASSWORD_LENGTH = 12

#: Messages shown after a redirect (``?notice=<key>``): fixed texts, nothing from the URL is echoed.
NOTICES = {
    "signed-out": "You are signed out.",
    "verified": "Your email address is verified. Other devices were signed out.",
    "verification-sent": "We sent you a new link: the demo prints its mail to the console.",
    "mail-wait": "We sent you several links already. Please wait a little before asking again.",
    "sign-in-to-verify": "Sign in to confirm your email address.",
    "password-reset": "Your password is changed and every other device is signed out.",
    "password-reset-sign-in": "Your password is changed. Sign in with it and your authenticator code.",
    "two-factor-expired": "That sign-in took too long. Please start again.",
    "two-factor-on": "Two-factor sign-in is on. Your other devices were signed out.",
    "two-factor-off": "Two-factor sign-in is off.",
    "device-signed-out": "That device is signed out.",
    "others-signed-out": "Every other device is signed out.",
    "passkey-added": "Your passkey is saved. You can now sign in with it.",
    "passkey-renamed": "The passkey is renamed.",
    "passkey-deleted": "The passkey is deleted: it no longer signs in.",
}


@dataclass(frozen=True)
class Demo:
    """The app's services, built once in ``create_app`` (``request.app.state.demo``)."""

    auth: Lucia
    settings: Settings
    verification: IdTokenWrapper
    password_reset: IdTokenWrapper
    pending_two_factor: IdTokenWrapper
    totp: TOTPVerifier
    passkeys: Any  # lucia_webauthn.Passkeys, or None when the adapter stores no passkeys
    providers: dict[str, tuple[str, Any]]  # URL name -> (button label, lucia_oauth provider)


def demo_of(request: Request) -> Demo:
    """The app's services."""
    demo: Demo = request.app.state.demo
    return demo


async def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page: ``template`` with the signed-in user (if any), the notice and ``context``."""
    session, user = await get_auth(request).validate_user()
    demo = demo_of(request)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "session": session,
            "notice": NOTICES.get(request.query_params.get("notice", "")),
            "providers": {name: label for name, (label, _) in demo.providers.items()},
            "passkeys": demo.passkeys,
            "min_password_length": MIN_PASSWORD_LENGTH,
            "max_password_length": MAX_PASSWORD_LENGTH,
            **context,
        },
        status_code=status_code,
    )


def see_other(url: str) -> RedirectResponse:
    """After a form POST: a 303 makes the browser GET the next page (reloading it posts nothing)."""
    return RedirectResponse(url, status_code=303)


def set_cookie(response: Response, cookie: Cookie) -> Response:
    """Add one of Lucia's cookies (a passkey challenge) to ``response``."""
    response.headers.append("set-cookie", cookie.serialize())
    return response


Handler = Callable[[Request, Session, User], Awaitable[Response]]


def requires_user(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Run ``handler(request, session, user)`` for a signed-in user; send anyone else to sign in first."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        session, user = await get_auth(request).validate_user()
        if session is None or user is None:
            back = request.url.path if request.method == "GET" else "/"
            return see_other("/sign-in?" + urlencode({"next": back}))
        return await handler(request, session, user)

    return endpoint


async def start_session(request: Request, user_id: str, *, persistent: bool) -> None:
    """Sign the user in on this device: a new session (a new token) and its cookie.

    The session stores what the devices page shows. ``persistent=False`` ("keep me signed
    in" unticked) gives a cookie without ``Max-Age`` that ends with the browser session.
    """
    attributes = {
        "user_agent": request.headers.get("user-agent", "")[:512],
        "ip_address": get_auth(request).client or "",  # after trusted proxies (Lucia(proxy_headers=...))
    }
    session = await demo_of(request).auth.create_session(user_id, attributes=attributes, persistent=persistent)
    get_auth(request).set_session(session)


def send_mail(to: str, subject: str, link: str) -> None:
    """The demo's mailer prints the message. Put your mail service here, and never log a link.

    A link in a mail is a one-time credential: whoever reads it can use it.
    """
    print(f"MAIL to={to} subject={subject!r} link={link}", flush=True)


async def may_mail(request: Request, to: str) -> bool:
    """Whether another mail may go to ``to`` now: the core's throttle, counting every mail sent.

    Five mails to one address in a row, then 30 s, 60 s, ... between mails (and at most
    100 a minute from one client, shared with failed sign-ins): no mail-bombing through
    "send it again" or "forgot password".
    """
    try:
        attempt = await demo_of(request).auth.throttle_attempt(f"mail:{to}", client=get_auth(request).client)
    except TooManyRequestsError:
        return False
    await attempt.failed()  # a mail is never "successful": only time clears the count
    return True


def normalize_email(value: object) -> str:
    """One spelling per address: trimmed, lower-case (the same form when issuing and checking)."""
    return str(value or "").strip().lower()


def email_problem(email: str) -> str | None:
    """Why ``email`` cannot be used, or ``None``. The real check is the link we mail to it."""
    if "@" not in email.strip("@") or len(email) > 254 or any(c.isspace() for c in email):
        return "Enter an email address such as ada@example.com."
    return None


def password_problem(password: str) -> str | None:
    """Why ``password`` is not accepted for a new password, or ``None`` (a policy hook: add a breach check)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Choose a password of at most {MAX_PASSWORD_LENGTH} characters."
    return None


def device_handle(session: Session) -> str:
    """A handle for a session in a form: never its id, which is the token itself when
    ``hash_session_ids=False`` (a page must not carry the credentials of other devices)."""
    return hashlib.sha256(session.session_id.encode()).hexdigest()[:24]


_BROWSERS = [("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("CriOS/", "Chrome")]
_SYSTEMS = [
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
]


def describe_device(user_agent: str) -> str:
    """A name a person recognises, such as "Chrome on Linux" (ua-parser knows every browser)."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    if browser is None and "Safari/" in user_agent and "Version/" in user_agent:
        browser = "Safari"
    if browser is None:
        match = re.match(r"[\w.-]+", user_agent)
        return match.group(0) if match else "Unknown device"
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    return f"{browser} on {system}" if system else browser
