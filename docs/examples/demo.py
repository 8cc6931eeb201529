"""The Lucia for Python demo: sign up, sign in, sign out, who-am-I and your sessions.

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
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from lucia import Lucia, LuciaError
from lucia.integrations.starlette import LuciaMiddleware, get_auth
from lucia.redirects import safe_redirect

USER_COLUMNS = {"username": "string"}


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
        "<label>Username<input name='username' autocomplete='username' required maxlength='64'></label>"
        "<label>Password<input name='password' type='password' required minlength='8' maxlength='256'></label>"
        f"<input type='hidden' name='next' value='{html.escape(next_url)}'>"
        f"<button>{button}</button></form>"
    )


def create_app(auth: Lucia, *, create_schema: bool = True) -> Starlette:
    """The demo application around a configured :class:`Lucia`."""

    async def home(request: Request) -> Response:
        session, user = await get_auth(request).validate_user()
        if session is None or user is None:
            return _page("Lucia demo", "<p>You are not signed in.</p><p><a href='/signup'>Sign up</a> · <a href='/login'>Sign in</a></p>")
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
        return _page(
            "Who am I",
            f"<p>Signed in as <strong>{name}</strong> (user id <code>{html.escape(user.user_id)}</code>).</p>"
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
            return _page("Sign up", _form("/signup", "Create account", "Username 3-64 characters, password 8-256."))
        try:
            user = await auth.create_user(
                primary_key={"provider_id": "username", "provider_user_id": username, "password": password},
                attributes={"username": username},
            )
        except LuciaError as error:
            message = "That username is taken." if error.code == "AUTH_DUPLICATE_KEY_ID" else "Invalid input."
            return _page("Sign up", _form("/signup", "Create account", message))
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
            key = await auth.use_key("username", username, password)
        except LuciaError:
            # One message for every failure: never say whether the username exists.
            return _page("Sign in", _form("/login", "Sign in", "Incorrect username or password.", next_url))
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

    async def me(request: Request) -> Response:
        from starlette.responses import JSONResponse

        session, user = await get_auth(request).validate_user()
        if session is None or user is None:
            return JSONResponse({"user": None}, status_code=401)
        return JSONResponse({"user_id": user.user_id, "username": user.attributes.get("username")})

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
    uvicorn.run(create_app(auth), host=host, port=port)


if __name__ == "__main__":
    main()
