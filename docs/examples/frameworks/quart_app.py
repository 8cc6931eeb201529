"""A complete Quart app with Lucia: sign-up, sign-in, a protected page, sign-out.

Run it with ``python docs/examples/frameworks/quart_app.py`` (SQLite file ``app.db``,
served by Quart's hypercorn runner), then::

    curl -i -X POST -H "Origin: http://127.0.0.1:8000" -d "username=ada&password=correct horse battery" \\
        http://127.0.0.1:8000/signup
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Quart, abort, current_app, redirect, request
from quart.typing import ResponseReturnValue

from lucia import DuplicateKeyError, InvalidCredentialsError, InvalidInputError, Lucia, PrimaryKey
from lucia.integrations.quart import QuartLucia, get_auth, login_required, require_user
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter

#: What ``create_schema()`` adds for this app: a ``username`` column on the user table.
SCHEMA = {"user_columns": {"username": "string"}}

pages = Blueprint("pages", __name__)


def lucia() -> Lucia:
    """The app's :class:`~lucia.Lucia`."""
    extension: QuartLucia = current_app.extensions["lucia"]
    return extension.auth


async def _credentials() -> tuple[str, str]:
    form = await request.form
    return form.get("username", ""), form.get("password", "")


@pages.post("/signup")
async def sign_up() -> tuple[dict[str, Any], int]:
    """Create a user with a username key, sign them in."""
    username, password = await _credentials()
    try:
        user = await lucia().create_user(
            primary_key=PrimaryKey("username", username, password=password),
            attributes={"username": username},
        )
    except InvalidInputError as error:  # an empty or oversized username, a password over the limit
        abort(400, error.detail)
    except DuplicateKeyError:
        abort(409, "This username is taken.")
    # A StorageError (database down) is answered 503 by QuartLucia's error handler.
    get_auth().set_session(await lucia().create_session(user.user_id))
    return {"user_id": user.user_id}, 201


@pages.post("/signin")
async def sign_in() -> ResponseReturnValue:
    """Check the password, start a session, go back where the user came from."""
    username, password = await _credentials()
    try:
        key = await lucia().use_key("username", username, password, client=get_auth().client)
    except (InvalidCredentialsError, InvalidInputError):
        abort(400, "wrong username or password")  # never say which
    # TooManyRequestsError is answered 429 with Retry-After by QuartLucia's error handler.
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


@pages.post("/webhooks/payment")
async def webhook() -> dict[str, bool]:
    """Exempt from the CSRF 403 (csrf_exempt_paths): a cross-origin post never gets the session."""
    return {"received": True, "signed_in": await get_auth().validate() is not None}


def create_app(database: str = "app.db", **lucia_options: Any) -> Quart:
    """The application on a SQLite file; ``lucia_options`` go to :class:`lucia.Lucia`."""
    # "DEV" serves plain http://127.0.0.1; "PROD" (behind https) makes the cookie Secure.
    lucia_options.setdefault("env", "DEV")
    app = Quart(__name__)
    # before_serving: create missing tables, connect, check the schema; after_serving: close
    # (aiosqlite's threads would otherwise keep the server from stopping on SIGTERM).
    QuartLucia(
        app,
        auth=Lucia(adapter=SQLiteAdapter(database), **lucia_options),
        csrf_exempt_paths=["/webhooks/"],
        create_schema=True,
        schema=SCHEMA,
    )
    app.register_blueprint(pages)
    return app


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=8000)  # in production: hypercorn 'quart_app:create_app()'
