"""Lucia for any ASGI application: a pure ASGI middleware and request conversion.

::

    from lucia.integrations.asgi import LuciaMiddleware, get_auth

    app = LuciaMiddleware(my_asgi_app, auth=auth)  # auth = Lucia(adapter=..., env="PROD")

    # inside the wrapped app, for an HTTP scope:
    session, user = await get_auth(scope).validate_user()

The middleware puts an :class:`~lucia.AuthRequest` at ``scope["state"]["auth"]`` (which
Starlette, FastAPI and Litestar show as ``request.state.auth``) and appends the
``Set-Cookie`` headers it asks for (a renewed session,
:meth:`~lucia.AuthRequest.set_session`) to the response start message; other cookies
are left alone. Ask for cookies before the response starts: afterwards they raise
``RuntimeError`` instead of being lost silently.

An unsafe request (not GET, HEAD or OPTIONS) that fails the CSRF check of
:class:`~lucia.CsrfProtection` is answered ``403`` before the application runs, except
on ``csrf_exempt_paths`` (webhooks): those requests reach the application but never get
a session from their cookie. A :class:`~lucia.TooManyRequestsError` escaping the
application becomes ``429`` with ``Retry-After``, a :class:`~lucia.StorageError`
``503`` (when the response has not started yet).

Start-up and shutdown: :func:`lifespan` is a lifespan context for Starlette, FastAPI
and Litestar (connect, check and optionally create the schema; close);
:class:`LifespanMiddleware` answers the lifespan protocol for an application that has
none of its own (Django's ``ASGIHandler``)::

    application = LifespanMiddleware(LuciaMiddleware(app, auth=auth), auth=auth, create_schema=True)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, MutableMapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from lucia._core import Lucia
from lucia._request import AuthRequest, LuciaRequest
from lucia.integrations._common import (
    AnyLucia,
    ErrorResponse,
    PendingCookies,
    RequestOptions,
    error_response,
    running,
)
from lucia.integrations._common import start as start_lucia
from lucia.integrations._common import stop as stop_lucia

__all__ = [
    "ASGIApp",
    "LifespanMiddleware",
    "LuciaMiddleware",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "get_auth",
    "lifespan",
    "lucia_request",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def lucia_request(scope: Scope) -> LuciaRequest:
    """The :class:`~lucia.LuciaRequest` of an HTTP scope.

    The request's own origin is ``scope["scheme"]`` and the ``Host`` header (or, without
    one, ``scope["server"]``). Behind a TLS-terminating proxy, run a proxy-headers
    middleware first (uvicorn's ``--proxy-headers``) so that the scheme is ``https``.
    Headers stay pairs, so several ``Cookie`` headers all count.
    """
    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope.get("headers", ())]
    host = next((value for name, value in headers if name.lower() == "host"), None)
    if host is None:
        server = scope.get("server")
        host = f"{server[0]}:{server[1]}" if server else ""
    path = scope.get("raw_path") or scope.get("path", "/").encode("utf-8")
    query = scope.get("query_string", b"")
    url = f"{scope.get('scheme', 'http')}://{host}{path.decode('latin-1')}"
    if query:
        url += "?" + query.decode("latin-1")
    client = scope.get("client")
    return LuciaRequest(scope.get("method", "GET"), url, headers, str(client[0]) if client else None)


def get_auth(scope: Scope) -> AuthRequest:
    """The :class:`~lucia.AuthRequest` the middleware put on ``scope``.

    Raises:
        RuntimeError: If the request did not pass through :class:`LuciaMiddleware`.
    """
    auth = scope.get("state", {}).get("auth")
    if not isinstance(auth, AuthRequest):
        raise RuntimeError("Lucia is not installed: wrap the application in LuciaMiddleware")
    return auth


class LuciaMiddleware(RequestOptions[Lucia]):
    """Binds Lucia to every HTTP request of an ASGI application.

    Args:
        app: The ASGI application to wrap.
        auth: The :class:`~lucia.Lucia` to bind to requests.
        csrf_exempt_paths: Paths whose unsafe requests are not refused with ``403`` when
            they fail the CSRF check (webhooks, token APIs). An entry ending in ``/``
            exempts every path under it.
        allow_bearer: Also accept ``Authorization: Bearer <token>`` (API clients).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        auth: Lucia,
        csrf_exempt_paths: Collection[str] = (),
        allow_bearer: bool = False,
    ) -> None:
        super().__init__(auth=auth, csrf_exempt_paths=csrf_exempt_paths, allow_bearer=allow_bearer)
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        credentials = self._accept(lucia_request(scope), scope.get("path", "/"))
        if isinstance(credentials, ErrorResponse):
            await _send_error(send, credentials)
            return
        pending = PendingCookies()
        scope.setdefault("state", {})["auth"] = AuthRequest(self.auth, credentials, pending.set)

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookies = pending.headers()
                if cookies:
                    headers = list(message.get("headers", ()))
                    headers.extend((b"set-cookie", value.encode("latin-1")) for value in cookies)
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_cookies)
        except Exception as error:
            answer = error_response(error)
            if answer is None or pending.sent:  # not ours, or too late to answer
                raise
            await _send_error(send_with_cookies, answer)


async def _send_error(send: Send, answer: ErrorResponse) -> None:
    body = answer.text.encode()
    headers = [(name.lower().encode(), value.encode("latin-1")) for name, value in answer.all_headers]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})  # Quart 0.23 reads it


def lifespan(
    auth: AnyLucia, *, create_schema: bool = False, schema: Mapping[str, Any] | None = None
) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    """A lifespan for ``Starlette(lifespan=...)``, ``FastAPI(lifespan=...)`` or ``Litestar(lifespan=[...])``.

    At start-up it creates the schema (with ``create_schema=True``), connects the
    adapters and checks the schema (:meth:`lucia.Lucia.connect`), so a missing table or
    column stops the server before it serves; at shutdown it closes the adapters (their
    threads and pools), so the server stops promptly on SIGTERM. Inside your own
    lifespan: ``async with lifespan(auth)(app): yield``.

    Args:
        auth: The :class:`~lucia.Lucia` (or :class:`~lucia.SyncLucia`) to run.
        create_schema: Create missing tables at start-up (``CREATE TABLE IF NOT EXISTS``).
        schema: Keyword arguments for the adapter's ``create_schema()``,
            e.g. ``{"user_columns": {"username": "text"}}``.
    """

    def enter(app: Any) -> AbstractAsyncContextManager[None]:
        return running(auth, create_schema=create_schema, schema=schema)

    return enter


class LifespanMiddleware:
    """Answers the ASGI lifespan protocol for an application without one (Django's ``ASGIHandler``).

    ``lifespan.startup`` runs :func:`lifespan`'s start-up, ``lifespan.shutdown`` its
    shutdown; a failed start-up is reported as ``lifespan.startup.failed``, so the
    server exits instead of serving. Lifespan events are not passed on to ``app``
    (an application with a lifespan of its own uses :func:`lifespan` inside it); HTTP
    and websocket connections are.

    Args:
        app: The ASGI application.
        auth: The :class:`~lucia.Lucia` (or :class:`~lucia.SyncLucia`) to run.
        create_schema: Create missing tables at start-up.
        schema: Keyword arguments for the adapter's ``create_schema()``.
    """

    def __init__(
        self, app: ASGIApp, *, auth: AnyLucia, create_schema: bool = False, schema: Mapping[str, Any] | None = None
    ) -> None:
        self.app = app
        self.auth = auth
        self.create_schema = create_schema
        self.schema = schema

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await start_lucia(self.auth, create_schema=self.create_schema, schema=self.schema)
                except Exception as error:
                    await stop_lucia(self.auth)
                    await send({"type": "lifespan.startup.failed", "message": f"{type(error).__name__}: {error}"})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await stop_lucia(self.auth)
                except Exception as error:
                    await send({"type": "lifespan.shutdown.failed", "message": f"{type(error).__name__}: {error}"})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return
