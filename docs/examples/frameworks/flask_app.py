"""A complete Flask app with Lucia: sign-up, sign-in, a protected page, sign-out.

Run it with ``python docs/examples/frameworks/flask_app.py`` (SQLite file ``app.db``)
and open http://127.0.0.1:8000, or serve it with ``gunicorn -w 2 'flask_app:create_app()'``.
The tests import :func:`create_app` and run it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, redirect, request

from lucia import DuplicateKeyError, InvalidCredentialsError, InvalidInputError, Lucia, PrimaryKey, SyncLucia
from lucia.integrations.flask import FlaskLucia, get_auth, login_required, require_user
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter

#: What ``create_schema()`` adds for this app: a ``username`` column on the user table.
SCHEMA = {"user_columns": {"username": "string"}}


def create_app(database: str = "app.db", **lucia_options: Any) -> Flask:
    """The app on a SQLite file; ``lucia_options`` go to :class:`lucia.Lucia`."""
    # "DEV" serves plain http://127.0.0.1; "PROD" (behind https) makes the cookie Secure,
    # which a browser never sends back over plain http.
    lucia_options.setdefault("env", "DEV")
    # SyncLucia runs the core in the calling thread over the adapter's blocking twin.
    auth = SyncLucia(Lucia(adapter=SQLiteAdapter(database), **lucia_options))

    app = Flask(__name__)
    # Start-up (now): create missing tables, connect, check the schema; `flask lucia
    # create-schema` does the same as a deployment step. SyncLucia closes the adapter at exit.
    FlaskLucia(app, auth=auth, csrf_exempt_paths=["/webhooks/"], create_schema=True, schema=SCHEMA)

    @app.post("/signup")
    def sign_up() -> tuple[Response, int]:
        username, password = request.form.get("username", ""), request.form.get("password", "")
        try:
            user = auth.create_user(
                primary_key=PrimaryKey("username", username, password=password),
                attributes={"username": username},
            )
        except InvalidInputError as error:  # an empty or oversized username, a password over the limit
            return jsonify(error=error.detail), 400
        except DuplicateKeyError:
            return jsonify(error="This username is taken."), 409
        # A StorageError (database down) is answered 503 by FlaskLucia's error handler.
        get_auth().set_session(auth.create_session(user.user_id))
        return jsonify(user_id=user.user_id), 201

    @app.post("/signin")
    def sign_in() -> Any:
        username, password = request.form.get("username", ""), request.form.get("password", "")
        try:
            key = auth.use_key("username", username, password, client=get_auth().client)
        except (InvalidCredentialsError, InvalidInputError):  # one message: never say which part was wrong
            return jsonify(error="Wrong username or password"), 400
        # TooManyRequestsError is answered 429 with Retry-After by FlaskLucia's error handler.
        get_auth().set_session(auth.create_session(key.user_id))
        return redirect(safe_redirect(request.args.get("next"), default="/"), code=303)

    @app.route("/me", methods=["GET", "POST"])
    @login_required
    def me() -> Response:
        _, user = require_user()
        return jsonify(user_id=user.user_id)

    @app.post("/signout")
    @login_required
    def sign_out() -> Response:
        session, _ = require_user()
        auth.invalidate_session(session.session_id)
        get_auth().set_session(None)
        return jsonify(signed_out=True)

    @app.post("/webhooks/payment")
    def webhook() -> Response:
        # Exempt from the CSRF 403 (csrf_exempt_paths): a cross-origin post never gets the session.
        return jsonify(received=True, signed_in=get_auth().validate() is not None)

    return app


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=8000)
