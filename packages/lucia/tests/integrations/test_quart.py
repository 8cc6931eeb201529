"""The Quart integration: the framework suite in process and over uvicorn, and the extension's own parts.

The docs example ``docs/examples/frameworks/quart_app.py`` is the app under test; a
second small app covers what the example does not show (other cookies, streaming,
bearer tokens, websockets, Quart's own test client).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from types import ModuleType
from typing import Any

import pytest
from _scenario import FrameworkTests, Harness, Serve, Servers, session_cookie
from anyio.from_thread import start_blocking_portal
from quart import Quart, Response, current_app, g, make_response, websocket

from lucia import Lucia
from lucia.integrations.quart import QuartLucia, get_auth, login_required, require_user
from lucia_sqlite import SQLiteAdapter


class TestQuart(FrameworkTests):
    """The framework suite over ``quart_app.py``, in process and under uvicorn."""

    @pytest.fixture
    def serve(self, servers: Servers, example: Callable[[str], ModuleType]) -> Serve:
        module = example("quart_app")
        return servers.for_asgi(lambda options: module.create_app(servers.database, **options))


def _custom_app(database: str, options: dict[str, Any], *, allow_bearer: bool = False) -> Quart:
    """An app whose views set other cookies, stream, and answer websockets and bearer tokens."""
    app = Quart(__name__)
    auth = Lucia(adapter=SQLiteAdapter(database), **options)
    QuartLucia(auth=auth, allow_bearer=allow_bearer, create_schema=True).init_app(app)  # application-factory style

    @app.post("/signup")
    async def sign_up() -> Response:
        lucia: Lucia = current_app.extensions["lucia"].auth
        user = await lucia.create_user(primary_key=None, attributes={})
        session = await lucia.create_session(user.user_id)
        g.auth.set_session(session)
        response = await make_response({"user_id": user.user_id, "token": session.token})
        assert isinstance(response, Response)
        response.set_cookie("theme", "dark")
        return response

    @app.get("/stream")
    async def stream() -> Response:
        auth_request = get_auth()

        async def body() -> AsyncIterator[bytes]:
            try:
                auth_request.set_session(None)
            except RuntimeError as error:
                yield str(error).encode()

        # The body runs after the response started: too late for a cookie.
        return Response(body())

    @app.get("/whoami")
    @login_required
    async def whoami() -> dict[str, str]:
        _, user = await require_user()
        return {"user_id": user.user_id}

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send(await websocket.receive())

    return app


@pytest.fixture
def custom(servers: Servers) -> Callable[..., Harness]:
    """``custom(socket=..., allow_bearer=...)`` serves :func:`_custom_app`."""

    def serve(*, socket: bool = False, allow_bearer: bool = False) -> Harness:
        build = servers.for_asgi(lambda o: _custom_app(servers.database, o, allow_bearer=allow_bearer))
        return build(socket=socket)

    return serve


def test_session_cookie_is_appended_next_to_other_cookies(custom: Callable[..., Harness]) -> None:
    """The session cookie is added to the view's own cookies, never replacing them."""
    response = custom(socket=True).request("POST", "/signup")
    assert any(c.startswith("theme=dark") for c in response.headers.get_list("set-cookie"))
    assert session_cookie(response)[0] == response.json()["token"]


def test_cookie_after_headers_sent_raises(custom: Callable[..., Harness]) -> None:
    """Setting the session cookie while a streamed body is sent fails loudly, not silently."""
    response = custom(socket=True).request("GET", "/stream")
    assert "headers were already sent" in response.text
    assert session_cookie(response) == (None, {})


def test_login_required_and_bearer_with_allow_bearer(custom: Callable[..., Harness]) -> None:
    """``login_required`` answers 401 without a session; with ``allow_bearer=True`` a bearer token signs in."""
    h = custom(allow_bearer=True)
    created = h.request("POST", "/signup").json()
    assert h.request("GET", "/whoami").status_code == 401
    answer = h.request("GET", "/whoami", headers=[("Authorization", f"Bearer {created['token']}")])
    assert answer.status_code == 200 and answer.json()["user_id"] == created["user_id"]


def test_quart_test_client_and_websockets(database: str) -> None:
    """Quart's own test client goes through the extension; websocket routes pass through untouched."""
    app = _custom_app(database, {})

    async def talk() -> tuple[int, int, str | bytes]:
        async with app.test_app():  # before_serving / after_serving: schema, connect, close
            client = app.test_client()
            signed_up = await client.post("/signup", headers={"Origin": "http://localhost"})
            refused = await client.post("/signup", headers={"Origin": "https://evil.example"})
            async with client.websocket("/ws", headers={"Origin": "https://evil.example"}) as socket:
                await socket.send("hello")
                echoed = await socket.receive()
        return signed_up.status_code, refused.status_code, echoed

    with start_blocking_portal("asyncio") as portal:
        assert portal.call(talk) == (200, 403, "hello")


def test_get_auth_without_the_extension_is_a_clear_error() -> None:
    """Asking for Lucia in an app without :class:`QuartLucia` raises an error that says what to do."""
    app = Quart(__name__)

    async def ask() -> None:
        async with app.test_request_context("/"):
            get_auth()

    with start_blocking_portal("asyncio") as portal, pytest.raises(RuntimeError, match=r"QuartLucia\(app"):
        portal.call(ask)
