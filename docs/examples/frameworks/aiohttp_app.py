"""A complete aiohttp app with Lucia: sign-up, sign-in, a protected page, sign-out.

Run it with ``python docs/examples/frameworks/aiohttp_app.py`` (SQLite file ``app.db``),
then::

    curl -i -X POST -H "Origin: http://127.0.0.1:8000" -d "username=ada&password=correct horse battery" \\
        http://127.0.0.1:8000/signup
"""

from __future__ import annotations

from aiohttp import web

from lucia import Lucia, LuciaError
from lucia.integrations.aiohttp import LUCIA_KEY, get_auth, require_user, setup
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter

routes = web.RouteTableDef()


async def _credentials(request: web.Request) -> tuple[str, str]:
    form = await request.post()
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise web.HTTPBadRequest(text="username and password are required")
    return username, password


@routes.post("/signup")
async def sign_up(request: web.Request) -> web.Response:
    """Create a user with a username key, sign them in."""
    auth = request.app[LUCIA_KEY]
    username, password = await _credentials(request)
    try:
        user = await auth.create_user(
            primary_key={"provider_id": "username", "provider_user_id": username, "password": password},
            attributes={"username": username},
        )
    except LuciaError as error:  # AUTH_DUPLICATE_KEY_ID, AUTH_INVALID_INPUT
        raise web.HTTPBadRequest(text=error.code) from None
    session = await auth.create_session(user.user_id)
    get_auth(request).set_session(session)
    return web.json_response({"user_id": user.user_id}, status=201)


@routes.post("/signin")
async def sign_in(request: web.Request) -> web.Response:
    """Check the password, start a session, go back where the user came from."""
    auth = request.app[LUCIA_KEY]
    username, password = await _credentials(request)
    try:
        key = await auth.use_key("username", username, password)
    except LuciaError:
        raise web.HTTPBadRequest(text="wrong username or password") from None  # never say which
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


def create_app(auth: Lucia) -> web.Application:
    """The application, with Lucia installed (``request.app[LUCIA_KEY]`` is ``auth``)."""
    app = web.Application()
    setup(app, auth=auth)
    app.add_routes(routes)
    return app


def main() -> None:
    """Serve the app on http://127.0.0.1:8000 with SQLite in ``app.db``."""
    adapter = SQLiteAdapter("app.db")
    app = create_app(Lucia(adapter=adapter, env="DEV"))

    async def on_startup(app: web.Application) -> None:
        await adapter.create_schema(user_columns={"username": "string"})

    async def on_cleanup(app: web.Application) -> None:
        await adapter.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    web.run_app(app, host="127.0.0.1", port=8000)


if __name__ == "__main__":
    main()
