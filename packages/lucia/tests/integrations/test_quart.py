"""The Quart integration: the shared scenario through Quart's test client and over uvicorn.

The docs example ``docs/examples/frameworks/quart_app.py`` is the app under test. In
process it runs on an event loop in a background thread (an anyio blocking portal)
and is reached through ``app.test_client()`` (bridged to httpx by a small transport);
end to end it is served by uvicorn on a loopback port and reached by a plain
``httpx.Client``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
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
from anyio.from_thread import BlockingPortal, start_blocking_portal
from quart import Quart, Response, current_app, g, make_response, websocket
from quart.testing import QuartClient
from werkzeug.datastructures import Headers

import lucia.integrations.quart
from lucia import CsrfProtection, Lucia
from lucia.integrations.quart import QuartLucia, get_auth, login_required, require_user
from lucia.testing import FakeClock
from lucia_sqlite import SQLiteAdapter

MODES = ["in-process", "socket"]
# Framing headers: Quart's test client makes its own body events.
_NOT_FORWARDED = {"connection", "content-length", "transfer-encoding"}

AppFactory = Callable[[Lucia], Quart]


class QuartTestClientTransport(httpx.BaseTransport):
    """Sends httpx requests through Quart's test client on a portal's loop."""

    def __init__(self, portal: BlockingPortal, client: QuartClient) -> None:
        self.portal = portal
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.portal.call(self._send, request)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        headers = Headers(
            [
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in request.headers.raw
                if name.decode("latin-1").lower() not in _NOT_FORWARDED
            ]
        )
        response = await self.client.open(
            request.url.raw_path.decode("ascii"), method=request.method, headers=headers, data=request.read()
        )
        body = await response.get_data()
        return httpx.Response(response.status_code, headers=list(response.headers.items()), content=body)


@contextmanager
def serve(
    create_app: AppFactory,
    database: str,
    clock: FakeClock,
    mode: str,
    *,
    csrf: bool | CsrfProtection = CSRF_OPTIONS,
) -> Iterator[Harness]:
    """The app with a sync client for it: Quart's test client, or httpx to uvicorn on loopback."""
    adapter = SQLiteAdapter(database)
    app = create_app(Lucia(adapter=adapter, **lucia_options(clock, csrf_protection=csrf)))
    if mode == "in-process":
        with start_blocking_portal("asyncio") as portal:
            transport = QuartTestClientTransport(portal, app.test_client(use_cookies=False))
            try:
                with httpx.Client(base_url="http://localhost", transport=transport) as client:
                    yield Harness(client, database, clock)
            finally:
                portal.call(adapter.close)
    else:
        app.after_serving(adapter.close)  # closed on the loop that opened it
        with serve_asgi(app, lifespan="on") as base_url, httpx.Client(base_url=base_url) as client:
            yield Harness(client, database, clock)


@pytest.fixture
def example_app(example: Callable[[str], ModuleType]) -> AppFactory:
    """``create_app`` of the docs example."""
    factory: AppFactory = example("quart_app").create_app
    return factory


@pytest.mark.parametrize("mode", MODES)
def test_scenario(example_app: AppFactory, database: str, clock: FakeClock, mode: str) -> None:
    """Sign-up, protected route, cross-origin 403, idle renewal, sign-out: in process and over uvicorn."""
    with serve(example_app, database, clock, mode) as h:
        run_scenario(h)


@pytest.mark.parametrize("mode", MODES)
def test_c1_cookie_attributes(example_app: AppFactory, database: str, clock: FakeClock, mode: str) -> None:
    """C1: the cookie Quart sends is HttpOnly, SameSite=Lax, Path=/, host-only, with a bounded Max-Age."""
    with serve(example_app, database, clock, mode) as h:
        check_c1_cookie_attributes(h)


@pytest.mark.parametrize("mode", MODES)
def test_s4_token_only_in_cookie(example_app: AppFactory, database: str, clock: FakeClock, mode: str) -> None:
    """S4: a token in the query string, a form body or another header is ignored."""
    with serve(example_app, database, clock, mode) as h:
        check_s4_token_only_in_cookie(h)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CSRF_CASES, ids=[c.id for c in CSRF_CASES])
def test_c3_csrf_matrix(example_app: AppFactory, database: str, clock: FakeClock, mode: str, case: CsrfCase) -> None:
    """C3: a POST with a valid cookie is served when its origin is trusted, else refused with 403."""
    with serve(example_app, database, clock, mode, csrf=case.csrf) as h:
        check_c3_csrf(h, case)


@pytest.mark.parametrize(("target", "expected"), REDIRECT_CASES)
def test_c4_signin_redirect(
    example_app: AppFactory, database: str, clock: FakeClock, target: str, expected: str
) -> None:
    """C4: the example's sign-in redirects only to a safe ``next`` (the check is the app's, so in process)."""
    with serve(example_app, database, clock, "in-process") as h:
        check_c4_redirect(h, target, expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", BAD_INPUT_CASES, ids=[c.id for c in BAD_INPUT_CASES])
def test_bad_input_is_never_a_500(
    example_app: AppFactory, database: str, clock: FakeClock, mode: str, case: BadInputCase
) -> None:
    """Garbage cookies, odd Host headers and malformed origins give a 4xx or an anonymous request."""
    with serve(example_app, database, clock, mode) as h:
        check_bad_input(h, case)


def _custom_app(auth: Lucia, *, allow_bearer: bool = False) -> Quart:
    """An app whose views set other cookies, stream, and sit behind an exempt path."""
    app = Quart(__name__)
    lucia_extension = QuartLucia(auth=auth, csrf_exempt_paths=["/hooks/"], allow_bearer=allow_bearer)
    lucia_extension.init_app(app)

    @app.post("/signup")
    async def sign_up() -> Response:
        lucia: Lucia = current_app.extensions["lucia"].auth
        user = await lucia.create_user(primary_key=None, attributes={"username": "custom"})
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

    @app.post("/hooks/incoming")
    async def hook() -> dict[str, bool]:
        return {"session": await get_auth().validate() is not None}

    @app.get("/whoami")
    @login_required
    async def whoami() -> dict[str, str]:
        _, user = await require_user()
        return {"user_id": user.user_id}

    return app


def test_session_cookie_is_appended_next_to_other_cookies(database: str, clock: FakeClock) -> None:
    """The session cookie is added to the view's own cookies, never replacing them."""
    with serve(_custom_app, database, clock, "socket") as h:
        response = h.request("POST", "/signup")
        assert any(c.startswith("theme=dark") for c in response.headers.get_list("set-cookie"))
        token, _ = session_cookie(response)
        assert token == response.json()["token"]


def test_cookie_after_headers_sent_raises(database: str, clock: FakeClock) -> None:
    """Setting the session cookie while a streamed body is sent fails loudly, not silently."""
    with serve(_custom_app, database, clock, "socket") as h:
        response = h.request("GET", "/stream")
        assert "headers were already sent" in response.text
        assert session_cookie(response) == (None, {})


def test_c3_exempt_path_is_served_but_anonymous(database: str, clock: FakeClock) -> None:
    """C3: a cross-origin POST to an exempt path reaches its view without the cookie's session."""
    with serve(_custom_app, database, clock, "in-process") as h:
        token = h.request("POST", "/signup").json()["token"]
        hooked = h.request("POST", "/hooks/incoming", token=token, origin="https://evil.example")
        assert hooked.status_code == 200 and hooked.json() == {"session": False}
        assert h.request("POST", "/hooks/incoming", token=token).json() == {"session": True}
        assert h.request("POST", "/signup", token=token, origin="https://evil.example").status_code == 403


def test_login_required_answers_401(database: str, clock: FakeClock) -> None:
    """``login_required`` refuses an anonymous request with 401 and lets a signed-in one through."""
    with serve(_custom_app, database, clock, "in-process") as h:
        token = h.request("POST", "/signup").json()["token"]
        assert h.request("GET", "/whoami").status_code == 401
        assert h.request("GET", "/whoami", token=token).status_code == 200


def test_s4_bearer_token_only_when_enabled(database: str, clock: FakeClock) -> None:
    """S4: ``Authorization: Bearer`` is ignored by default and accepted with ``allow_bearer=True``."""
    with serve(_custom_app, database, clock, "in-process") as h:
        token = h.request("POST", "/signup").json()["token"]
        assert h.request("GET", "/whoami", headers=[("Authorization", f"Bearer {token}")]).status_code == 401
    with serve(lambda a: _custom_app(a, allow_bearer=True), database, clock, "in-process") as h:
        created = h.request("POST", "/signup").json()
        answer = h.request("GET", "/whoami", headers=[("Authorization", f"Bearer {created['token']}")])
        assert answer.status_code == 200 and answer.json()["user_id"] == created["user_id"]


def test_get_auth_without_the_extension_is_a_clear_error(database: str, clock: FakeClock) -> None:
    """Asking for Lucia in an app without :class:`QuartLucia` raises an error that says what to do."""

    def create_app(auth: Lucia) -> Quart:
        app = Quart(__name__)

        @app.get("/")
        async def index() -> str:
            try:
                get_auth()
            except RuntimeError as error:
                return str(error)
            return "installed"

        return app

    with serve(create_app, database, clock, "in-process") as h:
        assert "QuartLucia(app, auth=...)" in h.request("GET", "/").text


def test_websockets_pass_through(database: str, clock: FakeClock) -> None:
    """A Quart websocket route still works with the extension installed (only HTTP is checked)."""
    app = _custom_app(Lucia(adapter=SQLiteAdapter(database), **lucia_options(clock)))

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.send(await websocket.receive())

    async def talk() -> str | bytes:
        async with app.test_client().websocket("/ws", headers={"Origin": "https://evil.example"}) as socket:
            await socket.send("hello")
            return await socket.receive()

    with start_blocking_portal("asyncio") as portal:
        assert portal.call(talk) == "hello"


def test_exported_members() -> None:
    """The module's public surface is pinned."""
    assert lucia.integrations.quart.__all__ == ["QuartLucia", "get_auth", "login_required", "require_user"]
