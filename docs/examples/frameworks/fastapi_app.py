"""A complete FastAPI app with Lucia: sign-up, sign-in, a protected route, sign-out.

Run it with ``python docs/examples/frameworks/fastapi_app.py`` (SQLite file ``app.db``).
The tests import :func:`create_app` and run it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from lucia import AuthRequest, Lucia, LuciaError, Session, User
from lucia.integrations.starlette import LuciaMiddleware, get_auth, require_user
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter

CurrentUser = Annotated[tuple[Session, User], Depends(require_user)]
Auth = Annotated[AuthRequest, Depends(get_auth)]


def create_app(database: str = "app.db", **lucia_options: Any) -> FastAPI:
    """The app on a SQLite file; ``lucia_options`` go to :class:`lucia.Lucia`."""
    adapter = SQLiteAdapter(database)
    auth = Lucia(adapter=adapter, **lucia_options)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await adapter.create_schema(user_columns={"username": "string"})
        yield
        await adapter.close()

    app = FastAPI(lifespan=lifespan)
    app.add_middleware(LuciaMiddleware, auth=auth)

    @app.post("/signup", status_code=201)
    async def sign_up(
        request_auth: Auth, username: Annotated[str, Form()], password: Annotated[str, Form()]
    ) -> dict[str, str]:
        try:
            user = await auth.create_user(
                primary_key={"provider_id": "username", "provider_user_id": username, "password": password},
                attributes={"username": username},
            )
        except LuciaError as error:
            raise HTTPException(400, error.code) from None
        request_auth.set_session(await auth.create_session(user.user_id))
        return {"user_id": user.user_id}

    @app.post("/signin")
    async def sign_in(
        request: Request, request_auth: Auth, username: Annotated[str, Form()], password: Annotated[str, Form()]
    ) -> RedirectResponse:
        try:
            key = await auth.use_key("username", username, password)
        except LuciaError:
            raise HTTPException(400, "Wrong username or password") from None
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

    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
