"""A complete single-file Django project with Lucia: sync views and async views, under WSGI or ASGI.

Run it with ``python docs/examples/frameworks/django_app.py`` (WSGI under waitress, SQLite
file ``app.db``) and open http://127.0.0.1:8000; ``python django_app.py lucia create_schema``
runs the management command. The same views work under both servers: sync views at
``/``, async views under ``/async/``. The tests import :func:`create_app` (WSGI) and
:func:`create_asgi_app` (ASGI). In a real project the settings below live in
``settings.py`` and ``LUCIA_AUTH`` is a dotted path such as ``"myproject.auth.lucia"``.
"""

from __future__ import annotations

import sys
from typing import Any

import django
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import path

from lucia import DuplicateKeyError, InvalidCredentialsError, InvalidInputError, Lucia, PrimaryKey
from lucia.integrations.asgi import LifespanMiddleware
from lucia.integrations.django import login_required
from lucia.redirects import safe_redirect
from lucia_sqlite import SQLiteAdapter

#: What ``create_schema()`` adds for this project: a ``username`` column on the user table.
SCHEMA = {"user_columns": {"username": "string"}}

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["lucia.integrations.django"],  # `python manage.py lucia create_schema`
        MIDDLEWARE=["lucia.integrations.django.LuciaMiddleware"],
        LUCIA_SCHEMA=SCHEMA,
        LUCIA_CREATE_SCHEMA=True,  # create missing tables at start-up (or run the command once)
        LUCIA_CSRF_EXEMPT_PATHS=["/webhooks/", "/async/webhooks/"],
    )
    django.setup()


# -- sync views: request.auth and request.lucia answer without await, under WSGI or ASGI


def sign_up(request: HttpRequest) -> HttpResponse:
    lucia = request.lucia  # type: ignore[attr-defined]
    username, password = request.POST.get("username", ""), request.POST.get("password", "")
    try:
        user = lucia.create_user(
            primary_key=PrimaryKey("username", username, password=password), attributes={"username": username}
        )
    except InvalidInputError as error:  # an empty or oversized username, a password over the limit
        return JsonResponse({"error": error.detail}, status=400)
    except DuplicateKeyError:
        return JsonResponse({"error": "This username is taken."}, status=409)
    # A StorageError (database down) is answered 503 by LuciaMiddleware.
    request.auth.set_session(lucia.create_session(user.user_id))  # type: ignore[attr-defined]
    return JsonResponse({"user_id": user.user_id}, status=201)


def sign_in(request: HttpRequest) -> HttpResponse:
    lucia, auth = request.lucia, request.auth  # type: ignore[attr-defined]
    username, password = request.POST.get("username", ""), request.POST.get("password", "")
    try:
        key = lucia.use_key("username", username, password, client=auth.client)
    except (InvalidCredentialsError, InvalidInputError):  # one message: never say which part was wrong
        return JsonResponse({"error": "Wrong username or password"}, status=400)
    # TooManyRequestsError is answered 429 with Retry-After by LuciaMiddleware.
    auth.set_session(lucia.create_session(key.user_id))
    return HttpResponseRedirect(safe_redirect(request.GET.get("next"), default="/"), status=303)


@login_required
def me(request: HttpRequest) -> HttpResponse:
    _, user = request.auth.validate_user()  # type: ignore[attr-defined]
    return JsonResponse({"user_id": user.user_id})


@login_required
def sign_out(request: HttpRequest) -> HttpResponse:
    session = request.auth.validate()  # type: ignore[attr-defined]
    request.lucia.invalidate_session(session.session_id)  # type: ignore[attr-defined]
    request.auth.set_session(None)  # type: ignore[attr-defined]
    return JsonResponse({"signed_out": True})


def webhook(request: HttpRequest) -> HttpResponse:
    # Exempt from the CSRF 403 (LUCIA_CSRF_EXEMPT_PATHS): a cross-origin post never gets the session.
    return JsonResponse({"received": True, "signed_in": request.auth.validate() is not None})  # type: ignore[attr-defined]


# -- async views: the same API with await, under ASGI or WSGI


async def async_sign_up(request: HttpRequest) -> HttpResponse:
    lucia = request.lucia  # type: ignore[attr-defined]
    username, password = request.POST.get("username", ""), request.POST.get("password", "")
    try:
        user = await lucia.create_user(
            primary_key=PrimaryKey("username", username, password=password), attributes={"username": username}
        )
    except InvalidInputError as error:
        return JsonResponse({"error": error.detail}, status=400)
    except DuplicateKeyError:
        return JsonResponse({"error": "This username is taken."}, status=409)
    request.auth.set_session(await lucia.create_session(user.user_id))  # type: ignore[attr-defined]
    return JsonResponse({"user_id": user.user_id}, status=201)


async def async_sign_in(request: HttpRequest) -> HttpResponse:
    lucia, auth = request.lucia, request.auth  # type: ignore[attr-defined]
    username, password = request.POST.get("username", ""), request.POST.get("password", "")
    try:
        key = await lucia.use_key("username", username, password, client=auth.client)
    except (InvalidCredentialsError, InvalidInputError):
        return JsonResponse({"error": "Wrong username or password"}, status=400)
    auth.set_session(await lucia.create_session(key.user_id))
    return HttpResponseRedirect(safe_redirect(request.GET.get("next"), default="/"), status=303)


@login_required
async def async_me(request: HttpRequest) -> HttpResponse:
    _, user = await request.auth.validate_user()  # type: ignore[attr-defined]
    return JsonResponse({"user_id": user.user_id})


@login_required
async def async_sign_out(request: HttpRequest) -> HttpResponse:
    session = await request.auth.validate()  # type: ignore[attr-defined]
    await request.lucia.invalidate_session(session.session_id)  # type: ignore[attr-defined]
    request.auth.set_session(None)  # type: ignore[attr-defined]
    return JsonResponse({"signed_out": True})


async def async_webhook(request: HttpRequest) -> HttpResponse:
    signed_in = await request.auth.validate() is not None  # type: ignore[attr-defined]
    return JsonResponse({"received": True, "signed_in": signed_in})


urlpatterns = [
    path("signup", sign_up),
    path("signin", sign_in),
    path("me", me),
    path("signout", sign_out),
    path("webhooks/payment", webhook),
    path("async/signup", async_sign_up),
    path("async/signin", async_sign_in),
    path("async/me", async_me),
    path("async/signout", async_sign_out),
    path("async/webhooks/payment", async_webhook),
]


def _lucia(database: str, lucia_options: dict[str, Any]) -> Lucia:
    # "DEV" serves plain http://127.0.0.1; "PROD" (behind https) makes the cookie Secure.
    lucia_options.setdefault("env", "DEV")
    lucia = Lucia(adapter=SQLiteAdapter(database), **lucia_options)
    settings.LUCIA_AUTH = lucia  # read when the handler builds its middleware chain
    return lucia


def create_app(database: str = "app.db", **lucia_options: Any) -> WSGIHandler:
    """The WSGI application (what ``wsgi.py`` holds); ``lucia_options`` go to :class:`lucia.Lucia`.

    Building it creates missing tables, connects and checks the schema (on the loop
    thread of the SyncLucia the middleware runs Lucia on).
    """
    _lucia(database, lucia_options)
    return WSGIHandler()


def create_asgi_app(database: str = "app.db", **lucia_options: Any) -> LifespanMiddleware:
    """The ASGI application (what ``asgi.py`` holds): Django plus a lifespan for Lucia.

    Django's ``ASGIHandler`` has no lifespan: :class:`LifespanMiddleware` creates missing
    tables, connects and checks the schema on the server's loop at start-up, and closes
    the adapter at shutdown (so that the server stops on SIGTERM).
    """
    lucia = _lucia(database, lucia_options)
    return LifespanMiddleware(ASGIHandler(), auth=lucia, create_schema=True, schema=SCHEMA)


if __name__ == "__main__":
    if len(sys.argv) > 1:  # python django_app.py lucia create_schema (as manage.py would)
        from django.core.management import execute_from_command_line

        _lucia("app.db", {})
        execute_from_command_line(sys.argv)
    else:
        from waitress import serve

        serve(create_app(), host="127.0.0.1", port=8000)
