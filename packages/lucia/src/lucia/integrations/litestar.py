"""Lucia for Litestar: a plugin with middleware, dependencies and a guard.

::

    from litestar import Litestar, get
    from lucia.integrations.litestar import AuthDependency, LuciaPlugin, requires_user

    @get("/me", guards=[requires_user])  # 401 without a session
    async def me(auth: AuthDependency) -> dict[str, str]:
        session, user = await auth.validate_user()
        return {"user_id": user.user_id}

    app = Litestar([me], plugins=[LuciaPlugin(auth=auth, create_schema=True)])  # auth = Lucia(adapter=...)

:class:`LuciaPlugin` installs the ASGI middleware of :mod:`lucia.integrations.asgi`
(the :class:`~lucia.AuthRequest` is on ``request.state.auth``; its ``Set-Cookie`` headers
are appended to the response, other cookies left alone) and two dependencies: ``auth``
(the request's :class:`~lucia.AuthRequest`, annotate it ``AuthDependency``) and ``lucia``
(the :class:`~lucia.Lucia`, ``LuciaDependency``).
An unsafe request (not GET, HEAD or OPTIONS) that fails the CSRF check of
:class:`~lucia.CsrfProtection` is answered ``403`` before its handler runs, except on
``csrf_exempt_paths``. Exception handlers answer a :class:`~lucia.TooManyRequestsError`
with ``429`` and ``Retry-After``, a :class:`~lucia.StorageError` with ``503``; an
``on_startup`` hook creates the schema (with ``create_schema=True``), connects and checks
it, an ``on_shutdown`` hook closes the adapters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias, cast

from litestar import MediaType, Request, Response
from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.plugins import InitPluginProtocol

from lucia._core import Lucia
from lucia._errors import StorageError, TooManyRequestsError
from lucia._models import Session, User
from lucia._request import AuthRequest
from lucia.integrations import asgi
from lucia.integrations._common import IntegrationOptions, answer_for

__all__ = ["AuthDependency", "LuciaDependency", "LuciaPlugin", "get_auth", "require_user", "requires_user"]

AnyConnection = ASGIConnection[Any, Any, Any, Any]

if TYPE_CHECKING:
    AuthDependency: TypeAlias = AuthRequest
    LuciaDependency: TypeAlias = Lucia
else:
    try:
        from litestar.di import NamedDependency
    except ImportError:  # pragma: no cover - Litestar < 2.23 injects by parameter name without a marker
        AuthDependency = AuthRequest
        LuciaDependency = Lucia
    else:
        AuthDependency = NamedDependency[AuthRequest]
        LuciaDependency = NamedDependency[Lucia]


def get_auth(connection: AnyConnection) -> AuthRequest:
    """The request's :class:`~lucia.AuthRequest` (what the ``auth`` dependency provides).

    Raises:
        RuntimeError: If :class:`LuciaPlugin` is not installed.
    """
    return asgi.get_auth(cast("asgi.Scope", connection.scope))


def _provide_auth(request: Request[Any, Any, Any]) -> AuthRequest:
    return asgi.get_auth(cast("asgi.Scope", request.scope))


async def require_user(connection: AnyConnection) -> tuple[Session, User]:
    """The request's session and user.

    Raises:
        litestar.exceptions.NotAuthorizedException: ``401`` when the request has no live session.
    """
    session, user = await get_auth(connection).validate_user()
    if session is None or user is None:
        raise NotAuthorizedException()
    return session, user


async def requires_user(connection: AnyConnection, _: BaseRouteHandler) -> None:
    """A guard: ``401`` unless the request has a live session (``guards=[requires_user]``)."""
    await require_user(connection)


def _error_handler(request: Request[Any, Any, Any], error: Exception) -> Response[str]:
    answer = answer_for(error)
    return Response(answer.text, status_code=answer.status, headers=dict(answer.headers), media_type=MediaType.TEXT)


class LuciaPlugin(IntegrationOptions[Lucia], InitPluginProtocol):
    """Installs Lucia on a Litestar application: ``Litestar(plugins=[LuciaPlugin(auth=auth)])``.

    The dependencies are named ``auth`` and ``lucia``; an application dependency of the
    same name is kept (then use :func:`get_auth` in handlers).

    Args:
        auth: The :class:`~lucia.Lucia` to bind to requests.
        csrf_exempt_paths: Paths whose unsafe requests are not refused with ``403`` when
            they fail the CSRF check (webhooks, token APIs). An entry ending in ``/``
            exempts every path under it. Such requests still never get a session from
            their cookie.
        allow_bearer: Also accept ``Authorization: Bearer <token>`` (API clients).
        create_schema: Create missing tables at start-up (``CREATE TABLE IF NOT EXISTS``).
        schema: Keyword arguments for the adapter's ``create_schema()``,
            e.g. ``{"user_columns": {"username": "text"}}``.
    """

    __slots__ = ()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        """Add the middleware (outermost), dependencies, exception handlers and lifecycle hooks."""
        app_config.middleware.insert(
            0,
            DefineMiddleware(
                cast("Any", asgi.LuciaMiddleware),  # one ASGI app, two spellings of its type
                auth=self.auth,
                csrf_exempt_paths=self.csrf_exempt_paths,
                allow_bearer=self.allow_bearer,
            ),
        )
        auth = self.auth

        def provide_lucia() -> Lucia:
            return auth

        app_config.dependencies.setdefault("auth", Provide(_provide_auth, sync_to_thread=False))
        app_config.dependencies.setdefault("lucia", Provide(provide_lucia, sync_to_thread=False))
        # Handlers may annotate with these names under ``if TYPE_CHECKING``.
        app_config.signature_namespace.update(
            {"AuthRequest": AuthRequest, "Lucia": Lucia, "Session": Session, "User": User}
        )
        for error in (TooManyRequestsError, StorageError):
            app_config.exception_handlers.setdefault(error, _error_handler)
        app_config.on_startup.append(self._start)
        app_config.on_shutdown.append(self._stop)
        return app_config
