"""A complete Flask app with Lucia: sign-up, sign-in, a protected page, sign-out.

Run it with ``python docs/examples/frameworks/flask_app.py`` (SQLite file ``app.db``)
and open http://127.0.0.1:8000. The tests import :func:`create_app` and run it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Flask, Response, jsonify, redirect, request

from lucia import Lucia, LuciaError, SyncLucia
from lucia.integrations.flask import FlaskLucia, get_auth, login_required, require_user
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter


def create_app(database: str = "app.db", **lucia_options: Any) -> Flask:
    """The app on a SQLite file; ``lucia_options`` go to :class:`lucia.Lucia`."""
    adapter = SQLiteAdapter(database)
    # The async core runs on SyncLucia's own loop thread; so does the adapter.
    auth = SyncLucia(Lucia(adapter=adapter, **lucia_options))
    auth.call(partial(adapter.create_schema, user_columns={"username": "string"}))

    app = Flask(__name__)
    FlaskLucia(app, auth=auth)

    @app.post("/signup")
    def sign_up() -> tuple[Response, int]:
        username, password = request.form.get("username", ""), request.form.get("password", "")
        try:
            user = auth.create_user(
                primary_key={"provider_id": "username", "provider_user_id": username, "password": password},
                attributes={"username": username},
            )
        except LuciaError as error:
            return jsonify(error=error.code), 400
        get_auth().set_session(auth.create_session(user.user_id))
        return jsonify(user_id=user.user_id), 201

    @app.post("/signin")
    def sign_in() -> Any:
        try:
            key = auth.use_key("username", request.form.get("username", ""), request.form.get("password", ""))
        except LuciaError:
            return jsonify(error="Wrong username or password"), 400
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

    return app


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=8000)
