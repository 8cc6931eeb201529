"""A complete Starlette app with Lucia: sign-up, sign-in, a protected page, sign-out.

Run it with ``python docs/examples/frameworks/starlette_app.py`` (SQLite file ``app.db``)
and open http://127.0.0.1:8000. The tests import :func:`create_app` and run it.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from lucia import DuplicateKeyError, InvalidCredentialsError, InvalidInputError, Lucia, PrimaryKey
from lucia.integrations.starlette import LuciaMiddleware, get_auth, lifespan, require_user
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter

#: What ``create_schema()`` adds for this app: a ``username`` column on the user table.
SCHEMA = {"user_columns": {"username": "string"}}


def create_app(database: str = "app.db", **lucia_options: Any) -> Starlette:
    """The app on a SQLite file; ``lucia_options`` go to :class:`lucia.Lucia`."""
    # "DEV" serves plain http://127.0.0.1; "PROD" (behind https) makes the cookie Secure,
    # which a browser never sends back over plain http.
    lucia_options.setdefault("env", "DEV")
    auth = Lucia(adapter=SQLiteAdapter(database), **lucia_options)

    async def sign_up(request: Request) -> Response:
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        try:
            user = await auth.create_user(
                primary_key=PrimaryKey("username", username, password=password),
                attributes={"username": username},
            )
        except InvalidInputError as error:  # an empty or oversized username, a password over the limit
            return PlainTextResponse(error.detail, status_code=400)
        except DuplicateKeyError:
            return PlainTextResponse("This username is taken.", status_code=409)
        # A StorageError (database down) is answered 503 by LuciaMiddleware.
        get_auth(request).set_session(await auth.create_session(user.user_id))
        return JSONResponse({"user_id": user.user_id}, status_code=201)

    async def sign_in(request: Request) -> Response:
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        try:
            # client: per-address throttling (the forwarded address behind a trusted proxy).
            key = await auth.use_key("username", username, password, client=get_auth(request).client)
        except (InvalidCredentialsError, InvalidInputError):  # one message: never say which part was wrong
            return PlainTextResponse("Wrong username or password", status_code=400)
        # TooManyRequestsError is answered 429 with Retry-After by LuciaMiddleware.
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
        # Start-up: create missing tables, connect, check the schema. Shutdown: close.
        lifespan=lifespan(auth, create_schema=True, schema=SCHEMA),
    )


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
