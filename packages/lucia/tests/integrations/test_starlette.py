"""Starlette and FastAPI: the docs example apps through the shared scenario, in process and over uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager
from types import ModuleType

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
    session_cookie,
)
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lucia import CsrfProtection, Lucia
from lucia.integrations.asgi import Message, Receive, Scope, Send
from lucia.integrations.starlette import LuciaMiddleware, get_auth
from lucia.testing import FakeClock
from lucia_sqlite import SQLiteAdapter

APPS = ["starlette_app", "fastapi_app"]


@pytest.fixture(params=APPS)
def app_module(request: pytest.FixtureRequest, example: Callable[[str], ModuleType]) -> ModuleType:
    return example(request.param)


@pytest.fixture
def make_harness(app_module: ModuleType, database: str, clock: FakeClock) -> Iterator[Callable[..., Harness]]:
    with ExitStack() as stack:

        def make(csrf: bool | CsrfProtection = CSRF_OPTIONS) -> Harness:
            app = app_module.create_app(database, **lucia_options(clock, csrf_protection=csrf))
            return Harness(stack.enter_context(asgi_client(app)), database, clock)

        yield make


@pytest.fixture
def served(app_module: ModuleType, database: str, clock: FakeClock) -> Iterator[Harness]:
    app = app_module.create_app(database, **lucia_options(clock))
    with serve_asgi(app, lifespan="on") as base_url, httpx.Client(base_url=base_url) as client:
        yield Harness(client, database, clock)


def test_scenario_in_process(make_harness: Callable[..., Harness]) -> None:
    """Sign-up, protected route, cross-origin 403, idle renewal and sign-out work in process."""
    run_scenario(make_harness())


def test_scenario_over_uvicorn(served: Harness) -> None:
    """The same scenario passes end to end through a real uvicorn server on loopback."""
    run_scenario(served)


def test_c1_cookie_attributes(make_harness: Callable[..., Harness]) -> None:
    """C1: the cookie the integration sets has the required attributes."""
    check_c1_cookie_attributes(make_harness())


def test_s4_token_only_from_the_cookie(make_harness: Callable[..., Harness]) -> None:
    """S4: a token in the query string or form body is ignored."""
    check_s4_token_only_in_cookie(make_harness())


@pytest.mark.parametrize("case", CSRF_CASES, ids=[c.id for c in CSRF_CASES])
def test_c3_csrf_matrix(make_harness: Callable[..., Harness], case: CsrfCase) -> None:
    """C3: each row of the CSRF matrix is trusted or refused with 403 as the core rule says."""
    check_c3_csrf(make_harness(case.csrf), case)


def test_c3_csrf_over_uvicorn(served: Harness) -> None:
    """C3: the CSRF matrix holds over a real socket too, where the origin has a port."""
    for case in CSRF_CASES:
        if case.csrf is CSRF_OPTIONS:
            check_c3_csrf(served, case)


@pytest.mark.parametrize("case", BAD_INPUT_CASES, ids=[c.id for c in BAD_INPUT_CASES])
def test_bad_input_in_process(make_harness: Callable[..., Harness], case: BadInputCase) -> None:
    """Garbage cookies, hosts and origins give a 4xx or an anonymous request, never a 500."""
    check_bad_input(make_harness(), case)


def test_bad_input_over_uvicorn(served: Harness) -> None:
    """The bad-input cases over a real socket: a 4xx or anonymous, never a 500."""
    for case in BAD_INPUT_CASES:
        check_bad_input(served, case)


@pytest.mark.parametrize(("target", "expected"), REDIRECT_CASES)
def test_c4_sign_in_redirect(make_harness: Callable[..., Harness], target: str, expected: str) -> None:
    """C4: sign-in follows only safe ``next`` targets."""
    check_c4_redirect(make_harness(), target, expected)


def test_exempt_path_accepts_cross_origin_posts_without_the_session(
    example: Callable[[str], ModuleType], database: str, clock: FakeClock
) -> None:
    """A csrf_exempt_paths route takes a cross-origin POST, but that request gets no session."""
    app = example("starlette_app").create_app(database, **lucia_options(clock))
    with asgi_client(app) as client:
        h = Harness(client, database, clock)
        _, token = h.sign_up()
        response = h.request("POST", "/webhooks/payment", token=token, origin="https://payments.example")
        assert response.status_code == 200
        assert response.json() == {"received": True, "signed_in": False}
        same_origin = h.request("POST", "/webhooks/payment", token=token)
        assert same_origin.json() == {"received": True, "signed_in": True}


def _inline_app(database: str, clock: FakeClock) -> Starlette:
    adapter = SQLiteAdapter(database)
    auth = Lucia(adapter=adapter, **lucia_options(clock))

    async def both_cookies(request: Request) -> Response:
        response = PlainTextResponse("ok")
        response.set_cookie("theme", "dark")
        user = await auth.create_user(primary_key=None, attributes={"username": "x"})
        get_auth(request).set_session(await auth.create_session(user.user_id))
        return response

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await adapter.close()

    return Starlette(
        routes=[Route("/both", both_cookies)],
        middleware=[Middleware(LuciaMiddleware, auth=auth)],
        lifespan=lifespan,
    )


def test_session_cookie_is_appended_next_to_the_apps_own_cookies(database: str, clock: FakeClock) -> None:
    """The middleware appends its Set-Cookie and keeps the cookies the application set."""
    with asgi_client(_inline_app(database, clock)) as client:
        response = client.get("/both")
    names = sorted(header.split("=", 1)[0] for header in response.headers.get_list("set-cookie"))
    assert names == ["auth_session", "theme"]
    assert session_cookie(response)[0]


def test_get_auth_without_the_middleware_says_so() -> None:
    """Using get_auth in an app without LuciaMiddleware raises a RuntimeError naming the fix."""

    async def view(request: Request) -> Response:
        get_auth(request)
        return PlainTextResponse("unreachable")

    with (
        asgi_client(Starlette(routes=[Route("/", view)])) as client,
        pytest.raises(RuntimeError, match="LuciaMiddleware"),
    ):
        client.get("/")


@pytest.mark.anyio
async def test_non_http_scopes_pass_through(database: str, clock: FakeClock) -> None:
    """Websocket and lifespan scopes reach the application untouched, with no AuthRequest."""
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)

    async def receive() -> Message:
        return {}

    async def send(message: Message) -> None:
        pass

    middleware = LuciaMiddleware(app, auth=Lucia(adapter=SQLiteAdapter(database)))
    await middleware({"type": "websocket", "path": "/ws", "headers": []}, receive, send)
    assert seen == [{"type": "websocket", "path": "/ws", "headers": []}]
