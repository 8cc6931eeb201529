"""Lucia for Django: a middleware, a ``login_required`` decorator and a ``lucia`` management command.

``settings.py``::

    INSTALLED_APPS = [..., "lucia.integrations.django"]       # the `lucia` management command
    MIDDLEWARE = [..., "lucia.integrations.django.LuciaMiddleware"]
    LUCIA_AUTH = "myproject.auth.lucia"          # dotted path to a Lucia (or SyncLucia), or the object
    LUCIA_SCHEMA = {"user_columns": {"username": "text"}}   # create_schema() options (optional)
    LUCIA_CREATE_SCHEMA = False                  # optional: create missing tables at start-up
    LUCIA_CSRF_EXEMPT_PATHS = ["/webhooks/"]     # optional
    LUCIA_ALLOW_BEARER = False                   # optional

Views, under WSGI or ASGI alike::

    from lucia.integrations.django import login_required

    @login_required                              # 401 (or login_required(login_url="/login"))
    def me(request):                             # a sync view: a sync API
        session, user = request.auth.validate_user()
        request.lucia.invalidate_all_user_sessions(user.user_id, except_session_id=session.session_id)
        return JsonResponse({"user_id": user.user_id})

    @login_required
    async def me_async(request):                 # an async view: an async API
        session, user = await request.auth.validate_user()
        return JsonResponse({"user_id": user.user_id})

``request.auth`` (the request's session) and ``request.lucia`` (every other method)
follow the *view*, not the server: a sync view gets the methods without ``await`` and
an async view gets coroutines, under a WSGI server and under an ASGI server, so a
project moves from gunicorn to uvicorn without rewriting views. The adapter's
connections stay on the one event loop that opened them:

- ``LUCIA_AUTH`` a :class:`~lucia.Lucia` under ASGI: the server's loop. Async views
  await it directly; sync views (run by Django in a worker thread) reach it through
  ``async_to_sync``.
- Under WSGI (or with a :class:`~lucia.SyncLucia`): :class:`~lucia.SyncLucia`'s loop
  thread. Sync views call it directly; async views (run by Django on a fresh loop of
  their own) hop to it.

Cookies Lucia asks for are set on the response (``response.set_cookie`` semantics:
other cookies are left alone). An unsafe request (not GET, HEAD or OPTIONS) that fails
the CSRF check of :class:`~lucia.CsrfProtection` is answered ``403`` before the view
runs, except on ``LUCIA_CSRF_EXEMPT_PATHS`` (those requests never get a session from
their cookie). A view that lets a :class:`~lucia.TooManyRequestsError` escape gets
``429`` with ``Retry-After``; a :class:`~lucia.StorageError`, ``503``.

Start-up and shutdown: under WSGI the middleware connects and checks the schema when
Django builds it (at server start-up; ``LUCIA_CREATE_SCHEMA`` creates missing tables
first), and :class:`~lucia.SyncLucia` closes the adapters at interpreter exit (or call
:func:`close`). Django's ``ASGIHandler`` has no lifespan: wrap it in
:class:`lucia.integrations.asgi.LifespanMiddleware`, which connects and checks on the
server's loop at start-up and closes at shutdown (otherwise aiosqlite's threads keep
the server from stopping). ``python manage.py lucia create_schema`` creates the tables
as a deployment step.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Awaitable, Callable, Container, Mapping
from functools import partial, wraps
from http.cookies import Morsel
from typing import Any, TypeVar, Union, overload
from urllib.parse import urlencode

import anyio.to_thread
from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.utils.module_loading import import_string

from lucia._core import Lucia
from lucia._models import Session, User
from lucia._request import AuthRequest, LuciaRequest
from lucia._sync import AuthRequestWrapper, SyncAuthRequest, SyncLucia, _awaited
from lucia.cookies import Cookie
from lucia.integrations._common import ErrorResponse, PendingCookies, accept, error_response, start_sync

__all__ = ["LuciaMiddleware", "close", "login_required", "lucia_request"]

V = TypeVar("V", bound=Callable[..., Any])
T = TypeVar("T")


def lucia_request(request: HttpRequest) -> LuciaRequest:
    """The :class:`~lucia.LuciaRequest` of a Django request.

    The request's own origin is ``request.scheme`` (which honours
    ``SECURE_PROXY_SSL_HEADER`` behind a proxy) and the raw ``Host`` header, read
    without ``get_host()`` so that a bad host makes the origin unknown instead of
    raising; the client is ``REMOTE_ADDR``. Behind a reverse proxy, also configure
    ``Lucia(proxy_headers=ProxyHeaders(...))`` for the host and the client's address.
    """
    meta = request.META
    host = meta.get("HTTP_HOST") or f"{meta.get('SERVER_NAME', '')}:{meta.get('SERVER_PORT', '')}"
    url = f"{request.scheme}://{host}{request.get_full_path()}"
    remote = meta.get("REMOTE_ADDR")
    return LuciaRequest(request.method or "GET", url, list(request.headers.items()), str(remote) if remote else None)


def _configured_auth() -> Union[Lucia, SyncLucia]:
    value = getattr(settings, "LUCIA_AUTH", None)
    if isinstance(value, str):
        value = import_string(value)
    if not isinstance(value, (Lucia, SyncLucia)):
        raise ImproperlyConfigured("settings.LUCIA_AUTH must be a Lucia or SyncLucia, or a dotted path to one")
    return value


def _schema_options() -> Mapping[str, Any] | None:
    value = getattr(settings, "LUCIA_SCHEMA", None)
    if value is not None and not isinstance(value, Mapping):
        raise ImproperlyConfigured('settings.LUCIA_SCHEMA must be create_schema() options: {"user_columns": {...}}')
    return value


# The SyncLucia the integration runs a configured Lucia on under WSGI: one per Lucia, so
# that every handler of the process (a test client builds several) shares one loop.
_lock = threading.Lock()
_runner: tuple[Lucia, SyncLucia] | None = None


def _sync_for(lucia: Lucia) -> SyncLucia:
    global _runner
    with _lock:
        if _runner is None or _runner[0] is not lucia:
            _runner = (lucia, SyncLucia(lucia))
        return _runner[1]


def _configured_sync() -> tuple[SyncLucia, bool]:
    """The configured Lucia as a SyncLucia, and whether the caller must close it (a new one)."""
    configured = _configured_auth()
    return (configured, False) if isinstance(configured, SyncLucia) else (SyncLucia(configured), True)


def close() -> None:
    """Close the adapters and the loop thread the integration runs ``LUCIA_AUTH`` on (WSGI).

    At interpreter exit this happens by itself; call it from a server's shutdown hook
    (gunicorn's ``worker_exit``) or a test. Under ASGI, :class:`~lucia.integrations.asgi.LifespanMiddleware`
    closes on the server's loop instead.
    """
    global _runner
    configured = _configured_auth()
    with _lock:
        runner, _runner = _runner, None
    if isinstance(configured, SyncLucia):
        configured.close()
    elif runner is not None:
        runner[1].close()


class _LuciaMorsel(Morsel[str]):
    """A cookie that Django writes exactly as :meth:`lucia.Cookie.serialize` says."""

    def __init__(self, cookie: Cookie) -> None:
        super().__init__()
        self.set(cookie.name, cookie.value, cookie.value)
        self._serialized = cookie.serialize()

    def OutputString(self, attrs: Container[str] | None = None) -> str:
        return self._serialized


def _set_cookies(response: HttpResponseBase, pending: PendingCookies) -> None:
    pending.sent = True
    for cookie in pending.cookies.values():
        # Replaces only a cookie of the same name; every other cookie stays.
        response.cookies[cookie.name] = _LuciaMorsel(cookie)


def _http_response(answer: ErrorResponse) -> HttpResponse:
    response = HttpResponse(answer.text, status=answer.status, content_type="text/plain; charset=utf-8")
    for name, value in answer.headers:
        response[name] = value
    return response


class _ServerLoopLucia(SyncLucia):
    """:class:`~lucia.SyncLucia` for a sync view under ASGI: each call runs on the server's loop.

    Django runs a sync view in a worker thread; ``async_to_sync`` hands each call back
    to the event loop the server runs (where the adapter's connections live).
    """

    def __init__(self, auth: Lucia) -> None:
        super().__init__(auth)
        self._native = None  # every call goes to the server's loop, where the adapter lives

    def call(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Run ``await func(*args, **kwargs)`` on the server's event loop."""
        result: T = async_to_sync(_awaited)(func, args, kwargs)
        return result


class _HopLucia:
    """:class:`~lucia.Lucia`'s async methods for an async view under WSGI, run on SyncLucia's loop.

    Django runs such a view on a fresh event loop; the adapter's connections belong to
    :class:`~lucia.SyncLucia`'s loop, so each coroutine is run there from a worker thread.
    Attributes that are not coroutine methods are :class:`~lucia.Lucia`'s own.
    """

    def __init__(self, sync: SyncLucia) -> None:
        self.sync = sync

    async def run(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """``await func(*args, **kwargs)`` on SyncLucia's loop."""
        return await anyio.to_thread.run_sync(partial(self.sync.call, func, *args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.sync.auth, name)
        if not inspect.iscoroutinefunction(value):
            return value
        return wraps(value)(partial(self.run, value))

    def __repr__(self) -> str:
        return f"<Lucia on {self.sync!r}>"


class _HopAuthRequest(AuthRequestWrapper):
    """:class:`~lucia.AuthRequest` for an async view under WSGI (its coroutines run on SyncLucia's loop)."""

    def __init__(self, auth: _HopLucia, inner: AuthRequest) -> None:
        super().__init__(inner)
        self.auth = auth

    async def validate_user(self) -> tuple[Session, User] | tuple[None, None]:
        """The request's live session and its user, or ``(None, None)``."""
        return await self.auth.run(self.inner.validate_user)

    async def validate(self) -> Session | None:
        """The request's live session, or ``None``. Renews an idle session and sets its cookie."""
        return await self.auth.run(self.inner.validate)


AnyAuthRequest = Union[AuthRequest, SyncAuthRequest, _HopAuthRequest]


class LuciaMiddleware:
    """Puts the request's session on ``request.auth`` and Lucia on ``request.lucia``; sync and async capable.

    Configured by ``settings.LUCIA_AUTH`` (required), ``LUCIA_SCHEMA``,
    ``LUCIA_CREATE_SCHEMA``, ``LUCIA_CSRF_EXEMPT_PATHS`` and ``LUCIA_ALLOW_BEARER``, read
    when Django builds its middleware chain. Under WSGI it connects and checks the
    schema then (``LUCIA_CONNECT = False`` leaves that to the first request).
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        configured = _configured_auth()
        self.lucia = configured.auth if isinstance(configured, SyncLucia) else configured
        # Whose event loop holds the adapter's connections: a SyncLucia's, or (None) the ASGI server's.
        self.sync: SyncLucia | None
        if isinstance(configured, SyncLucia):
            self.sync = configured
        else:
            self.sync = None if self.is_async else _sync_for(configured)
        self._server_loop = _ServerLoopLucia(self.lucia)
        self._hop = _HopLucia(self.sync) if self.sync is not None else None
        self.csrf_exempt_paths = tuple(getattr(settings, "LUCIA_CSRF_EXEMPT_PATHS", ()))
        self.allow_bearer = bool(getattr(settings, "LUCIA_ALLOW_BEARER", False))
        create = bool(getattr(settings, "LUCIA_CREATE_SCHEMA", False))
        if self.sync is not None and (create or getattr(settings, "LUCIA_CONNECT", True)):
            start_sync(self.sync, create_schema=create, schema=_schema_options())
        if self.is_async:
            markcoroutinefunction(self)
            self.process_view = self._process_view_async  # type: ignore[method-assign, assignment]

    def _flavour(self, inner: AuthRequest, *, for_async: bool) -> tuple[AnyAuthRequest, Any]:
        """``request.auth`` and ``request.lucia`` for a sync or an async view."""
        if self.sync is None:  # the ASGI server's loop
            return (inner, self.lucia) if for_async else (SyncAuthRequest(self._server_loop, inner), self._server_loop)
        if for_async:
            assert self._hop is not None
            return _HopAuthRequest(self._hop, inner), self._hop
        return SyncAuthRequest(self.sync, inner), self.sync

    def _bind(self, request: HttpRequest) -> HttpResponse | PendingCookies:
        credentials = accept(
            self.lucia,
            lucia_request(request),
            request.path_info,
            self.csrf_exempt_paths,
            allow_bearer=self.allow_bearer,
        )
        if isinstance(credentials, ErrorResponse):
            return _http_response(credentials)
        pending = PendingCookies()
        inner = AuthRequest(self.lucia, credentials, pending.set)
        request._lucia_inner = inner  # type: ignore[attr-defined, unused-ignore]
        # Until the view is known (other middleware, a 404): the flavour of this mode.
        request.auth, request.lucia = self._flavour(inner, for_async=self.is_async)  # type: ignore[attr-defined, unused-ignore]
        return pending

    def __call__(self, request: HttpRequest) -> Any:
        """Handle one request (returns a coroutine in async mode)."""
        if self.is_async:
            return self.__acall__(request)
        pending = self._bind(request)
        if isinstance(pending, HttpResponse):
            return pending
        response: HttpResponseBase = self.get_response(request)
        _set_cookies(response, pending)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """Handle one request in async mode."""
        pending = self._bind(request)
        if isinstance(pending, HttpResponse):
            return pending
        response: HttpResponseBase = await self.get_response(request)
        _set_cookies(response, pending)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> None:
        """Give the view the API of its own kind: sync for a sync view, async for an async one."""
        self._match_view(request, view_func)

    async def _process_view_async(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> None:
        self._match_view(request, view_func)

    def _match_view(self, request: HttpRequest, view_func: Callable[..., Any]) -> None:
        inner = getattr(request, "_lucia_inner", None)
        if isinstance(inner, AuthRequest):
            request.auth, request.lucia = self._flavour(  # type: ignore[attr-defined, unused-ignore]
                inner, for_async=iscoroutinefunction(view_func)
            )

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """``429`` with ``Retry-After`` for a throttled sign-in, ``503`` when the storage is down."""
        answer = error_response(exception)
        return None if answer is None else _http_response(answer)


def _auth(request: HttpRequest) -> AnyAuthRequest:
    auth = getattr(request, "auth", None)
    if not isinstance(auth, (AuthRequest, SyncAuthRequest, _HopAuthRequest)):
        raise ImproperlyConfigured("add lucia.integrations.django.LuciaMiddleware to settings.MIDDLEWARE")
    return auth


def _refuse(request: HttpRequest, login_url: str | None) -> HttpResponseBase:
    if login_url is None:
        return HttpResponse("Unauthorized", status=401, content_type="text/plain")
    return HttpResponseRedirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")


def _validate_sync(auth: AnyAuthRequest) -> Session | None:
    if isinstance(auth, SyncAuthRequest):
        return auth.validate()
    # An async request object in a sync context (a view called without process_view).
    return async_to_sync(auth.validate)()


async def _validate_async(auth: AnyAuthRequest) -> Session | None:
    if isinstance(auth, SyncAuthRequest):
        return await sync_to_async(auth.validate)()
    return await auth.validate()


@overload
def login_required(view: V, /) -> V: ...
@overload
def login_required(*, login_url: str | None = None) -> Callable[[V], V]: ...
def login_required(view: V | None = None, /, *, login_url: str | None = None) -> V | Callable[[V], V]:
    """Decorate a view (sync or async) so that it runs only for a request with a live session.

    Without a session the answer is ``401``, or with ``login_url`` a redirect to
    ``login_url?next=<this path>`` (check ``next`` with :func:`lucia.redirects.safe_redirect`).

    Args:
        view: The view (when used as ``@login_required``).
        login_url: Where to send anonymous requests instead of answering ``401``.
    """

    def decorate(view: V) -> V:
        if iscoroutinefunction(view):

            @wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                if await _validate_async(_auth(request)) is None:
                    return _refuse(request, login_url)
                result: Awaitable[Any] = view(request, *args, **kwargs)
                return await result

            return async_wrapper  # type: ignore[return-value]

        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if _validate_sync(_auth(request)) is None:
                return _refuse(request, login_url)
            return view(request, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate if view is None else decorate(view)
