"""A complete aiohttp app with Lucia: sign-up, sign-in, a protected page, sign-out.

Run it with ``python docs/examples/frameworks/aiohttp_app.py`` (SQLite file ``app.db``),
then::

    curl -i -X POST -H "Origin: http://127.0.0.1:8000" -d "username=ada&password=correct horse battery" \\
        http://127.0.0.1:8000/signup
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from lucia import DuplicateKeyError, InvalidCredentialsError, InvalidInputError, Lucia, PrimaryKey
from lucia.integrations.aiohttp import LUCIA_KEY, get_auth, require_user, setup
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter

#: What ``create_schema()`` adds for this app: a ``username`` column on the user table.
SCHEMA = {"user_columns": {"username": "string"}}
routes = web.RouteTableDef()


async def _credentials(request: web.Request) -> tuple[str, str]:
    form = await request.post()
    username, password = form.get("username", ""), form.get("password", "")
    if not isinstance(username, str) or not isinstance(password, str):
        raise web.HTTPBadRequest(text="username and password are text fields")
    return username, password


@routes.post("/signup")
async def sign_up(request: web.Request) -> web.Response:
    """Create a user with a username key, sign them in."""
    auth = request.app[LUCIA_KEY]
    username, password = await _credentials(request)
    try:
        user = await auth.create_user(
            primary_key=PrimaryKey("username", username, password=password),
            attributes={"username": username},
        )
    except InvalidInputError as error:  # an empty or oversized username, a password over the limit
        raise web.HTTPBadRequest(text=error.detail) from None
    except DuplicateKeyError:
        raise web.HTTPConflict(text="This username is taken.") from None
    # A StorageError (database down) is answered 503 by Lucia's middleware.
    session = await auth.create_session(user.user_id)
    get_auth(request).set_session(session)
    return web.json_response({"user_id": user.user_id}, status=201)


@routes.post("/signin")
async def sign_in(request: web.Request) -> web.Response:
    """Check the password, start a session, go back where the user came from."""
    auth = request.app[LUCIA_KEY]
    username, password = await _credentials(request)
    try:
        key = await auth.use_key("username", username, password, client=get_auth(request).client)
    except (InvalidCredentialsError, InvalidInputError):
        raise web.HTTPBadRequest(text="wrong username or password") from None  # never say which
    # TooManyRequestsError is answered 429 with Retry-After by Lucia's middleware.
    get_auth(request).set_session(await auth.create_session(key.user_id))
    raise web.HTTPSeeOther(safe_redirect(request.query.get("next"), default="/"))


@routes.get("/me")
@routes.post("/me")
async def me(request: web.Request) -> web.Response:
    """A protected page: 401 without a session."""
    _, user = await require_user(request)
    return web.json_response({"user_id": user.user_id, "username": user.attributes.get("username")})


@routes.post("/signout")
async def sign_out(request: web.Request) -> web.Response:
    """End this session and clear the cookie."""
    session, _ = await require_user(request)
    await request.app[LUCIA_KEY].invalidate_session(session.session_id)
    get_auth(request).set_session(None)
    raise web.HTTPSeeOther("/")


@routes.post("/webhooks/payment")
async def webhook(request: web.Request) -> web.Response:
    """Exempt from the CSRF 403 (csrf_exempt_paths): a cross-origin post never gets the session."""
    session = await get_auth(request).validate()
    return web.json_response({"received": True, "signed_in": session is not None})


def create_app(database: str = "app.db", **lucia_options: Any) -> web.Application:
    """The application on a SQLite file; ``lucia_options`` go to :class:`lucia.Lucia`."""
    # "DEV" serves plain http://127.0.0.1; "PROD" (behind https) makes the cookie Secure.
    lucia_options.setdefault("env", "DEV")
    auth = Lucia(adapter=SQLiteAdapter(database), **lucia_options)
    app = web.Application()
    # Start-up (cleanup_ctx): create missing tables, connect, check the schema; cleanup: close.
    setup(app, auth=auth, csrf_exempt_paths=["/webhooks/"], create_schema=True, schema=SCHEMA)
    app.add_routes(routes)
    return app


if __name__ == "__main__":
    web.run_app(create_app(), host="127.0.0.1", port=8000)
