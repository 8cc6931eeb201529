"""Django: the docs example project through the shared scenario, sync (WSGI) and async (ASGI).

In process and over real servers: waitress for the sync views, uvicorn for the async ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest
from _scenario import (
    BAD_INPUT_CASES,
    CSRF_CASES,
    CSRF_OPTIONS,
    REDIRECT_CASES,
    BadInputCase,
    CsrfCase,
    Harness,
    asgi_client,
    check_bad_input,
    check_c1_cookie_attributes,
    check_c3_csrf,
    check_c4_redirect,
    check_s4_token_only_in_cookie,
    lucia_options,
    run_scenario,
    serve_asgi,
    serve_wsgi,
)

from lucia import CsrfProtection, Lucia, SyncLucia
from lucia.testing import FakeClock

MODES = ["wsgi", "asgi"]


@pytest.fixture
def django_example(example: Callable[[str], ModuleType]) -> ModuleType:
    return example("django_app")


def _close_configured() -> None:
    from django.conf import settings

    configured = settings.LUCIA_AUTH
    if isinstance(configured, SyncLucia):
        configured.call(configured.auth.sessions.close)  # type: ignore[attr-defined]
        configured.close()
    elif isinstance(configured, Lucia):
        anyio.run(configured.sessions.close)  # type: ignore[attr-defined]


@contextmanager
def _in_process(module: ModuleType, mode: str, database: str, options: dict[str, Any]) -> Iterator[httpx.Client]:
    try:
        if mode == "wsgi":
            app = module.create_app(database, **options)
            transport = httpx.WSGITransport(app=app)
            with httpx.Client(transport=transport, base_url="http://testserver") as client:
                yield client
        else:
            app = module.create_asgi_app(database, **options)
            with asgi_client(app, base_url="http://testserver/async", lifespan=False) as client:
                yield client
    finally:
        _close_configured()


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_harness(
    django_example: ModuleType, mode: str, database: str, clock: FakeClock
) -> Iterator[Callable[..., Harness]]:
    with ExitStack() as stack:

        def make(csrf: bool | CsrfProtection = CSRF_OPTIONS) -> Harness:
            # One Django handler at a time: settings.LUCIA_AUTH is process-wide.
            stack.close()
            client = stack.enter_context(
                _in_process(django_example, mode, database, lucia_options(clock, csrf_protection=csrf))
            )
            return Harness(client, database, clock)

        yield make


@pytest.fixture
def served(django_example: ModuleType, mode: str, database: str, clock: FakeClock) -> Iterator[Harness]:
    try:
        if mode == "wsgi":
            app = django_example.create_app(database, **lucia_options(clock))
            with serve_wsgi(app) as base_url, httpx.Client(base_url=base_url) as client:
                yield Harness(client, database, clock)
        else:
            app = django_example.create_asgi_app(database, **lucia_options(clock))
            with serve_asgi(app, lifespan="off") as base_url, httpx.Client(base_url=base_url + "/async") as client:
                yield Harness(client, database, clock)
    finally:
        _close_configured()


def test_scenario_in_process(make_harness: Callable[..., Harness]) -> None:
    """Sign-up, protected route, cross-origin 403, idle renewal and sign-out work in process."""
    run_scenario(make_harness())


def test_scenario_over_a_real_server(served: Harness) -> None:
    """The same scenario passes end to end: waitress for sync views, uvicorn for async views."""
    run_scenario(served)


def test_c1_cookie_attributes(make_harness: Callable[..., Harness]) -> None:
    """C1: the cookie the middleware sets has the required attributes."""
    check_c1_cookie_attributes(make_harness())


def test_s4_token_only_from_the_cookie(make_harness: Callable[..., Harness]) -> None:
    """S4: a token in the query string or form body is ignored."""
    check_s4_token_only_in_cookie(make_harness())


@pytest.mark.parametrize("case", CSRF_CASES, ids=[c.id for c in CSRF_CASES])
def test_c3_csrf_matrix(make_harness: Callable[..., Harness], case: CsrfCase) -> None:
    """C3: each row of the CSRF matrix is trusted or refused with 403 as the core rule says."""
    check_c3_csrf(make_harness(case.csrf), case)


def test_c3_csrf_over_a_real_server(served: Harness) -> None:
    """C3: the CSRF matrix holds over a real socket too, where the origin has a port."""
    for case in CSRF_CASES:
        if case.csrf is CSRF_OPTIONS:
            check_c3_csrf(served, case)


# httpx.WSGITransport cannot send non-ASCII header bytes: those cases run over the servers.
ASCII_CASES = [c for c in BAD_INPUT_CASES if not c.latin1]


@pytest.mark.parametrize("case", ASCII_CASES, ids=[c.id for c in ASCII_CASES])
def test_bad_input_in_process(make_harness: Callable[..., Harness], case: BadInputCase) -> None:
    """Garbage cookies, hosts and origins give a 4xx or an anonymous request, never a 500."""
    check_bad_input(make_harness(), case)


def test_bad_input_over_a_real_server(served: Harness) -> None:
    """The bad-input cases over a real socket: a 4xx or anonymous, never a 500."""
    for case in BAD_INPUT_CASES:
        check_bad_input(served, case)


@pytest.mark.parametrize(("target", "expected"), REDIRECT_CASES)
def test_c4_sign_in_redirect(make_harness: Callable[..., Harness], target: str, expected: str) -> None:
    """C4: sign-in follows only safe ``next`` targets."""
    check_c4_redirect(make_harness(), target, expected)


def _private(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse("private")


def test_login_url_redirects_with_next(django_example: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """login_required(login_url=...) sends an anonymous request to the login page with ``next``."""
    from django.conf import settings
    from django.test import RequestFactory

    from lucia.adapters.memory import MemoryAdapter
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
    """LUCIA_AUTH may be a dotted path to a plain Lucia; sync mode wraps it in a SyncLucia."""
    import sys
    import types

    from django.conf import settings
    from django.test import RequestFactory

    from lucia.adapters.memory import MemoryAdapter
    from lucia.integrations.django import LuciaMiddleware, login_required

    module = types.ModuleType("lucia_test_django_auth")
    module.lucia = Lucia(adapter=MemoryAdapter())  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(settings, "LUCIA_AUTH", "lucia_test_django_auth.lucia", raising=False)
    middleware = LuciaMiddleware(login_required(_private))
    assert middleware(RequestFactory().get("/private")).status_code == 401
    assert middleware.sync is not None and middleware.sync.auth is module.lucia
    middleware.sync.close()


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


def test_sync_view_under_asgi_checks_the_session_on_the_servers_loop(django_example: ModuleType) -> None:
    """A sync view decorated with login_required also works when request.auth is an async AuthRequest."""
    from django.test import RequestFactory

    from lucia.adapters.memory import MemoryAdapter
    from lucia.integrations.django import login_required, lucia_request

    request = RequestFactory().get("/private")
    request.auth = Lucia(adapter=MemoryAdapter()).handle_request(  # type: ignore[attr-defined]
        lucia_request(request), set_cookie=lambda cookie: None
    )
    assert login_required(_private)(request).status_code == 401
