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
a session from their cookie.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any

from lucia._core import Lucia
from lucia._request import AuthRequest, LuciaRequest
from lucia.integrations._common import FORBIDDEN_TEXT, PendingCookies, accept

__all__ = ["ASGIApp", "LuciaMiddleware", "Message", "Receive", "Scope", "Send", "get_auth", "lucia_request"]

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


class LuciaMiddleware:
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
        self.app = app
        self.auth = auth
        self.csrf_exempt_paths = tuple(csrf_exempt_paths)
        self.allow_bearer = allow_bearer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        credentials = accept(
            self.auth,
            lucia_request(scope),
            scope.get("path", "/"),
            self.csrf_exempt_paths,
            allow_bearer=self.allow_bearer,
        )
        if credentials is None:
            await _forbidden(send)
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

        await self.app(scope, receive, send_with_cookies)


async def _forbidden(send: Send) -> None:
    body = FORBIDDEN_TEXT.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
