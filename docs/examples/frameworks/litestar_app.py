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

from lucia import DuplicateKeyError, InvalidCredentialsError, InvalidInputError, Lucia, PrimaryKey
from lucia.integrations.litestar import AuthDependency, LuciaDependency, LuciaPlugin, requires_user
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter

#: What ``create_schema()`` adds for this app: a ``username`` column on the user table.
SCHEMA = {"user_columns": {"username": "string"}}


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
            primary_key=PrimaryKey("username", data.username, password=data.password),
            attributes={"username": data.username},
        )
    except InvalidInputError as error:  # an empty or oversized username, a password over the limit
        raise HTTPException(status_code=400, detail=error.detail) from None
    except DuplicateKeyError:
        raise HTTPException(status_code=409, detail="This username is taken.") from None
    # A StorageError (database down) is answered 503 by the plugin's exception handler.
    auth.set_session(await lucia.create_session(user.user_id))
    return {"user_id": user.user_id}


@post("/signin", status_code=303)
async def sign_in(
    data: Form, request: Request[Any, Any, Any], lucia: LuciaDependency, auth: AuthDependency
) -> Redirect:
    """Check the password, start a session, go back where the user came from."""
    try:
        key = await lucia.use_key("username", data.username, data.password, client=auth.client)
    except (InvalidCredentialsError, InvalidInputError):
        raise HTTPException(status_code=400, detail="wrong username or password") from None  # never say which
    # TooManyRequestsError is answered 429 with Retry-After by the plugin's exception handler.
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


@post("/webhooks/payment", status_code=200)
async def webhook(auth: AuthDependency) -> dict[str, bool]:
    """Exempt from the CSRF 403 (csrf_exempt_paths): a cross-origin post never gets the session."""
    return {"received": True, "signed_in": await auth.validate() is not None}


def create_app(database: str = "app.db", **lucia_options: Any) -> Litestar:
    """The application on a SQLite file (handlers get ``lucia`` and ``auth`` injected)."""
    # "DEV" serves plain http://127.0.0.1; "PROD" (behind https) makes the cookie Secure.
    lucia_options.setdefault("env", "DEV")
    auth = Lucia(adapter=SQLiteAdapter(database), **lucia_options)
    # on_startup: create missing tables, connect, check the schema; on_shutdown: close.
    plugin = LuciaPlugin(auth=auth, csrf_exempt_paths=["/webhooks/"], create_schema=True, schema=SCHEMA)
    return Litestar([sign_up, sign_in, me, sign_out, webhook, home], plugins=[plugin])


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
