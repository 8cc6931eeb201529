"""Lucia for aiohttp: a middleware that binds Lucia to each request.

::

    from aiohttp import web
    from lucia.integrations.aiohttp import get_auth, require_user, setup

    app = web.Application()
    setup(app, auth=auth, create_schema=True)  # auth = Lucia(adapter=..., env="DEV")

    async def profile(request: web.Request) -> web.Response:
        session, user = await require_user(request)  # 401 without a session
        return web.json_response({"user_id": user.user_id})

:func:`setup` installs a middleware that puts an :class:`~lucia.AuthRequest` on every
request (``request[AUTH_KEY]``, or :func:`get_auth`) and a response hook that appends
the ``Set-Cookie`` it asks for (a renewed session, :meth:`~lucia.AuthRequest.set_session`)
to whatever response goes out, including a raised ``web.HTTPFound``; other cookies
are left alone. An unsafe request (not GET, HEAD or OPTIONS) that fails the CSRF check
of :class:`~lucia.CsrfProtection` is answered ``403`` before any handler runs, except on
``csrf_exempt_paths``. A :class:`~lucia.TooManyRequestsError` raised by a handler becomes
``429`` with ``Retry-After``, a :class:`~lucia.StorageError` ``503``.

:func:`setup` also adds a ``cleanup_ctx`` entry: at start-up it creates the schema (with
``create_schema=True``), connects and checks it; at cleanup it closes the adapters.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from lucia._core import Lucia
from lucia._models import Session, User
from lucia._request import AuthRequest, LuciaRequest
from lucia.integrations._common import ErrorResponse, PendingCookies, accept, error_response, running

__all__ = ["AUTH_KEY", "LUCIA_KEY", "get_auth", "lucia_request", "require_user", "setup"]

if TYPE_CHECKING or hasattr(web, "RequestKey"):
    #: Where the middleware puts the :class:`~lucia.AuthRequest`: ``request[AUTH_KEY]``.
    AUTH_KEY: Final = web.RequestKey("lucia_auth", AuthRequest)
    _COOKIES: Final = web.RequestKey("lucia_cookies", PendingCookies)
else:  # pragma: no cover - aiohttp < 3.14 has no typed request keys
    AUTH_KEY = "lucia_auth"
    _COOKIES = "lucia_cookies"

#: The application's :class:`~lucia.Lucia`: ``request.app[LUCIA_KEY]``.
LUCIA_KEY: Final = web.AppKey("lucia", Lucia)

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def lucia_request(request: web.BaseRequest) -> LuciaRequest:
    """The :class:`~lucia.LuciaRequest` for an aiohttp request.

    The URL is built from ``request.scheme`` and ``request.host`` (the ``Host`` header)
    without parsing them, so a malformed ``Host`` makes the request's own origin unknown
    (unsafe requests are then refused) instead of raising; the client is
    ``request.remote``. Behind a reverse proxy, configure
    ``Lucia(proxy_headers=ProxyHeaders(...))``.
    """
    url = f"{request.scheme}://{request.host}{request.raw_path}"
    return LuciaRequest(request.method, url, list(request.headers.items()), request.remote)


def setup(
    app: web.Application,
    *,
    auth: Lucia,
    csrf_exempt_paths: Collection[str] = (),
    allow_bearer: bool = False,
    create_schema: bool = False,
    schema: Mapping[str, Any] | None = None,
) -> None:
    """Install Lucia on an application (before it starts).

    Args:
        app: The application. Sub-applications see the same request object, so install
            Lucia once, on the root application.
        auth: The :class:`~lucia.Lucia` to bind to requests; also stored at ``app[LUCIA_KEY]``.
        csrf_exempt_paths: Paths whose unsafe requests are not refused with ``403`` when
            they fail the CSRF check (webhooks, token APIs). A path ending in ``/`` exempts
            everything under it. Such requests still never get a session from the cookie.
        allow_bearer: Also accept ``Authorization: Bearer <token>`` (for API clients).
        create_schema: Create missing tables at start-up (``CREATE TABLE IF NOT EXISTS``).
        schema: Keyword arguments for the adapter's ``create_schema()``,
            e.g. ``{"user_columns": {"username": "text"}}``.
    """
    app[LUCIA_KEY] = auth
    exempt = tuple(csrf_exempt_paths)

    @web.middleware
    async def lucia_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
        credentials = accept(auth, lucia_request(request), request.path, exempt, allow_bearer=allow_bearer)
        if isinstance(credentials, ErrorResponse):
            return _response(credentials)
        pending = PendingCookies()
        request[_COOKIES] = pending
        request[AUTH_KEY] = AuthRequest(auth, credentials, pending.set)
        try:
            return await handler(request)
        except Exception as error:
            answer = error_response(error)
            if answer is None:
                raise
            return _response(answer)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        async with running(auth, create_schema=create_schema, schema=schema):
            yield

    app.middlewares.append(lucia_middleware)
    app.on_response_prepare.append(_write_cookies)
    app.cleanup_ctx.append(lifecycle)


def _response(answer: ErrorResponse) -> web.Response:
    response = web.Response(status=answer.status, text=answer.text)
    for name, value in answer.headers:
        response.headers[name] = value
    return response


async def _write_cookies(request: web.Request, response: web.StreamResponse) -> None:
    """Append the request's pending cookies to its response, just before the headers go out."""
    pending = request.get(_COOKIES)
    if pending is None:
        return
    for value in pending.headers():
        response.headers.add("Set-Cookie", value)


def get_auth(request: web.Request) -> AuthRequest:
    """The request's :class:`~lucia.AuthRequest`.

    Raises:
        RuntimeError: If :func:`setup` was not called on the application.
    """
    try:
        return request[AUTH_KEY]
    except KeyError:
        raise RuntimeError(
            "Lucia is not installed on this application: call lucia.integrations.aiohttp.setup"
        ) from None


async def require_user(request: web.Request) -> tuple[Session, User]:
    """The request's session and user.

    Raises:
        aiohttp.web.HTTPUnauthorized: When the request has no live session.
    """
    session, user = await get_auth(request).validate_user()
    if session is None or user is None:
        raise web.HTTPUnauthorized(text="Unauthorized")
    return session, user
