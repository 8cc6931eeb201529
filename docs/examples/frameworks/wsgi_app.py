"""A framework-free WSGI app with Lucia: sign-up, sign-in, a protected route, sign-out.

Run it with ``python docs/examples/frameworks/wsgi_app.py`` (SQLite file ``app.db``).
The tests import :func:`create_app` and run it. Everything a framework would do
(routing, forms, JSON) is spelled out, so only Lucia's part is left:
:class:`~lucia.integrations.wsgi.LuciaMiddleware` and :func:`~lucia.integrations.wsgi.get_auth`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import partial
from typing import Any
from urllib.parse import parse_qs

from lucia import DuplicateKeyError, InvalidCredentialsError, InvalidInputError, Lucia, PrimaryKey, SyncLucia
from lucia.adapters import Adapter
from lucia.integrations.wsgi import LuciaMiddleware, StartResponse, WSGIEnvironment, get_auth
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter

#: What ``create_schema()`` adds for this app: a ``username`` column on the user table.
SCHEMA = {"user_columns": {"username": "string"}}
_REASONS = {
    200: "OK",
    201: "Created",
    303: "See Other",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    409: "Conflict",
}


def _form(environ: WSGIEnvironment) -> dict[str, str]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body).items()}


def _respond(
    start_response: StartResponse, status: int, payload: Any = None, location: str | None = None
) -> list[bytes]:
    body = json.dumps(payload).encode() if payload is not None else b""
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if location is not None:
        headers.append(("Location", location))
    start_response(f"{status} {_REASONS[status]}", headers)
    return [body]


def create_app(database: str = "app.db", adapter: Adapter | None = None, **lucia_options: Any) -> LuciaMiddleware:
    """The app on a SQLite file (or on ``adapter``); ``lucia_options`` go to :class:`lucia.Lucia`."""
    # "DEV" serves plain http://127.0.0.1; "PROD" (behind https) makes the cookie Secure.
    lucia_options.setdefault("env", "DEV")
    # SyncLucia runs the core in the calling thread over the adapter's blocking twin
    # (sqlite3 here, psycopg's pool for PostgresAdapter): no event loop in a WSGI worker.
    auth = SyncLucia(Lucia(adapter=adapter or SQLiteAdapter(database), **lucia_options))

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = get_auth(environ)
        route = (environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""))
        respond = partial(_respond, start_response)
        if route == ("POST", "/signup"):
            form = _form(environ)
            username, password = form.get("username", ""), form.get("password", "")
            try:
                user = auth.create_user(
                    primary_key=PrimaryKey("username", username, password=password),
                    attributes={"username": username},
                )
            except InvalidInputError as error:  # an empty or oversized username, a password over the limit
                return respond(400, {"error": error.detail})
            except DuplicateKeyError:
                return respond(409, {"error": "This username is taken."})
            # A StorageError (database down) is answered 503 by LuciaMiddleware.
            request.set_session(auth.create_session(user.user_id))
            return respond(201, {"user_id": user.user_id})
        if route == ("POST", "/signin"):
            form = _form(environ)
            try:
                key = auth.use_key(
                    "username", form.get("username", ""), form.get("password", ""), client=request.client
                )
            except (InvalidCredentialsError, InvalidInputError):  # never say which part was wrong
                return respond(400, {"error": "Wrong username or password"})
            # TooManyRequestsError is answered 429 with Retry-After by LuciaMiddleware.
            request.set_session(auth.create_session(key.user_id))
            query = parse_qs(environ.get("QUERY_STRING", ""))
            return respond(303, location=safe_redirect(query.get("next", [None])[0], default="/"))
        if route == ("POST", "/webhooks/payment"):  # exempt from the CSRF 403, never signed in cross-origin
            return respond(200, {"received": True, "signed_in": request.validate() is not None})
        session, user = request.validate_user()
        if route[1] in ("/me", "/signout") and user is None:
            return respond(401, {"error": "Unauthorized"})
        if route[1] == "/me" and user is not None:
            return respond(200, {"user_id": user.user_id})
        if route == ("POST", "/signout") and session is not None:
            auth.invalidate_session(session.session_id)
            request.set_session(None)
            return respond(200, {"signed_out": True})
        return respond(404, {"error": "Not found"})

    # Start-up (now): create missing tables, connect, check the schema. The adapter is
    # closed with SyncLucia at interpreter exit, or by application.close().
    return LuciaMiddleware(app, auth=auth, csrf_exempt_paths=["/webhooks/"], create_schema=True, schema=SCHEMA)


if __name__ == "__main__":
    from waitress import serve

    serve(create_app(), host="127.0.0.1", port=8000)
