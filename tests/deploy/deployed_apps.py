"""The docs example apps as the deployment tests serve them: each app's own ``create_app``, short sessions.

The servers import this module (``gunicorn 'deployed_apps:flask_app()'``,
``uvicorn --factory deployed_apps:starlette_app``) with ``docs/examples/frameworks/`` on
``sys.path``; each app writes ``app.db`` into the server's working directory. Two changes
to what the docs show, both from outside the app:

- a session is active for :data:`ACTIVE_PERIOD` only, so that a test sees it renewed
  across processes after a short wait (the idle period and the renewal grace stay long);
- WSGI apps answer with an ``X-Worker-Pid`` header, so that a test can tell which
  gunicorn worker served a request.

:func:`wsgi_postgres_app` is the raw WSGI app on PostgreSQL (``LUCIA_DEPLOY_POSTGRES_URL``):
the page's app given a ``PostgresAdapter`` (``create_app(adapter=...)``).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from lucia import SessionExpiresIn

__all__ = [
    "ACTIVE_PERIOD",
    "aiohttp_app",
    "asgi_app",
    "django_asgi_app",
    "django_wsgi_app",
    "fastapi_app",
    "flask_app",
    "litestar_app",
    "quart_app",
    "starlette_app",
    "wsgi_postgres_app",
]

#: How long a session stays active before a request renews it.
ACTIVE_PERIOD = timedelta(seconds=2)
#: The header naming the process that served a WSGI request.
WORKER_HEADER = "X-Worker-Pid"
DATABASE = "app.db"
POSTGRES_URL_VARIABLE = "LUCIA_DEPLOY_POSTGRES_URL"


def _options() -> dict[str, Any]:
    return {"session_expires_in": SessionExpiresIn(active_period=ACTIVE_PERIOD, idle_period=timedelta(hours=1))}


def _create(example: str, factory: str = "create_app") -> Any:
    """``<example>.<factory>("app.db", session_expires_in=...)``: the docs example's own factory."""
    return getattr(importlib.import_module(example), factory)(DATABASE, **_options())


def _with_worker_pid(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI ``app`` answering with the serving process's id in :data:`WORKER_HEADER`."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # Read per request: the app is built in gunicorn's master (--preload), before the fork.
            return start_response(status, [*headers, (WORKER_HEADER, str(os.getpid()))], exc_info)

        return app(environ, start)

    return wrapped


def flask_app() -> Callable[..., Iterable[bytes]]:
    """``flask_app.create_app()`` (``gunicorn --preload -w 2``)."""
    return _with_worker_pid(_create("flask_app"))


def django_wsgi_app() -> Callable[..., Iterable[bytes]]:
    """``django_app.create_app()``: Django's WSGI handler, sync views at ``/``."""
    return _with_worker_pid(_create("django_app"))


def wsgi_postgres_app() -> Callable[..., Iterable[bytes]]:
    """``wsgi_app.create_app()`` on the PostgreSQL database named by ``LUCIA_DEPLOY_POSTGRES_URL``."""
    from lucia_postgresql import PostgresAdapter

    wsgi_app = importlib.import_module("wsgi_app")
    adapter = PostgresAdapter(os.environ[POSTGRES_URL_VARIABLE])
    return _with_worker_pid(wsgi_app.create_app(adapter=adapter, **_options()))


def starlette_app() -> Any:
    """``starlette_app.create_app()``."""
    return _create("starlette_app")


def fastapi_app() -> Any:
    """``fastapi_app.create_app()``."""
    return _create("fastapi_app")


def litestar_app() -> Any:
    """``litestar_app.create_app()``."""
    return _create("litestar_app")


def asgi_app() -> Any:
    """``asgi_app.create_app()``: the framework-free ASGI app."""
    return _create("asgi_app")


def quart_app() -> Any:
    """``quart_app.create_app()``."""
    return _create("quart_app")


def django_asgi_app() -> Any:
    """``django_app.create_asgi_app()``: async views under ``/async``."""
    return _create("django_app", "create_asgi_app")


def aiohttp_app() -> Any:
    """``aiohttp_app.create_app()`` (served with ``web.run_app``)."""
    return _create("aiohttp_app")
