"""A complete Starlette app with Lucia: sign-up, sign-in, a protected page, sign-out.

Run it with ``python docs/examples/frameworks/starlette_app.py`` (SQLite file ``app.db``)
and open http://127.0.0.1:8000. The tests import :func:`create_app` and run it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from lucia import Lucia, LuciaError
from lucia.integrations.starlette import LuciaMiddleware, get_auth, require_user
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter


def create_app(database: str = "app.db", **lucia_options: Any) -> Starlette:
    """The app on a SQLite file; ``lucia_options`` go to :class:`lucia.Lucia`."""
    adapter = SQLiteAdapter(database)
    auth = Lucia(adapter=adapter, **lucia_options)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await adapter.create_schema(user_columns={"username": "string"})
        yield
        await adapter.close()

    async def sign_up(request: Request) -> Response:
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        try:
            user = await auth.create_user(
                primary_key={"provider_id": "username", "provider_user_id": username, "password": password},
                attributes={"username": username},
            )
        except LuciaError as error:
            return PlainTextResponse(error.code, status_code=400)
        get_auth(request).set_session(await auth.create_session(user.user_id))
        return JSONResponse({"user_id": user.user_id}, status_code=201)

    async def sign_in(request: Request) -> Response:
        form = await request.form()
        try:
            key = await auth.use_key("username", str(form.get("username", "")), str(form.get("password", "")))
        except LuciaError:
            return PlainTextResponse("Wrong username or password", status_code=400)
        get_auth(request).set_session(await auth.create_session(key.user_id))
        return RedirectResponse(safe_redirect(request.query_params.get("next"), default="/"), status_code=303)

    async def me(request: Request) -> Response:
        _, user = await require_user(request)
        return JSONResponse({"user_id": user.user_id})

    async def sign_out(request: Request) -> Response:
        session, _ = await require_user(request)
        await auth.invalidate_session(session.session_id)
        get_auth(request).set_session(None)
        return RedirectResponse("/", status_code=303)

    async def webhook(request: Request) -> Response:
        # Exempt from the CSRF check (csrf_exempt_paths below): a payment provider posts
        # here from its own origin. A cross-origin request never gets the session.
        session = await get_auth(request).validate()
        return JSONResponse({"received": True, "signed_in": session is not None})

    return Starlette(
        routes=[
            Route("/webhooks/payment", webhook, methods=["POST"]),
            Route("/signup", sign_up, methods=["POST"]),
            Route("/signin", sign_in, methods=["POST"]),
            Route("/me", me, methods=["GET", "POST"]),
            Route("/signout", sign_out, methods=["POST"]),
        ],
        middleware=[Middleware(LuciaMiddleware, auth=auth, csrf_exempt_paths=["/webhooks/"])],
        lifespan=lifespan,
    )


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
