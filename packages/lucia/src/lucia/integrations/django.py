"""Lucia for Django: a middleware (sync and async) and a ``login_required`` decorator.

``settings.py``::

    MIDDLEWARE = [..., "lucia.integrations.django.LuciaMiddleware"]
    LUCIA_AUTH = "myproject.auth.lucia"          # dotted path to a Lucia or SyncLucia (or the object)
    LUCIA_CSRF_EXEMPT_PATHS = ["/webhooks/"]     # optional
    LUCIA_ALLOW_BEARER = False                   # optional

Views::

    from lucia.integrations.django import login_required

    @login_required                              # 401 (or login_required(login_url="/login"))
    def me(request):
        session, user = request.auth.validate_user()          # sync view under WSGI
        return JsonResponse({"user_id": user.user_id})

    @login_required
    async def me_async(request):
        session, user = await request.auth.validate_user()    # async view under ASGI
        return JsonResponse({"user_id": user.user_id})

Under WSGI the middleware runs synchronously and ``request.auth`` has the methods of
:class:`~lucia.AuthRequest` without ``await`` (the async core runs on
:class:`~lucia.SyncLucia`'s loop thread); under ASGI it runs asynchronously and
``request.auth`` is an :class:`~lucia.AuthRequest`; ``request.auth.auth`` is the
matching ``SyncLucia`` or ``Lucia``. Cookies it asks for are set on the response
(``response.set_cookie``: other cookies are left alone).

An unsafe request (not GET, HEAD or OPTIONS) that fails the CSRF check of
:class:`~lucia.CsrfProtection` is answered ``403`` before the view runs, except on
``LUCIA_CSRF_EXEMPT_PATHS`` (those requests never get a session from their cookie).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container
from functools import wraps
from http.cookies import Morsel
from typing import Any, TypeVar, Union, overload
from urllib.parse import urlencode

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseForbidden, HttpResponseRedirect
from django.utils.module_loading import import_string

from lucia._core import Lucia
from lucia._models import Session
from lucia._request import AuthRequest, LuciaRequest
from lucia._sync import SyncAuthRequest, SyncLucia
from lucia.cookies import Cookie
from lucia.integrations._common import FORBIDDEN_TEXT, PendingCookies, accept

__all__ = ["LuciaMiddleware", "login_required", "lucia_request"]

V = TypeVar("V", bound=Callable[..., Any])


def lucia_request(request: HttpRequest) -> LuciaRequest:
    """The :class:`~lucia.LuciaRequest` of a Django request.

    The request's own origin is ``request.scheme`` (which honours
    ``SECURE_PROXY_SSL_HEADER`` behind a proxy) and the raw ``Host`` header, read
    without ``get_host()`` so that a bad host makes the origin unknown instead of raising.
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


class LuciaMiddleware:
    """Puts the request's auth object on ``request.auth``; sync and async capable.

    Configured by ``settings.LUCIA_AUTH`` (required), ``LUCIA_CSRF_EXEMPT_PATHS`` and
    ``LUCIA_ALLOW_BEARER``, read when Django builds its middleware chain.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        configured = _configured_auth()
        self.lucia = configured.auth if isinstance(configured, SyncLucia) else configured
        self.sync = configured if isinstance(configured, SyncLucia) else None
        self.csrf_exempt_paths = tuple(getattr(settings, "LUCIA_CSRF_EXEMPT_PATHS", ()))
        self.allow_bearer = bool(getattr(settings, "LUCIA_ALLOW_BEARER", False))

    def __call__(self, request: HttpRequest) -> Any:
        """Handle one request (returns a coroutine in async mode)."""
        if self.is_async:
            return self.__acall__(request)
        credentials = accept(
            self.lucia,
            lucia_request(request),
            request.path_info,
            self.csrf_exempt_paths,
            allow_bearer=self.allow_bearer,
        )
        if credentials is None:
            return HttpResponseForbidden(FORBIDDEN_TEXT, content_type="text/plain")
        if self.sync is None:
            self.sync = SyncLucia(self.lucia)
        pending = PendingCookies()
        request.auth = self.sync.bind(credentials, pending.set)  # type: ignore[attr-defined, unused-ignore]
        response: HttpResponseBase = self.get_response(request)
        _set_cookies(response, pending)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """Handle one request in async mode."""
        credentials = accept(
            self.lucia,
            lucia_request(request),
            request.path_info,
            self.csrf_exempt_paths,
            allow_bearer=self.allow_bearer,
        )
        if credentials is None:
            return HttpResponseForbidden(FORBIDDEN_TEXT, content_type="text/plain")
        pending = PendingCookies()
        request.auth = AuthRequest(self.lucia, credentials, pending.set)  # type: ignore[attr-defined, unused-ignore]
        response: HttpResponseBase = await self.get_response(request)
        _set_cookies(response, pending)
        return response


def _auth(request: HttpRequest) -> Union[AuthRequest, SyncAuthRequest]:
    auth = getattr(request, "auth", None)
    if not isinstance(auth, (AuthRequest, SyncAuthRequest)):
        raise ImproperlyConfigured("add lucia.integrations.django.LuciaMiddleware to settings.MIDDLEWARE")
    return auth


def _refuse(request: HttpRequest, login_url: str | None) -> HttpResponseBase:
    if login_url is None:
        return HttpResponse("Unauthorized", status=401, content_type="text/plain")
    return HttpResponseRedirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")


def _validate_sync(auth: Union[AuthRequest, SyncAuthRequest]) -> Session | None:
    if isinstance(auth, SyncAuthRequest):
        return auth.validate()
    # A sync view under ASGI: run the check on the server's own event loop.
    return async_to_sync(auth.validate)()


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
                auth = _auth(request)
                session = await auth.validate() if isinstance(auth, AuthRequest) else auth.validate()
                if session is None:
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
