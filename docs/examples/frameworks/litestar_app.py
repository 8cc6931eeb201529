"""A complete Litestar app with Lucia: sign-up, sign-in, a protected page, sign-out.

Run it with ``python docs/examples/frameworks/litestar_app.py`` (SQLite file ``app.db``,
served by uvicorn), then::

    curl -i -X POST -H "Origin: http://127.0.0.1:8000" -d "username=ada&password=correct horse battery" \\
        http://127.0.0.1:8000/signup
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Litestar, Request, get, post, route
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body
from litestar.response import Redirect

from lucia import Lucia, LuciaError
from lucia.integrations.litestar import AuthDependency, LuciaDependency, LuciaPlugin, requires_user
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter


@dataclass
class Credentials:
    """The sign-up and sign-in form."""

    username: str
    password: str


Form = Annotated[Credentials, Body(media_type=RequestEncodingType.URL_ENCODED)]


@post("/signup", status_code=201)
async def sign_up(data: Form, lucia: LuciaDependency, auth: AuthDependency) -> dict[str, str]:
    """Create a user with a username key, sign them in."""
    try:
        user = await lucia.create_user(
            primary_key={"provider_id": "username", "provider_user_id": data.username, "password": data.password},
            attributes={"username": data.username},
        )
    except LuciaError as error:  # AUTH_DUPLICATE_KEY_ID, AUTH_INVALID_INPUT
        raise HTTPException(status_code=400, detail=error.code) from None
    auth.set_session(await lucia.create_session(user.user_id))
    return {"user_id": user.user_id}


@post("/signin", status_code=303)
async def sign_in(
    data: Form, request: Request[Any, Any, Any], lucia: LuciaDependency, auth: AuthDependency
) -> Redirect:
    """Check the password, start a session, go back where the user came from."""
    try:
        key = await lucia.use_key("username", data.username, data.password)
    except LuciaError:
        raise HTTPException(status_code=400, detail="wrong username or password") from None  # never say which
    auth.set_session(await lucia.create_session(key.user_id))
    return Redirect(safe_redirect(request.query_params.get("next"), default="/"), status_code=303)


@route("/me", http_method=["GET", "POST"], guards=[requires_user], status_code=200)
async def me(auth: AuthDependency) -> dict[str, Any]:
    """A protected page: the guard answers 401 without a session."""
    _, user = await auth.validate_user()
    assert user is not None
    return {"user_id": user.user_id, "username": user.attributes.get("username")}


@post("/signout", guards=[requires_user], status_code=303)
async def sign_out(lucia: LuciaDependency, auth: AuthDependency) -> Redirect:
    """End this session and clear the cookie."""
    session = await auth.validate()
    assert session is not None
    await lucia.invalidate_session(session.session_id)
    auth.set_session(None)
    return Redirect("/", status_code=303)


@get("/")
async def home() -> str:
    """The landing page."""
    return "Lucia on Litestar"


def create_app(auth: Lucia) -> Litestar:
    """The application, with Lucia installed (handlers get ``lucia`` and ``auth`` injected)."""
    return Litestar([sign_up, sign_in, me, sign_out, home], plugins=[LuciaPlugin(auth=auth)])


def main() -> None:
    """Serve the app on http://127.0.0.1:8000 with SQLite in ``app.db``."""
    import uvicorn

    adapter = SQLiteAdapter("app.db")
    app = create_app(Lucia(adapter=adapter, env="DEV"))

    async def create_schema() -> None:
        await adapter.create_schema(user_columns={"username": "string"})

    app.on_startup.append(create_schema)
    app.on_shutdown.append(adapter.close)
    uvicorn.run(app, host="127.0.0.1", port=8000)


if __name__ == "__main__":
    main()
