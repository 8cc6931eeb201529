"""A framework-free ASGI app with Lucia: sign-up, sign-in, a protected route, sign-out.

Run it with ``python docs/examples/frameworks/asgi_app.py`` (SQLite file ``app.db``).
The tests import :func:`create_app` and run it. Everything a framework would do
(routing, forms, JSON) is spelled out, so only Lucia's part is left:
:class:`~lucia.integrations.asgi.LuciaMiddleware`, :func:`~lucia.integrations.asgi.get_auth`
and :class:`~lucia.integrations.asgi.LifespanMiddleware` (start-up and shutdown).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from lucia import DuplicateKeyError, InvalidCredentialsError, InvalidInputError, Lucia, PrimaryKey
from lucia.integrations.asgi import LifespanMiddleware, LuciaMiddleware, Receive, Scope, Send, get_auth
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter

#: What ``create_schema()`` adds for this app: a ``username`` column on the user table.
SCHEMA = {"user_columns": {"username": "string"}}


async def _form(receive: Receive) -> dict[str, str]:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


async def _respond(
    send: Send, status: int, payload: Any = None, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(payload).encode() if payload is not None else b""
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


def create_app(database: str = "app.db", **lucia_options: Any) -> LifespanMiddleware:
    """The app on a SQLite file; ``lucia_options`` go to :class:`lucia.Lucia`."""
    # "DEV" serves plain http://127.0.0.1; "PROD" (behind https) makes the cookie Secure.
    lucia_options.setdefault("env", "DEV")
    auth = Lucia(adapter=SQLiteAdapter(database), **lucia_options)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        request = get_auth(scope)
        route = (scope["method"], scope["path"])
        if route == ("POST", "/signup"):
            form = await _form(receive)
            username, password = form.get("username", ""), form.get("password", "")
            try:
                user = await auth.create_user(
                    primary_key=PrimaryKey("username", username, password=password),
                    attributes={"username": username},
                )
            except InvalidInputError as error:  # an empty or oversized username, a password over the limit
                return await _respond(send, 400, {"error": error.detail})
            except DuplicateKeyError:
                return await _respond(send, 409, {"error": "This username is taken."})
            # A StorageError (database down) is answered 503 by LuciaMiddleware.
            request.set_session(await auth.create_session(user.user_id))
            return await _respond(send, 201, {"user_id": user.user_id})
        if route == ("POST", "/signin"):
            form = await _form(receive)
            try:
                key = await auth.use_key(
                    "username", form.get("username", ""), form.get("password", ""), client=request.client
                )
            except (InvalidCredentialsError, InvalidInputError):  # never say which part was wrong
                return await _respond(send, 400, {"error": "Wrong username or password"})
            # TooManyRequestsError is answered 429 with Retry-After by LuciaMiddleware.
            request.set_session(await auth.create_session(key.user_id))
            query = parse_qs(scope["query_string"].decode("latin-1"))
            target = safe_redirect(query.get("next", [None])[0], default="/")
            return await _respond(send, 303, headers=[(b"location", target.encode())])
        if route == ("POST", "/webhooks/payment"):  # exempt from the CSRF 403, never signed in cross-origin
            return await _respond(send, 200, {"received": True, "signed_in": await request.validate() is not None})
        session, user = await request.validate_user()
        if scope["path"] in ("/me", "/signout") and user is None:
            return await _respond(send, 401, {"error": "Unauthorized"})
        if scope["path"] == "/me" and user is not None:
            return await _respond(send, 200, {"user_id": user.user_id})
        if route == ("POST", "/signout") and session is not None:
            await auth.invalidate_session(session.session_id)
            request.set_session(None)
            return await _respond(send, 200, {"signed_out": True})
        await _respond(send, 404, {"error": "Not found"})

    # Start-up: create missing tables, connect, check the schema. Shutdown: close.
    return LifespanMiddleware(
        LuciaMiddleware(app, auth=auth, csrf_exempt_paths=["/webhooks/"]),
        auth=auth,
        create_schema=True,
        schema=SCHEMA,
    )


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=8000)
