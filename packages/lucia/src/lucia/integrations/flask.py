"""Lucia for Flask: an extension binding Lucia to each request, for sync views.

::

    from flask import Flask
    from lucia import Lucia, SyncLucia
    from lucia.integrations.flask import FlaskLucia, get_auth, login_required, require_user

    sync_auth = SyncLucia(Lucia(adapter=SQLiteAdapter("app.db"), env="DEV"))
    app = Flask(__name__)
    FlaskLucia(app, auth=sync_auth, create_schema=True)  # or lucia = FlaskLucia(auth=...); lucia.init_app(app)

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
Error handlers answer a :class:`~lucia.TooManyRequestsError` with ``429`` and
``Retry-After``, a :class:`~lucia.StorageError` with ``503``.

Start-up and shutdown: ``init_app`` connects and checks the schema (creating it first
with ``create_schema=True``); when the Flask CLI loads the app (``flask run``, ``flask
lucia create-schema``) that waits for the first request, so the command can create
the schema of an empty database. ``flask lucia create-schema`` creates the tables
(with the ``schema`` options); :class:`~lucia.SyncLucia` closes the adapters at
interpreter exit, or earlier with :meth:`FlaskLucia.close`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from functools import wraps
from typing import Any, ParamSpec, TypeVar, Union

import click
from flask import Flask, Response, abort, current_app, g, request
from flask.cli import AppGroup

from lucia._core import Lucia
from lucia._errors import StorageError, TooManyRequestsError
from lucia._models import Session, User
from lucia._sync import SyncAuthRequest, SyncLucia
from lucia.integrations import wsgi
from lucia.integrations._common import ErrorResponse, IntegrationOptions, PendingCookies, answer_for, start_sync

__all__ = ["FlaskLucia", "get_auth", "login_required", "require_user"]

P = ParamSpec("P")
R = TypeVar("R")


class FlaskLucia(IntegrationOptions[SyncLucia]):
    """The Flask extension (``init_app`` pattern); ``app.extensions["lucia"]`` is the instance.

    Args:
        app: The application, or ``None`` to call :meth:`init_app` later.
        auth: A :class:`~lucia.SyncLucia` (or a :class:`~lucia.Lucia`, wrapped in one).
            Views use it for everything else: ``FlaskLucia.auth.create_session(...)``.
        csrf_exempt_paths: Paths whose unsafe requests are not refused with ``403`` when
            they fail the CSRF check. An entry ending in ``/`` exempts every path under it.
        allow_bearer: Also accept ``Authorization: Bearer <token>`` (API clients).
        connect: Connect and check the schema in :meth:`init_app` (at start-up);
            ``False`` leaves it to the first request.
        create_schema: Create missing tables at start-up (``CREATE TABLE IF NOT EXISTS``).
        schema: Keyword arguments for the adapter's ``create_schema()`` (also used by
            ``flask lucia create-schema``), e.g. ``{"user_columns": {"username": "text"}}``.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        auth: Union[Lucia, SyncLucia],
        csrf_exempt_paths: Collection[str] = (),
        allow_bearer: bool = False,
        connect: bool = True,
        create_schema: bool = False,
        schema: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            auth=wsgi.as_sync(auth),
            csrf_exempt_paths=csrf_exempt_paths,
            allow_bearer=allow_bearer,
            create_schema=create_schema,
            schema=schema,
        )
        self.connect = connect
        self._started = False
        self._start_lock = threading.Lock()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Install the extension on ``app``: request hooks, error handlers, the ``lucia`` CLI group.

        Raises:
            lucia.ConfigurationError: At start-up, when the storage lacks a table or column.
        """
        app.extensions["lucia"] = self
        app.before_request(self._before_request)
        app.after_request(self._after_request)
        app.register_error_handler(TooManyRequestsError, _error_handler)
        app.register_error_handler(StorageError, _error_handler)
        app.cli.add_command(_cli)
        # Under the Flask CLI the schema may not exist yet (that is what
        # ``flask lucia create-schema`` is for): wait for the first request there.
        if (self.connect or self.create_schema) and click.get_current_context(silent=True) is None:
            self.start()

    def start(self) -> None:
        """Create the schema if asked, connect and check it, once (:meth:`init_app` calls it)."""
        with self._start_lock:
            if not self._started:
                self._start_sync()
                self._started = True

    def close(self) -> None:
        """Close the adapters and stop :class:`~lucia.SyncLucia`'s loop (a shutdown hook)."""
        self.auth.close()

    def _before_request(self) -> Response | None:
        if not self._started and (self.connect or self.create_schema):
            self.start()
        credentials = self._accept(wsgi.lucia_request(request.environ), request.path)
        if isinstance(credentials, ErrorResponse):
            return _response(credentials)
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


def _response(answer: ErrorResponse) -> Response:
    return Response(answer.text, status=answer.status, headers=answer.all_headers)


def _error_handler(error: Exception) -> Response:
    return _response(answer_for(error))


_cli = AppGroup("lucia", help="Lucia: set up the sign-in storage.")


@_cli.command("create-schema")
def _create_schema_command() -> None:
    """Create Lucia's tables (CREATE TABLE IF NOT EXISTS) and check them."""
    extension: FlaskLucia = current_app.extensions["lucia"]
    start_sync(extension.auth, create_schema=True, schema=extension.schema)
    extension._started = True
    click.echo("Lucia: the schema is ready.")


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
