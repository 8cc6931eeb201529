"""The Lucia for Python demo: sign up, sign in, sign out, who-am-I, your sessions,
email verification and password reset (the "mail" is printed to the console).

Run it with ``nox -s demo`` (or ``python -m docs.examples.demo`` from the repository
root) and open http://127.0.0.1:8000. SQLite by default (``demo.db``); set
``DATABASE_URL`` to ``postgresql://...`` or ``mysql://...`` to use another adapter.
Everything here is ordinary Starlette: Lucia hands you small, sharp calls.
"""

from __future__ import annotations

import html
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from lucia import Lucia, LuciaError
from lucia.integrations.starlette import LuciaMiddleware, get_auth
from lucia.redirects import safe_redirect
from lucia_tokens import LuciaTokenError, id_token

USER_COLUMNS = {"username": "string", "email_verified": "boolean"}


def send_mail(to: str, subject: str, link: str) -> None:
    """The demo's mailer: prints the message. Put your mail service here."""
    print(f"MAIL to={to} subject={subject!r} link={link}", flush=True)


def adapter_from_url(url: str) -> Any:
    """An adapter for ``DATABASE_URL`` (imported lazily: install only what you use)."""
    if url.startswith("sqlite:///") or "://" not in url:
        from lucia_sqlite import SQLiteAdapter

        return SQLiteAdapter(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        from lucia_postgresql import PostgresAdapter

        return PostgresAdapter(url)
    if url.startswith(("mysql://", "mariadb://")):
        from lucia_mysql import MySQLAdapter

        return MySQLAdapter(url)
    raise SystemExit(f"unsupported DATABASE_URL scheme: {url.split(':', 1)[0]}")


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)} · Lucia demo</title>"
        "<style>body{font-family:system-ui;max-width:40rem;margin:3rem auto;line-height:1.5}"
        "input{display:block;margin:.3rem 0 .8rem;padding:.4rem;width:18rem}"
        "table{border-collapse:collapse}td{padding:.2rem .8rem .2rem 0}.error{color:#b00020}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def _form(action: str, button: str, error: str = "", next_url: str = "/") -> str:
    message = f"<p class='error'>{html.escape(error)}</p>" if error else ""
    return (
        f"{message}<form method='post' action='{action}'>"
        "<label>Email<input name='username' type='email' autocomplete='username' required maxlength='64'></label>"
        "<label>Password<input name='password' type='password' required minlength='8' maxlength='256'></label>"
        f"<input type='hidden' name='next' value='{html.escape(next_url)}'>"
        f"<button>{button}</button></form>"
    )


def create_app(auth: Lucia, *, create_schema: bool = True, base_url: str = "http://127.0.0.1:8000") -> Starlette:
    """The demo application around a configured :class:`Lucia`."""
    verification = id_token(auth, "email_verification", timedelta(hours=24))
    reset = id_token(auth, "password_reset", timedelta(hours=1))

    async def send_verification(user_id: str, email: str) -> None:
        token = await verification.issue(user_id)
        send_mail(email, "Verify your email", f"{base_url}/verify-email?token={token.value}")

    async def home(request: Request) -> Response:
        session, user = await get_auth(request).validate_user()
        if session is None or user is None:
            return _page(
                "Lucia demo",
                "<p>You are not signed in.</p><p><a href='/signup'>Sign up</a> · <a href='/login'>Sign in</a></p>",
            )
        rows = ""
        for other in await auth.get_all_user_sessions(user.user_id):
            current = " (this device)" if other.session_id == session.session_id else ""
            revoke = (
                ""
                if current
                else f"<form method='post' action='/sessions/revoke'><input type='hidden' name='session_id' "
                f"value='{html.escape(other.session_id)}'><button>Revoke</button></form>"
            )
            rows += (
                f"<tr><td>…{html.escape(other.session_id[-8:])}{current}</td><td>{other.state}</td>"
                f"<td>until {other.idle_period_expires_at:%Y-%m-%d %H:%M} UTC</td><td>{revoke}</td></tr>"
            )
        name = html.escape(str(user.attributes.get("username", "")))
        verified = (
            "<p>Email verified.</p>"
            if user.attributes.get("email_verified")
            else "<p>Email not verified: check the console for the link. "
            "<form method='post' action='/verify-email/resend'><button>Send it again</button></form></p>"
        )
        return _page(
            "Who am I",
            f"<p>Signed in as <strong>{name}</strong> (user id <code>{html.escape(user.user_id)}</code>).</p>{verified}"
            f"<h2>Your sessions</h2><table>{rows}</table>"
            "<form method='post' action='/sessions/revoke-others'><button>Sign out other devices</button></form>"
            "<form method='post' action='/logout'><button>Sign out</button></form>",
        )

    async def signup(request: Request) -> Response:
        if request.method == "GET":
            return _page("Sign up", _form("/signup", "Create account"))
        form = await request.form()
        username, password = str(form.get("username", "")).strip().lower(), str(form.get("password", ""))
        if not 3 <= len(username) <= 64 or not 8 <= len(password) <= 256:
            return _page("Sign up", _form("/signup", "Create account", "Email 3-64 characters, password 8-256."))
        try:
            user = await auth.create_user(
                primary_key={"provider_id": "email", "provider_user_id": username, "password": password},
                attributes={"username": username, "email_verified": False},
            )
        except LuciaError as error:
            message = "That email is taken." if error.code == "AUTH_DUPLICATE_KEY_ID" else "Invalid input."
            return _page("Sign up", _form("/signup", "Create account", message))
        await send_verification(user.user_id, username)
        session = await auth.create_session(user.user_id)
        get_auth(request).set_session(session)
        return RedirectResponse("/", status_code=303)

    async def login(request: Request) -> Response:
        next_url = safe_redirect(request.query_params.get("next"))
        if request.method == "GET":
            return _page("Sign in", _form("/login", "Sign in", next_url=next_url))
        form = await request.form()
        username, password = str(form.get("username", "")).strip().lower(), str(form.get("password", ""))
        try:
            key = await auth.use_key("email", username, password)
        except LuciaError:
            # One message for every failure: never say whether the account exists.
            return _page(
                "Sign in",
                _form("/login", "Sign in", "Incorrect email or password.", next_url)
                + "<p><a href='/reset-password'>Forgot your password?</a></p>",
            )
        session = await auth.create_session(key.user_id)
        get_auth(request).set_session(session)
        return RedirectResponse(safe_redirect(form.get("next")), status_code=303)

    async def logout(request: Request) -> Response:
        session = await get_auth(request).validate()
        if session is not None:
            await auth.invalidate_session(session.session_id)
        get_auth(request).set_session(None)
        return RedirectResponse("/", status_code=303)

    async def revoke(request: Request) -> Response:
        session = await get_auth(request).validate()
        if session is None:
            return RedirectResponse("/login", status_code=303)
        form = await request.form()
        target = str(form.get("session_id", ""))
        # Only the signed-in user's own sessions can be revoked.
        if any(s.session_id == target for s in await auth.get_all_user_sessions(session.user_id)):
            await auth.invalidate_session(target)
        return RedirectResponse("/", status_code=303)

    async def revoke_others(request: Request) -> Response:
        session = await get_auth(request).validate()
        if session is not None:
            await auth.invalidate_all_user_sessions(session.user_id, except_session_id=session.session_id)
        return RedirectResponse("/", status_code=303)

    async def verify_email(request: Request) -> Response:
        try:
            token = await verification.validate(request.query_params.get("token", ""))
        except LuciaTokenError:
            return _page("Verify email", "<p>This link is invalid or has expired.</p>")
        await auth.update_user_attributes(token.user_id, {"email_verified": True})
        return RedirectResponse("/", status_code=303)

    async def resend_verification(request: Request) -> Response:
        session, user = await get_auth(request).validate_user()
        if session is None or user is None:
            return RedirectResponse("/login", status_code=303)
        if not user.attributes.get("email_verified"):
            await send_verification(user.user_id, str(user.attributes.get("username", "")))
        return RedirectResponse("/", status_code=303)

    async def reset_request(request: Request) -> Response:
        sent = "<p>If an account exists for that email, a reset link is on its way (see the console).</p>"
        form_html = (
            "<form method='post' action='/reset-password'><label>Email<input name='username' type='email' required "
            "maxlength='64'></label><button>Send a reset link</button></form>"
        )
        if request.method == "GET":
            return _page("Reset your password", form_html)
        email = str((await request.form()).get("username", "")).strip().lower()
        try:
            key = await auth.get_key("email", email)
        except LuciaError:
            return _page("Reset your password", sent)  # the same answer: no account enumeration
        token = await reset.issue(key.user_id)  # supersedes older reset links
        send_mail(email, "Reset your password", f"{base_url}/reset-password/{token.value}")
        return _page("Reset your password", sent)

    async def reset_confirm(request: Request) -> Response:
        value = request.path_params["token"]
        if request.method == "GET":
            return _page(
                "Choose a new password",
                f"<form method='post' action='/reset-password/{html.escape(value)}'><label>New password<input "
                "name='password' type='password' required minlength='8' maxlength='256'></label>"
                "<button>Save</button></form>",
            )
        password = str((await request.form()).get("password", ""))
        if not 8 <= len(password) <= 256:
            return _page("Choose a new password", "<p class='error'>Password 8-256 characters.</p>")
        try:
            token = await reset.validate(value)
        except LuciaTokenError:
            return _page("Choose a new password", "<p>This link is invalid or has expired.</p>")
        user = await auth.get_user(token.user_id)
        await auth.update_key_password("email", str(user.attributes.get("username", "")), password)
        await auth.invalidate_all_user_sessions(user.user_id)  # a reset signs out every device
        session = await auth.create_session(user.user_id)
        get_auth(request).set_session(session)
        return RedirectResponse("/", status_code=303)

    async def me(request: Request) -> Response:
        from starlette.responses import JSONResponse

        session, user = await get_auth(request).validate_user()
        if session is None or user is None:
            return JSONResponse({"user": None}, status_code=401)
        return JSONResponse(
            {
                "user_id": user.user_id,
                "username": user.attributes.get("username"),
                "email_verified": bool(user.attributes.get("email_verified")),
            }
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if create_schema:
            await auth.users.create_schema(user_columns=USER_COLUMNS)  # type: ignore[attr-defined]
        yield
        close = getattr(auth.users, "close", None)
        if close is not None:
            await close()

    return Starlette(
        routes=[
            Route("/", home),
            Route("/me", me),
            Route("/signup", signup, methods=["GET", "POST"]),
            Route("/login", login, methods=["GET", "POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/sessions/revoke", revoke, methods=["POST"]),
            Route("/sessions/revoke-others", revoke_others, methods=["POST"]),
            Route("/verify-email", verify_email),
            Route("/verify-email/resend", resend_verification, methods=["POST"]),
            Route("/reset-password", reset_request, methods=["GET", "POST"]),
            Route("/reset-password/{token}", reset_confirm, methods=["GET", "POST"]),
        ],
        middleware=[Middleware(LuciaMiddleware, auth=auth)],
        lifespan=lifespan,
    )


def main() -> None:
    """Serve the demo at http://127.0.0.1:8000."""
    import uvicorn

    auth = Lucia(adapter=adapter_from_url(os.environ.get("DATABASE_URL", "sqlite:///demo.db")), env="DEV")
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8000"))
    print(f"Lucia demo on http://{host}:{port}  (DATABASE_URL={os.environ.get('DATABASE_URL', 'sqlite:///demo.db')})")
    uvicorn.run(create_app(auth, base_url=f"http://{host}:{port}"), host=host, port=port)


if __name__ == "__main__":
    main()
