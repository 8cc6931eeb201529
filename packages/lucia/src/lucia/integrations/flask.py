"""Lucia for Flask: an extension binding Lucia to each request, for sync views.

::

    from flask import Flask
    from lucia import Lucia, SyncLucia
    from lucia.integrations.flask import FlaskLucia, get_auth, login_required, require_user

    sync_auth = SyncLucia(Lucia(adapter=SQLiteAdapter("app.db")))
    app = Flask(__name__)
    FlaskLucia(app, auth=sync_auth)          # or lucia = FlaskLucia(auth=...); lucia.init_app(app)

    @app.get("/me")
    @login_required                          # 401 without a session
    def me():
        session, user = require_user()
        return {"user_id": user.user_id}

Before each request the extension puts a :class:`~lucia.SyncAuthRequest`-style object on
``flask.g.auth`` (:func:`get_auth`); after it, the ``Set-Cookie`` headers it asked for
are appended to the response (other cookies are left alone). Views stay synchronous:
the async core runs on :class:`~lucia.SyncLucia`'s loop thread.

An unsafe request (not GET, HEAD or OPTIONS) that fails the CSRF check of
:class:`~lucia.CsrfProtection` is answered ``403`` before the view runs, except on
``csrf_exempt_paths`` (webhooks): those requests never get a session from their cookie.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import wraps
from typing import ParamSpec, TypeVar, Union

from flask import Flask, Response, abort, g, request

from lucia._core import Lucia
from lucia._models import Session, User
from lucia._sync import SyncAuthRequest, SyncLucia
from lucia.integrations import wsgi
from lucia.integrations._common import FORBIDDEN_TEXT, PendingCookies, accept

__all__ = ["FlaskLucia", "get_auth", "login_required", "require_user"]

P = ParamSpec("P")
R = TypeVar("R")


class FlaskLucia:
    """The Flask extension (``init_app`` pattern); ``app.extensions["lucia"]`` is the instance.

    Args:
        app: The application, or ``None`` to call :meth:`init_app` later.
        auth: A :class:`~lucia.SyncLucia` (or a :class:`~lucia.Lucia`, wrapped in one).
            Views use it for everything else: ``FlaskLucia.auth.create_session(...)``.
        csrf_exempt_paths: Paths whose unsafe requests are not refused with ``403`` when
            they fail the CSRF check. An entry ending in ``/`` exempts every path under it.
        allow_bearer: Also accept ``Authorization: Bearer <token>`` (API clients).
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        auth: Union[Lucia, SyncLucia],
        csrf_exempt_paths: Collection[str] = (),
        allow_bearer: bool = False,
    ) -> None:
        self.auth = wsgi.as_sync(auth)
        self.csrf_exempt_paths = tuple(csrf_exempt_paths)
        self.allow_bearer = allow_bearer
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Install the extension on ``app``."""
        app.extensions["lucia"] = self
        app.before_request(self._before_request)
        app.after_request(self._after_request)

    def _before_request(self) -> Response | None:
        credentials = accept(
            self.auth.auth,
            wsgi.lucia_request(request.environ),
            request.path,
            self.csrf_exempt_paths,
            allow_bearer=self.allow_bearer,
        )
        if credentials is None:
            return Response(FORBIDDEN_TEXT, status=403, mimetype="text/plain")
        pending = PendingCookies()
        g._lucia_cookies = pending
        g.auth = self.auth.bind(credentials, pending.set)
        return None

    def _after_request(self, response: Response) -> Response:
        pending = g.pop("_lucia_cookies", None)
        if isinstance(pending, PendingCookies):
            for value in pending.headers():
                response.headers.add("Set-Cookie", value)
        return response


def get_auth() -> SyncAuthRequest:
    """The current request's auth object (``flask.g.auth``).

    Raises:
        RuntimeError: If :class:`FlaskLucia` is not installed on the application.
    """
    auth = g.get("auth")
    if not isinstance(auth, SyncAuthRequest):
        raise RuntimeError("Lucia is not installed: FlaskLucia(app, auth=...)")
    return auth


def require_user() -> tuple[Session, User]:
    """The current request's session and user; aborts with ``401`` without one."""
    session, user = get_auth().validate_user()
    if session is None or user is None:
        abort(401)
    return session, user


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    """Decorate a view so that a request without a live session gets ``401``."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        require_user()
        return view(*args, **kwargs)

    return wrapper
