"""Django: one project, sync and async views, under a WSGI server and under an ASGI server.

The framework suite runs over the docs example project in all four pairings: WSGI
(in process through ``httpx.WSGITransport``, and under waitress) or ASGI (in process,
and under uvicorn), each with its sync views (``/``) and its async views (``/async/``).
A sync view gets a sync API and an async view an async one, whatever the server.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from io import StringIO
from types import ModuleType
from typing import Any

import pytest
from _scenario import BAD_INPUT_CASES, FrameworkTests, Serve, Servers

import lucia.integrations.django
from lucia import Lucia, SyncLucia
from lucia.adapters.memory import MemoryAdapter
from lucia_sqlite import SQLiteAdapter

#: (server, views) pairs: the project is the same, only the handler and the URL prefix change.
PAIRINGS = [("wsgi", "sync"), ("wsgi", "async"), ("asgi", "sync"), ("asgi", "async")]


@pytest.fixture
def django_example(example: Callable[[str], ModuleType]) -> ModuleType:
    return example("django_app")


class TestDjango(FrameworkTests):
    """The framework suite over ``django_app.py`` in every server/view pairing."""

    # httpx.WSGITransport cannot send non-ASCII header bytes: those cases run over the servers.
    in_process_refuses = frozenset(case.id for case in BAD_INPUT_CASES if case.latin1)

    @pytest.fixture(params=PAIRINGS, ids=[f"{server}-{views}-views" for server, views in PAIRINGS])
    def serve(self, request: pytest.FixtureRequest, servers: Servers, django_example: ModuleType) -> Serve:
        server, views = request.param
        base_path = "" if views == "sync" else "/async"
        if server == "wsgi":
            return servers.for_wsgi(
                lambda options: django_example.create_app(servers.database, **options),
                close=lambda app: lucia.integrations.django.close(),
                base_path=base_path,
            )
        return servers.for_asgi(
            lambda options: django_example.create_asgi_app(servers.database, **options), base_path=base_path
        )


def _private(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse("private")


def test_login_url_redirects_with_next(django_example: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """login_required(login_url=...) sends an anonymous request to the login page with ``next``."""
    from django.conf import settings
    from django.test import RequestFactory

    from lucia.integrations.django import LuciaMiddleware, login_required

    with SyncLucia(Lucia(adapter=MemoryAdapter())) as sync:
        monkeypatch.setattr(settings, "LUCIA_AUTH", sync, raising=False)
        middleware = LuciaMiddleware(login_required(login_url="/login")(_private))
        response = middleware(RequestFactory().get("/private?tab=1"))
    assert response.status_code == 302
    assert response["Location"] == "/login?next=%2Fprivate%3Ftab%3D1"


def test_settings_dotted_path_and_a_plain_lucia_under_wsgi(
    django_example: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LUCIA_AUTH may be a dotted path to a plain Lucia; sync mode runs it on one shared SyncLucia."""
    from django.conf import settings
    from django.test import RequestFactory

    from lucia.integrations.django import LuciaMiddleware, login_required

    module = types.ModuleType("lucia_test_django_auth")
    module.lucia = Lucia(adapter=MemoryAdapter())  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(settings, "LUCIA_AUTH", "lucia_test_django_auth.lucia", raising=False)
    first, second = LuciaMiddleware(login_required(_private)), LuciaMiddleware(login_required(_private))
    assert first(RequestFactory().get("/private")).status_code == 401
    assert first.sync is not None and first.sync is second.sync and first.sync.auth is module.lucia
    lucia.integrations.django.close()


def test_misconfiguration_is_reported(django_example: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing LUCIA_AUTH, or login_required without the middleware, raises ImproperlyConfigured."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.test import RequestFactory

    from lucia.integrations.django import LuciaMiddleware, login_required

    monkeypatch.setattr(settings, "LUCIA_AUTH", None, raising=False)
    with pytest.raises(ImproperlyConfigured, match="LUCIA_AUTH"):
        LuciaMiddleware(_private)
    with pytest.raises(ImproperlyConfigured, match="MIDDLEWARE"):
        login_required(_private)(RequestFactory().get("/"))


def test_sync_view_without_process_view_checks_the_session_on_the_servers_loop(django_example: ModuleType) -> None:
    """A sync view given an async AuthRequest (no middleware ran) still works with login_required."""
    from django.test import RequestFactory

    from lucia.integrations.django import login_required, lucia_request

    request = RequestFactory().get("/private")
    request.auth = Lucia(adapter=MemoryAdapter()).handle_request(  # type: ignore[attr-defined]
        lucia_request(request), set_cookie=lambda cookie: None
    )
    assert login_required(_private)(request).status_code == 401


def test_management_command_creates_and_checks_the_schema(
    django_example: ModuleType, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``manage.py lucia check`` fails on an empty database; ``lucia create_schema`` creates the tables."""
    from django.conf import settings
    from django.core.management import CommandError, call_command

    monkeypatch.setattr(settings, "LUCIA_AUTH", Lucia(adapter=SQLiteAdapter(database)))
    with pytest.raises(CommandError, match="create_schema"):
        call_command("lucia", "check", stdout=StringIO())
    out = StringIO()
    call_command("lucia", "create_schema", stdout=out)
    assert "schema is ready" in out.getvalue()
    call_command("lucia", "check", stdout=out)
    assert "as configured" in out.getvalue()
