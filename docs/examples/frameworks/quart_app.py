"""A complete Quart app with Lucia: sign-up, sign-in, a protected page, sign-out.

Run it with ``python docs/examples/frameworks/quart_app.py`` (SQLite file ``app.db``,
served by uvicorn), then::

    curl -i -X POST -H "Origin: http://127.0.0.1:8000" -d "username=ada&password=correct horse battery" \\
        http://127.0.0.1:8000/signup
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Quart, abort, current_app, redirect, request
from quart.typing import ResponseReturnValue

from lucia import Lucia, LuciaError
from lucia.integrations.quart import QuartLucia, get_auth, login_required, require_user
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter

pages = Blueprint("pages", __name__)


def lucia() -> Lucia:
    """The app's :class:`~lucia.Lucia`."""
    extension: QuartLucia = current_app.extensions["lucia"]
    return extension.auth


async def _credentials() -> tuple[str, str]:
    form = await request.form
    username, password = form.get("username"), form.get("password")
    if not username or not password:
        abort(400, "username and password are required")
    return username, password


@pages.post("/signup")
async def sign_up() -> tuple[dict[str, Any], int]:
    """Create a user with a username key, sign them in."""
    username, password = await _credentials()
    try:
        user = await lucia().create_user(
            primary_key={"provider_id": "username", "provider_user_id": username, "password": password},
            attributes={"username": username},
        )
    except LuciaError as error:  # AUTH_DUPLICATE_KEY_ID, AUTH_INVALID_INPUT
        abort(400, error.code)
    get_auth().set_session(await lucia().create_session(user.user_id))
    return {"user_id": user.user_id}, 201


@pages.post("/signin")
async def sign_in() -> ResponseReturnValue:
    """Check the password, start a session, go back where the user came from."""
    username, password = await _credentials()
    try:
        key = await lucia().use_key("username", username, password)
    except LuciaError:
        abort(400, "wrong username or password")  # never say which
    get_auth().set_session(await lucia().create_session(key.user_id))
    return redirect(safe_redirect(request.args.get("next"), default="/"), 303)


@pages.route("/me", methods=["GET", "POST"])
@login_required
async def me() -> dict[str, Any]:
    """A protected page: 401 without a session."""
    _, user = await require_user()
    return {"user_id": user.user_id, "username": user.attributes.get("username")}


@pages.post("/signout")
@login_required
async def sign_out() -> ResponseReturnValue:
    """End this session and clear the cookie."""
    session, _ = await require_user()
    await lucia().invalidate_session(session.session_id)
    get_auth().set_session(None)
    return redirect("/", 303)


def create_app(auth: Lucia) -> Quart:
    """The application, with Lucia installed."""
    app = Quart(__name__)
    QuartLucia(app, auth=auth)
    app.register_blueprint(pages)
    return app


def main() -> None:
    """Serve the app on http://127.0.0.1:8000 with SQLite in ``app.db``."""
    import uvicorn

    adapter = SQLiteAdapter("app.db")
    app = create_app(Lucia(adapter=adapter, env="DEV"))

    @app.before_serving
    async def create_schema() -> None:
        await adapter.create_schema(user_columns={"username": "string"})

    @app.after_serving
    async def close() -> None:
        await adapter.close()

    uvicorn.run(app, host="127.0.0.1", port=8000)


if __name__ == "__main__":
    main()
