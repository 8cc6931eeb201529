"""Lucia for Quart: an extension binding Lucia to each request.

::

    from quart import Quart
    from lucia.integrations.quart import QuartLucia, login_required, require_user

    app = Quart(__name__)
    QuartLucia(app, auth=auth, create_schema=True)  # or lucia = QuartLucia(auth=auth); lucia.init_app(app)

    @app.get("/me")
    @login_required  # 401 without a session
    async def me():
        session, user = await require_user()
        return {"user_id": user.user_id}

:meth:`QuartLucia.init_app` wraps ``app.asgi_app`` in the ASGI middleware of
:mod:`lucia.integrations.asgi` (Quart's own way of adding middleware) and, before each
request, puts the request's :class:`~lucia.AuthRequest` on ``quart.g.auth``
(:func:`get_auth`). The ``Set-Cookie`` headers it asks for (a renewed session,
:meth:`~lucia.AuthRequest.set_session`) are appended to the response, other cookies
left alone. An unsafe request (not GET, HEAD or OPTIONS) that fails the CSRF check of
:class:`~lucia.CsrfProtection` is answered ``403`` before Quart sees it, except on
``csrf_exempt_paths``. Error handlers answer a :class:`~lucia.TooManyRequestsError` with
``429`` and ``Retry-After``, a :class:`~lucia.StorageError` with ``503``. A
``before_serving`` hook creates the schema (with ``create_schema=True``), connects and
checks it; an ``after_serving`` hook closes the adapters, so that the server stops on
SIGTERM (aiosqlite's threads would keep it alive).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from functools import wraps
from typing import Any, ParamSpec, TypeVar, cast

from quart import Quart, Response, abort, g, request

from lucia._core import Lucia
from lucia._errors import StorageError, TooManyRequestsError
from lucia._models import Session, User
from lucia._request import AuthRequest
from lucia.integrations import asgi
from lucia.integrations._common import IntegrationOptions, answer_for

__all__ = ["QuartLucia", "get_auth", "login_required", "require_user"]

P = ParamSpec("P")
R = TypeVar("R")


class QuartLucia(IntegrationOptions[Lucia]):
    """The Quart extension (``init_app`` pattern); ``app.extensions["lucia"]`` is the instance.

    Args:
        app: The application, or ``None`` to call :meth:`init_app` later.
        auth: The :class:`~lucia.Lucia` to bind to requests; views use it for everything
            else (``current_app.extensions["lucia"].auth.create_session(...)``).
        csrf_exempt_paths: Paths whose unsafe requests are not refused with ``403`` when
            they fail the CSRF check (webhooks, token APIs). An entry ending in ``/``
            exempts every path under it. Such requests still never get a session from
            their cookie.
        allow_bearer: Also accept ``Authorization: Bearer <token>`` (API clients).
        create_schema: Create missing tables before serving (``CREATE TABLE IF NOT EXISTS``).
        schema: Keyword arguments for the adapter's ``create_schema()``,
            e.g. ``{"user_columns": {"username": "text"}}``.
    """

    def __init__(
        self,
        app: Quart | None = None,
        *,
        auth: Lucia,
        csrf_exempt_paths: Collection[str] = (),
        allow_bearer: bool = False,
        create_schema: bool = False,
        schema: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            auth=auth,
            csrf_exempt_paths=csrf_exempt_paths,
            allow_bearer=allow_bearer,
            create_schema=create_schema,
            schema=schema,
        )
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Quart) -> None:
        """Install the extension on ``app``."""
        app.extensions["lucia"] = self
        middleware = asgi.LuciaMiddleware(
            cast("asgi.ASGIApp", app.asgi_app),
            auth=self.auth,
            csrf_exempt_paths=self.csrf_exempt_paths,
            allow_bearer=self.allow_bearer,
        )
        app.asgi_app = middleware  # type: ignore[method-assign,assignment]
        app.before_request(_bind_auth)
        app.register_error_handler(TooManyRequestsError, _error_handler)
        app.register_error_handler(StorageError, _error_handler)
        app.before_serving(self._start)
        app.after_serving(self._stop)


async def _error_handler(error: Exception) -> Response:
    answer = answer_for(error)
    return Response(answer.text, status=answer.status, headers=dict(answer.all_headers))


async def _bind_auth() -> None:
    """Put the :class:`~lucia.AuthRequest` the middleware made on ``g.auth``."""
    g.auth = asgi.get_auth(cast("asgi.Scope", request.scope))


def get_auth() -> AuthRequest:
    """The current request's :class:`~lucia.AuthRequest` (``quart.g.auth``).

    Raises:
        RuntimeError: If :class:`QuartLucia` is not installed on the application.
    """
    auth = g.get("auth")
    if not isinstance(auth, AuthRequest):
        raise RuntimeError("Lucia is not installed: QuartLucia(app, auth=...)")
    return auth


async def require_user() -> tuple[Session, User]:
    """The current request's session and user; aborts with ``401`` without one."""
    session, user = await get_auth().validate_user()
    if session is None or user is None:
        abort(401)
    return session, user


def login_required(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorate an async view so that a request without a live session gets ``401``."""

    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        await require_user()
        return await view(*args, **kwargs)

    return wrapper
