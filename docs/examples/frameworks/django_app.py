"""A complete single-file Django project with Lucia: sync views (WSGI) and async views (ASGI).

Run it with ``python docs/examples/frameworks/django_app.py`` (WSGI, SQLite file
``app.db``) and open http://127.0.0.1:8000. The tests import :func:`create_app` (WSGI,
sync views at ``/``) and :func:`create_asgi_app` (ASGI, async views under ``/async/``).
In a real project the settings below live in ``settings.py`` and ``LUCIA_AUTH`` is a
dotted path such as ``"myproject.auth.lucia"``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio
import django
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import path

from lucia import Lucia, LuciaError, SyncLucia
from lucia.integrations.django import login_required
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["lucia.integrations.django.LuciaMiddleware"],
        LUCIA_CSRF_EXEMPT_PATHS=["/webhooks/"],
    )
    django.setup()


# -- sync views (WSGI): request.auth has no-await methods; request.auth.auth is a SyncLucia


def sign_up(request: HttpRequest) -> HttpResponse:
    auth = request.auth.auth  # type: ignore[attr-defined]
    username, password = request.POST.get("username", ""), request.POST.get("password", "")
    try:
        user = auth.create_user(
            primary_key={"provider_id": "username", "provider_user_id": username, "password": password},
            attributes={"username": username},
        )
    except LuciaError as error:
        return JsonResponse({"error": error.code}, status=400)
    request.auth.set_session(auth.create_session(user.user_id))  # type: ignore[attr-defined]
    return JsonResponse({"user_id": user.user_id}, status=201)


def sign_in(request: HttpRequest) -> HttpResponse:
    auth = request.auth.auth  # type: ignore[attr-defined]
    try:
        key = auth.use_key("username", request.POST.get("username", ""), request.POST.get("password", ""))
    except LuciaError:
        return JsonResponse({"error": "Wrong username or password"}, status=400)
    request.auth.set_session(auth.create_session(key.user_id))  # type: ignore[attr-defined]
    return HttpResponseRedirect(safe_redirect(request.GET.get("next"), default="/"), status=303)


@login_required
def me(request: HttpRequest) -> HttpResponse:
    _, user = request.auth.validate_user()  # type: ignore[attr-defined]
    return JsonResponse({"user_id": user.user_id})


@login_required
def sign_out(request: HttpRequest) -> HttpResponse:
    session = request.auth.validate()  # type: ignore[attr-defined]
    request.auth.auth.invalidate_session(session.session_id)  # type: ignore[attr-defined]
    request.auth.set_session(None)  # type: ignore[attr-defined]
    return JsonResponse({"signed_out": True})


# -- async views (ASGI): request.auth is a lucia.AuthRequest; request.auth.auth is the Lucia


async def async_sign_up(request: HttpRequest) -> HttpResponse:
    auth = request.auth.auth  # type: ignore[attr-defined]
    username, password = request.POST.get("username", ""), request.POST.get("password", "")
    try:
        user = await auth.create_user(
            primary_key={"provider_id": "username", "provider_user_id": username, "password": password},
            attributes={"username": username},
        )
    except LuciaError as error:
        return JsonResponse({"error": error.code}, status=400)
    request.auth.set_session(await auth.create_session(user.user_id))  # type: ignore[attr-defined]
    return JsonResponse({"user_id": user.user_id}, status=201)


async def async_sign_in(request: HttpRequest) -> HttpResponse:
    auth = request.auth.auth  # type: ignore[attr-defined]
    try:
        key = await auth.use_key("username", request.POST.get("username", ""), request.POST.get("password", ""))
    except LuciaError:
        return JsonResponse({"error": "Wrong username or password"}, status=400)
    request.auth.set_session(await auth.create_session(key.user_id))  # type: ignore[attr-defined]
    return HttpResponseRedirect(safe_redirect(request.GET.get("next"), default="/"), status=303)


@login_required
async def async_me(request: HttpRequest) -> HttpResponse:
    _, user = await request.auth.validate_user()  # type: ignore[attr-defined]
    return JsonResponse({"user_id": user.user_id})


@login_required
async def async_sign_out(request: HttpRequest) -> HttpResponse:
    session = await request.auth.validate()  # type: ignore[attr-defined]
    await request.auth.auth.invalidate_session(session.session_id)  # type: ignore[attr-defined]
    request.auth.set_session(None)  # type: ignore[attr-defined]
    return JsonResponse({"signed_out": True})


urlpatterns = [
    path("signup", sign_up),
    path("signin", sign_in),
    path("me", me),
    path("signout", sign_out),
    path("async/signup", async_sign_up),
    path("async/signin", async_sign_in),
    path("async/me", async_me),
    path("async/signout", async_sign_out),
]


def create_app(database: str = "app.db", **lucia_options: Any) -> WSGIHandler:
    """The WSGI application; ``lucia_options`` go to :class:`lucia.Lucia`."""
    adapter = SQLiteAdapter(database)
    auth = SyncLucia(Lucia(adapter=adapter, **lucia_options))
    auth.call(partial(adapter.create_schema, user_columns={"username": "string"}))
    settings.LUCIA_AUTH = auth  # read when the handler builds its middleware chain
    return WSGIHandler()


async def _create_schema(database: str) -> None:
    async with SQLiteAdapter(database) as adapter:
        await adapter.create_schema(user_columns={"username": "string"})


def create_asgi_app(database: str = "app.db", **lucia_options: Any) -> ASGIHandler:
    """The ASGI application (async views under ``/async/``)."""
    anyio.run(_create_schema, database)
    settings.LUCIA_AUTH = Lucia(adapter=SQLiteAdapter(database), **lucia_options)
    return ASGIHandler()


if __name__ == "__main__":
    from waitress import serve

    serve(create_app(), host="127.0.0.1", port=8000)
