"""A complete FastAPI app with Lucia: sign-up, sign-in, a protected route, sign-out.

Run it with ``python docs/examples/frameworks/fastapi_app.py`` (SQLite file ``app.db``).
The tests import :func:`create_app` and run it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from lucia import (
    AuthRequest,
    DuplicateKeyError,
    InvalidCredentialsError,
    InvalidInputError,
    Lucia,
    PrimaryKey,
    Session,
    User,
)
from lucia.integrations.starlette import LuciaMiddleware, get_auth, lifespan, require_user
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter

CurrentUser = Annotated[tuple[Session, User], Depends(require_user)]
Auth = Annotated[AuthRequest, Depends(get_auth)]
FormField = Annotated[str, Form()]

#: What ``create_schema()`` adds for this app: a ``username`` column on the user table.
SCHEMA = {"user_columns": {"username": "string"}}


def create_app(database: str = "app.db", **lucia_options: Any) -> FastAPI:
    """The app on a SQLite file; ``lucia_options`` go to :class:`lucia.Lucia`."""
    # "DEV" serves plain http://127.0.0.1; "PROD" (behind https) makes the cookie Secure.
    lucia_options.setdefault("env", "DEV")
    auth = Lucia(adapter=SQLiteAdapter(database), **lucia_options)

    # Start-up: create missing tables, connect, check the schema. Shutdown: close.
    app = FastAPI(lifespan=lifespan(auth, create_schema=True, schema=SCHEMA))
    app.add_middleware(LuciaMiddleware, auth=auth, csrf_exempt_paths=["/webhooks/"])

    @app.post("/signup", status_code=201)
    async def sign_up(request_auth: Auth, username: FormField, password: FormField) -> dict[str, str]:
        try:
            user = await auth.create_user(
                primary_key=PrimaryKey("username", username, password=password),
                attributes={"username": username},
            )
        except InvalidInputError as error:  # an empty or oversized username, a password over the limit
            raise HTTPException(400, error.detail) from None
        except DuplicateKeyError:
            raise HTTPException(409, "This username is taken.") from None
        # A StorageError (database down) is answered 503 by LuciaMiddleware.
        request_auth.set_session(await auth.create_session(user.user_id))
        return {"user_id": user.user_id}

    @app.post("/signin")
    async def sign_in(
        request: Request, request_auth: Auth, username: FormField, password: FormField
    ) -> RedirectResponse:
        try:
            key = await auth.use_key("username", username, password, client=request_auth.client)
        except (InvalidCredentialsError, InvalidInputError):  # one message: never say which part was wrong
            raise HTTPException(400, "Wrong username or password") from None
        # TooManyRequestsError is answered 429 with Retry-After by LuciaMiddleware.
        request_auth.set_session(await auth.create_session(key.user_id))
        return RedirectResponse(safe_redirect(request.query_params.get("next"), default="/"), status_code=303)

    @app.api_route("/me", methods=["GET", "POST"])
    async def me(current: CurrentUser) -> dict[str, str]:
        _, user = current
        return {"user_id": user.user_id}

    @app.post("/signout")
    async def sign_out(current: CurrentUser, request_auth: Auth) -> dict[str, bool]:
        session, _ = current
        await auth.invalidate_session(session.session_id)
        request_auth.set_session(None)
        return {"signed_out": True}

    @app.post("/webhooks/payment")
    async def webhook(request_auth: Auth) -> dict[str, bool]:
        # Exempt from the CSRF 403 (csrf_exempt_paths): a cross-origin post never gets the session.
        return {"received": True, "signed_in": await request_auth.validate() is not None}

    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
