"""Starlette and FastAPI: the docs example apps through the framework suite, in process and over uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from _scenario import FrameworkTests, Serve, Servers, asgi_client, session_cookie
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from lucia import Lucia
from lucia.integrations.asgi import Message, Receive, Scope, Send
from lucia.integrations.starlette import LuciaMiddleware, get_auth, lifespan
from lucia.testing import FakeClock
from lucia_sqlite import SQLiteAdapter


class TestStarletteAndFastAPI(FrameworkTests):
    """The framework suite over ``starlette_app.py`` and ``fastapi_app.py``."""

    @pytest.fixture(params=["starlette_app", "fastapi_app"])
    def serve(self, request: pytest.FixtureRequest, servers: Servers, example: Callable[[str], ModuleType]) -> Serve:
        module = example(request.param)
        return servers.for_asgi(lambda options: module.create_app(servers.database, **options))


def _inline_app(database: str, clock: FakeClock) -> Starlette:
    auth = Lucia(adapter=SQLiteAdapter(database), clock=clock)

    async def both_cookies(request: Request) -> Response:
        response = PlainTextResponse("ok")
        response.set_cookie("theme", "dark")
        user = await auth.create_user(primary_key=None, attributes={})
        get_auth(request).set_session(await auth.create_session(user.user_id))
        return response

    return Starlette(
        routes=[Route("/both", both_cookies)],
        middleware=[Middleware(LuciaMiddleware, auth=auth)],
        lifespan=lifespan(auth, create_schema=True),
    )


def test_session_cookie_is_appended_next_to_the_apps_own_cookies(database: str, clock: FakeClock) -> None:
    """The middleware appends its Set-Cookie and keeps the cookies the application set."""
    with asgi_client(_inline_app(database, clock)) as client:
        response = client.get("/both")
    names = sorted(header.split("=", 1)[0] for header in response.headers.get_list("set-cookie"))
    assert names == ["auth_session", "theme"]
    assert session_cookie(response)[0]


def test_lifespan_checks_the_schema_at_start_up(database: str) -> None:
    """Without the tables (and without create_schema) the lifespan fails at start-up, naming the fix."""
    app = Starlette(lifespan=lifespan(Lucia(adapter=SQLiteAdapter(database))))
    with pytest.raises(RuntimeError, match=r"ConfigurationError.*create_schema"), asgi_client(app):
        pass


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
async def test_non_http_scopes_pass_through(database: str) -> None:
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
