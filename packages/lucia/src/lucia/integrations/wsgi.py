"""Lucia for any WSGI application: a middleware and request conversion, via :class:`~lucia.SyncLucia`.

::

    from lucia import Lucia, SyncLucia
    from lucia.integrations.wsgi import LuciaMiddleware, get_auth

    sync_auth = SyncLucia(Lucia(adapter=SQLiteAdapter("app.db"), env="DEV"))
    # Connects and checks the schema now (create_schema=True creates missing tables first).
    application = LuciaMiddleware(my_wsgi_app, auth=sync_auth, create_schema=True)

    # inside the wrapped app:
    session, user = get_auth(environ).validate_user()

The middleware puts a :class:`~lucia.SyncAuthRequest`-style object (the methods of
:class:`~lucia.AuthRequest` without ``await``) at ``environ["lucia.auth"]`` and appends
the ``Set-Cookie`` headers it asks for to the headers the application passes to
``start_response``; other cookies are left alone. Ask for cookies before calling
``start_response``.

An unsafe request (not GET, HEAD or OPTIONS) that fails the CSRF check of
:class:`~lucia.CsrfProtection` is answered ``403`` before the application runs, except
on ``csrf_exempt_paths`` (webhooks): those requests reach the application but never get
a session from their cookie. A :class:`~lucia.TooManyRequestsError` raised by the
application becomes ``429`` with ``Retry-After``, a :class:`~lucia.StorageError` ``503``
(before ``start_response``; afterwards the error goes on to the server).

The adapters live on :class:`~lucia.SyncLucia`'s loop thread; it closes them (and stops)
at interpreter exit, or earlier with :meth:`LuciaMiddleware.close` (a server's shutdown
hook, such as gunicorn's ``worker_exit``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from http import HTTPStatus
from types import TracebackType
from typing import Any, Union

from lucia._core import Lucia
from lucia._request import LuciaRequest
from lucia._sync import SyncAuthRequest, SyncLucia
from lucia.integrations._common import ErrorResponse, IntegrationOptions, PendingCookies, error_response

__all__ = ["ENVIRON_KEY", "LuciaMiddleware", "StartResponse", "WSGIApp", "WSGIEnvironment", "get_auth", "lucia_request"]

#: Where the middleware puts the request's auth object in the WSGI environ.
ENVIRON_KEY = "lucia.auth"

WSGIEnvironment = dict[str, Any]
_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]

_UNPREFIXED = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}


def lucia_request(environ: WSGIEnvironment) -> LuciaRequest:
    """The :class:`~lucia.LuciaRequest` of a WSGI environ.

    The request's own origin is ``wsgi.url_scheme`` and the ``Host`` header (or, without
    one, ``SERVER_NAME:SERVER_PORT``); the client is ``REMOTE_ADDR``. Behind a reverse
    proxy, configure ``Lucia(proxy_headers=ProxyHeaders(...))``, or let the server or
    ``werkzeug.middleware.proxy_fix.ProxyFix`` rewrite the environ first. WSGI servers
    join repeated ``Cookie`` headers into one line.
    """
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if not isinstance(value, str):
            continue
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), value))
        elif key in _UNPREFIXED:
            headers.append((_UNPREFIXED[key], value))
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME', '')}:{environ.get('SERVER_PORT', '')}"
    path = f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}"
    url = f"{environ.get('wsgi.url_scheme', 'http')}://{host}{path}"
    query = environ.get("QUERY_STRING")
    if query:
        url += "?" + query
    remote = environ.get("REMOTE_ADDR")
    return LuciaRequest(str(environ.get("REQUEST_METHOD", "GET")), url, headers, str(remote) if remote else None)


def get_auth(environ: WSGIEnvironment) -> SyncAuthRequest:
    """The request's auth object the middleware put in ``environ``.

    Raises:
        RuntimeError: If the request did not pass through :class:`LuciaMiddleware`.
    """
    auth = environ.get(ENVIRON_KEY)
    if not isinstance(auth, SyncAuthRequest):
        raise RuntimeError("Lucia is not installed: wrap the application in LuciaMiddleware")
    return auth


def as_sync(auth: Union[Lucia, SyncLucia]) -> SyncLucia:
    """``auth`` itself if it is a :class:`~lucia.SyncLucia`, else one wrapping it."""
    return auth if isinstance(auth, SyncLucia) else SyncLucia(auth)


class LuciaMiddleware(IntegrationOptions[SyncLucia]):
    """Binds Lucia to every request of a WSGI application.

    Args:
        app: The WSGI application to wrap.
        auth: A :class:`~lucia.SyncLucia` (or a :class:`~lucia.Lucia`, wrapped in one).
        csrf_exempt_paths: Paths (``PATH_INFO``) whose unsafe requests are not refused
            with ``403`` when they fail the CSRF check. An entry ending in ``/`` exempts
            every path under it.
        allow_bearer: Also accept ``Authorization: Bearer <token>`` (API clients).
        connect: Connect the adapters and check the schema now, at start-up
            (:meth:`lucia.Lucia.connect`); ``False`` leaves it to the first request.
        create_schema: Create missing tables first (``CREATE TABLE IF NOT EXISTS``).
        schema: Keyword arguments for the adapter's ``create_schema()``,
            e.g. ``{"user_columns": {"username": "text"}}``.

    Raises:
        lucia.ConfigurationError: At start-up, when the storage lacks a table or column.
    """

    def __init__(
        self,
        app: WSGIApp,
        *,
        auth: Union[Lucia, SyncLucia],
        csrf_exempt_paths: Collection[str] = (),
        allow_bearer: bool = False,
        connect: bool = True,
        create_schema: bool = False,
        schema: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            auth=as_sync(auth),
            csrf_exempt_paths=csrf_exempt_paths,
            allow_bearer=allow_bearer,
            create_schema=create_schema,
            schema=schema,
        )
        self.app = app
        if connect or create_schema:
            self._start_sync()

    def close(self) -> None:
        """Close the adapters and stop :class:`~lucia.SyncLucia`'s loop (at shutdown)."""
        self.auth.close()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Handle one WSGI request."""
        credentials = self._accept(lucia_request(environ), environ.get("PATH_INFO", ""))
        if isinstance(credentials, ErrorResponse):
            return _error(start_response, credentials)
        pending = PendingCookies()
        environ[ENVIRON_KEY] = self.auth.bind(credentials, pending.set)

        def start_with_cookies(
            status: str, headers: list[tuple[str, str]], exc_info: _ExcInfo | None = None
        ) -> Callable[[bytes], object]:
            headers = [*headers, *(("Set-Cookie", value) for value in pending.headers())]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            return self.app(environ, start_with_cookies)
        except Exception as error:
            answer = error_response(error)
            if answer is None or pending.sent:  # not ours, or too late to answer
                raise
            return _error(start_with_cookies, answer)


def _error(start_response: StartResponse, answer: ErrorResponse) -> list[bytes]:
    body = answer.text.encode()
    status = f"{answer.status} {HTTPStatus(answer.status).phrase}"
    start_response(status, [*answer.all_headers, ("Content-Length", str(len(body)))])
    return [body]
