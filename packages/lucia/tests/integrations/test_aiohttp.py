"""The aiohttp integration: the framework suite through aiohttp's test client and over a real socket.

The docs example ``docs/examples/frameworks/aiohttp_app.py`` is the app under test. It
runs on an event loop in a background thread (an anyio blocking portal) so that the
synchronous suite can drive it: in process through :class:`aiohttp.test_utils.TestClient`
(bridged to httpx by a small transport), and end to end served by aiohttp's own
``AppRunner`` + ``TCPSite`` on a loopback port and reached by a plain ``httpx.Client``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import httpx
import pytest
from _scenario import FrameworkTests, Harness, Serve, Servers, lucia_options, session_cookie
from aiohttp import DummyCookieJar, web
from aiohttp.test_utils import TestClient, TestServer
from anyio.from_thread import BlockingPortal, start_blocking_portal
from multidict import CIMultiDict
from yarl import URL

from lucia import Lucia
from lucia.integrations.aiohttp import get_auth, require_user, setup
from lucia_sqlite import SQLiteAdapter

# Hop-by-hop and framing headers: aiohttp's client computes its own.
_NOT_FORWARDED = {"connection", "content-length", "transfer-encoding"}


class AiohttpTestClientTransport(httpx.BaseTransport):
    """Sends httpx requests through an aiohttp ``TestClient`` living on a portal's loop."""

    def __init__(self, portal: BlockingPortal, client: TestClient[web.Request, web.Application]) -> None:
        self.portal = portal
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.portal.call(self._send, request)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        headers = CIMultiDict(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name.decode("latin-1").lower() not in _NOT_FORWARDED
        )
        url = URL(request.url.raw_path.decode("ascii"), encoded=True)
        async with self.client.request(
            request.method, url, headers=headers, data=request.read(), allow_redirects=False
        ) as response:
            body = await response.read()
            return httpx.Response(response.status, headers=list(response.raw_headers), content=body)


async def _start_test_client(app: web.Application) -> TestClient[web.Request, web.Application]:
    # The suite sends exactly the cookie it means to: no cookie jar.
    client = TestClient(TestServer(app, host="127.0.0.1"), cookie_jar=DummyCookieJar())
    await client.start_server()
    return client


async def _start_runner(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@pytest.fixture
def portal(servers: Servers) -> BlockingPortal:
    """The event loop the apps of one test run on (stopped after them: first in the stack)."""
    return servers.stack.enter_context(start_blocking_portal("asyncio"))


def serve_app(servers: Servers, portal: BlockingPortal, app: web.Application, *, socket: bool = False) -> Harness:
    """Serve ``app`` (its start-up and cleanup included) through the test client, or on a real socket."""
    if socket:
        runner, base_url = portal.call(_start_runner, app)
        servers.stack.callback(portal.call, runner.cleanup)
        return servers.harness(base_url)
    client = portal.call(_start_test_client, app)
    servers.stack.callback(portal.call, client.close)
    base_url = str(client.make_url("")).rstrip("/")
    return servers.harness(base_url, transport=AiohttpTestClientTransport(portal, client))


class TestAiohttp(FrameworkTests):
    """The framework suite over ``aiohttp_app.py``."""

    # aiohttp's own test client will not send a control character (the socket run does).
    in_process_refuses = frozenset({"garbage-cookie"})

    @pytest.fixture
    def serve(self, servers: Servers, portal: BlockingPortal, example: Callable[[str], ModuleType]) -> Serve:
        module = example("aiohttp_app")

        def serve(*, socket: bool = False, **options: object) -> Harness:
            app = module.create_app(servers.database, **lucia_options(servers.clock, **options))
            return serve_app(servers, portal, app, socket=socket)

        return serve


def _cookie_app(auth: Lucia, *, allow_bearer: bool = False) -> web.Application:
    """An app whose handlers set other cookies, stream, and answer a bearer token when allowed."""
    routes = web.RouteTableDef()

    @routes.post("/signup")
    async def sign_up(request: web.Request) -> web.Response:
        user = await auth.create_user(primary_key=None, attributes={})
        session = await auth.create_session(user.user_id)
        get_auth(request).set_session(session)
        response = web.json_response({"user_id": user.user_id, "token": session.token})
        response.set_cookie("theme", "dark")
        response.headers.add("Set-Cookie", "lang=en; Path=/")
        return response

    @routes.get("/stream")
    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            get_auth(request).set_session(None)
        except RuntimeError as error:
            await response.write(str(error).encode())
        await response.write_eof()
        return response

    @routes.get("/whoami")
    async def whoami(request: web.Request) -> web.Response:
        _, user = await require_user(request)
        return web.json_response({"user_id": user.user_id})

    app = web.Application()
    setup(app, auth=auth, allow_bearer=allow_bearer, create_schema=True)
    app.add_routes(routes)
    return app


@pytest.fixture
def cookie_app(servers: Servers, portal: BlockingPortal) -> Callable[..., Harness]:
    """``cookie_app(socket=..., allow_bearer=...)`` serves :func:`_cookie_app`."""

    def serve(*, socket: bool = False, allow_bearer: bool = False) -> Harness:
        auth = Lucia(adapter=SQLiteAdapter(servers.database), **lucia_options(servers.clock))
        return serve_app(servers, portal, _cookie_app(auth, allow_bearer=allow_bearer), socket=socket)

    return serve


def test_session_cookie_is_appended_next_to_other_cookies(cookie_app: Callable[..., Harness]) -> None:
    """The session cookie is added to the handler's own cookies, never replacing them."""
    response = cookie_app(socket=True).request("POST", "/signup")
    set_cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("theme=dark") for c in set_cookies)
    assert any(c.startswith("lang=en") for c in set_cookies)
    assert session_cookie(response)[0] == response.json()["token"]


def test_cookie_after_headers_sent_raises(cookie_app: Callable[..., Harness]) -> None:
    """Setting the session cookie after a streamed response started fails loudly, not silently."""
    response = cookie_app().request("GET", "/stream")
    assert response.status_code == 200
    assert "headers were already sent" in response.text
    assert session_cookie(response) == (None, {})


@pytest.mark.parametrize("allow_bearer", [False, True])
def test_s4_bearer_token_only_when_enabled(cookie_app: Callable[..., Harness], allow_bearer: bool) -> None:
    """S4: ``Authorization: Bearer`` authenticates only with ``allow_bearer=True``; a bad one never does."""
    h = cookie_app(allow_bearer=allow_bearer)
    created = h.request("POST", "/signup").json()
    answer = h.request("GET", "/whoami", headers=[("Authorization", f"Bearer {created['token']}")])
    assert answer.status_code == (200 if allow_bearer else 401)
    assert h.request("GET", "/whoami", headers=[("Authorization", "Bearer nonsense")]).status_code == 401


def test_get_auth_without_setup_is_a_clear_error(servers: Servers, portal: BlockingPortal) -> None:
    """Asking for Lucia on an app without :func:`setup` raises an error that says what to do."""

    async def handler(request: web.Request) -> web.Response:
        try:
            get_auth(request)
        except RuntimeError as error:
            return web.Response(text=str(error))
        return web.Response(text="installed")

    app = web.Application()
    app.router.add_get("/", handler)
    assert "call lucia.integrations.aiohttp.setup" in serve_app(servers, portal, app).request("GET", "/").text


def test_sub_application_routes_get_auth_and_cookies(servers: Servers, portal: BlockingPortal) -> None:
    """Lucia installed on the root application covers the routes of its sub-applications."""
    auth = Lucia(adapter=SQLiteAdapter(servers.database), **lucia_options(servers.clock))
    app = web.Application()
    setup(app, auth=auth, create_schema=True)
    app.add_subapp("/api/", _cookie_app(auth))
    h = serve_app(servers, portal, app, socket=True)
    response = h.request("POST", "/api/signup")
    token, _ = session_cookie(response)
    assert token
    assert h.request("GET", "/api/whoami", token=token).json() == {"user_id": response.json()["user_id"]}
    assert h.request("GET", "/api/whoami").status_code == 401
    assert h.request("POST", "/api/signup", origin="https://evil.example").status_code == 403
