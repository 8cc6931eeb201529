"""The aiohttp integration: the shared scenario through aiohttp's test client and over a real socket.

The docs example ``docs/examples/frameworks/aiohttp_app.py`` is the app under test. It
runs on an event loop in a background thread (an anyio blocking portal) so that the
synchronous scenario can drive it: in process through :class:`aiohttp.test_utils.TestClient`
(bridged to httpx by a small transport), and end to end served by aiohttp's own
``AppRunner`` + ``TCPSite`` on a loopback port and reached by a plain ``httpx.Client``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
    session_cookie,
)
from aiohttp import DummyCookieJar, web
from aiohttp.test_utils import TestClient, TestServer
from anyio.from_thread import BlockingPortal, start_blocking_portal
from multidict import CIMultiDict
from yarl import URL

import lucia.integrations.aiohttp
from lucia import CsrfProtection, Lucia
from lucia.integrations.aiohttp import get_auth, require_user, setup
from lucia.testing import FakeClock
from lucia_sqlite import SQLiteAdapter

MODES = ["in-process", "socket"]
# Hop-by-hop and framing headers: aiohttp's client computes its own.
_NOT_FORWARDED = {"connection", "content-length", "transfer-encoding"}

# Requests aiohttp's own client will not send (the socket run covers them with httpx).
_CLIENT_REFUSES = {"garbage-cookie"}

AppFactory = Callable[[Lucia], web.Application]


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
    # The scenario sends exactly the cookie it means to: no cookie jar.
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


@contextmanager
def serve(
    create_app: AppFactory,
    database: str,
    clock: FakeClock,
    mode: str,
    *,
    csrf: bool | CsrfProtection = CSRF_OPTIONS,
) -> Iterator[Harness]:
    """The app on a loop thread, with a sync client for it (through the test client or a socket)."""
    with start_blocking_portal("asyncio") as portal:
        adapter = SQLiteAdapter(database)
        app = create_app(Lucia(adapter=adapter, **lucia_options(clock, csrf_protection=csrf)))
        try:
            if mode == "in-process":
                test_client = portal.call(_start_test_client, app)
                base_url = str(test_client.make_url("")).rstrip("/")
                transport = AiohttpTestClientTransport(portal, test_client)
                try:
                    with httpx.Client(base_url=base_url, transport=transport) as client:
                        yield Harness(client, database, clock)
                finally:
                    portal.call(test_client.close)
            else:
                runner, base_url = portal.call(_start_runner, app)
                try:
                    with httpx.Client(base_url=base_url) as client:
                        yield Harness(client, database, clock)
                finally:
                    portal.call(runner.cleanup)
        finally:
            portal.call(adapter.close)


@pytest.fixture
def example_app(example: Callable[[str], ModuleType]) -> AppFactory:
    """``create_app`` of the docs example."""
    factory: AppFactory = example("aiohttp_app").create_app
    return factory


@pytest.mark.parametrize("mode", MODES)
def test_scenario(example_app: AppFactory, database: str, clock: FakeClock, mode: str) -> None:
    """Sign-up, protected route, cross-origin 403, idle renewal, sign-out: in process and over a socket."""
    with serve(example_app, database, clock, mode) as h:
        run_scenario(h)


@pytest.mark.parametrize("mode", MODES)
def test_c1_cookie_attributes(example_app: AppFactory, database: str, clock: FakeClock, mode: str) -> None:
    """C1: the cookie aiohttp sends is HttpOnly, SameSite=Lax, Path=/, host-only, with a bounded Max-Age."""
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


# aiohttp's own test client refuses to send a control character: those cases run over the socket only.
_BAD_INPUT_RUNS = [
    pytest.param(mode, case, id=f"{case.id}-{mode}")
    for mode in MODES
    for case in BAD_INPUT_CASES
    if not (mode == "in-process" and case.id in _CLIENT_REFUSES)
]


@pytest.mark.parametrize(("mode", "case"), _BAD_INPUT_RUNS)
def test_bad_input_is_never_a_500(
    example_app: AppFactory, database: str, clock: FakeClock, mode: str, case: BadInputCase
) -> None:
    """Garbage cookies, odd Host headers and malformed origins give a 4xx or an anonymous request."""
    with serve(example_app, database, clock, mode) as h:
        check_bad_input(h, case)


def _cookie_app(auth: Lucia) -> web.Application:
    """An app whose handlers set other cookies, stream, and sit behind an exempt path."""
    routes = web.RouteTableDef()

    @routes.post("/signup")
    async def sign_up(request: web.Request) -> web.Response:
        user = await auth.create_user(primary_key=None, attributes={"username": "cookies"})
        get_auth(request).set_session(await auth.create_session(user.user_id))
        response = web.json_response({"user_id": user.user_id})
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

    @routes.post("/hooks/incoming")
    async def hook(request: web.Request) -> web.Response:
        session = await get_auth(request).validate()
        return web.json_response({"session": session is not None})

    @routes.get("/bearer")
    async def bearer(request: web.Request) -> web.Response:
        _, user = await require_user(request)
        return web.json_response({"user_id": user.user_id})

    app = web.Application()
    setup(app, auth=auth, csrf_exempt_paths=["/hooks/"])
    app.add_routes(routes)
    return app


def test_session_cookie_is_appended_next_to_other_cookies(database: str, clock: FakeClock) -> None:
    """The session cookie is added to the handler's own cookies, never replacing them."""
    with serve(_cookie_app, database, clock, "socket") as h:
        response = h.request("POST", "/signup")
        set_cookies = response.headers.get_list("set-cookie")
        assert any(c.startswith("theme=dark") for c in set_cookies)
        assert any(c.startswith("lang=en") for c in set_cookies)
        token, _ = session_cookie(response)
        assert token


def test_cookie_after_headers_sent_raises(database: str, clock: FakeClock) -> None:
    """Setting the session cookie after a streamed response started fails loudly, not silently."""
    with serve(_cookie_app, database, clock, "in-process") as h:
        response = h.request("GET", "/stream")
        assert response.status_code == 200
        assert "headers were already sent" in response.text
        assert session_cookie(response) == (None, {})


def test_c3_exempt_path_is_served_but_anonymous(database: str, clock: FakeClock) -> None:
    """C3: a cross-origin POST to an exempt path reaches its handler without the cookie's session."""
    with serve(_cookie_app, database, clock, "in-process") as h:
        token, _ = session_cookie(h.request("POST", "/signup"))
        assert token
        hooked = h.request("POST", "/hooks/incoming", token=token, origin="https://evil.example")
        assert hooked.status_code == 200 and hooked.json() == {"session": False}
        assert h.request("POST", "/hooks/incoming", token=token).json() == {"session": True}
        refused = h.request("POST", "/signup", token=token, origin="https://evil.example")
        assert refused.status_code == 403


def test_s4_bearer_token_only_when_enabled(database: str, clock: FakeClock) -> None:
    """S4: ``Authorization: Bearer`` is ignored unless the integration enables it."""
    with serve(_cookie_app, database, clock, "in-process") as h:
        token, _ = session_cookie(h.request("POST", "/signup"))
        assert token
        assert h.request("GET", "/bearer", headers=[("Authorization", f"Bearer {token}")]).status_code == 401
        assert h.request("GET", "/bearer", token=token).status_code == 200


def test_bearer_token_when_enabled(database: str, clock: FakeClock) -> None:
    """With ``allow_bearer=True`` an API client authenticates with ``Authorization: Bearer``."""

    def create_app(auth: Lucia) -> web.Application:
        async def whoami(request: web.Request) -> web.Response:
            _, user = await require_user(request)
            return web.json_response({"user_id": user.user_id})

        async def sign_up(request: web.Request) -> web.Response:
            user = await auth.create_user(primary_key=None, attributes={"username": "api"})
            session = await auth.create_session(user.user_id)
            return web.json_response({"user_id": user.user_id, "token": session.token})

        app = web.Application()
        setup(app, auth=auth, allow_bearer=True)
        app.router.add_get("/whoami", whoami)
        app.router.add_post("/signup", sign_up)
        return app

    with serve(create_app, database, clock, "in-process") as h:
        created = h.request("POST", "/signup").json()
        answer = h.request("GET", "/whoami", headers=[("Authorization", f"Bearer {created['token']}")])
        assert answer.status_code == 200 and answer.json()["user_id"] == created["user_id"]
        assert h.request("GET", "/whoami", headers=[("Authorization", "Bearer nonsense")]).status_code == 401


def test_get_auth_without_setup_is_a_clear_error(database: str, clock: FakeClock) -> None:
    """Asking for Lucia on an app without :func:`setup` raises an error that says what to do."""

    def create_app(auth: Lucia) -> web.Application:
        async def handler(request: web.Request) -> web.Response:
            try:
                get_auth(request)
            except RuntimeError as error:
                return web.Response(text=str(error))
            return web.Response(text="installed")

        app = web.Application()
        app.router.add_get("/", handler)
        return app

    with serve(create_app, database, clock, "in-process") as h:
        assert "call lucia.integrations.aiohttp.setup" in h.request("GET", "/").text


def test_sub_application_routes_get_auth_and_cookies(database: str, clock: FakeClock) -> None:
    """Lucia installed on the root application covers the routes of its sub-applications."""

    def create_app(auth: Lucia) -> web.Application:
        async def sign_up(request: web.Request) -> web.Response:
            user = await auth.create_user(primary_key=None, attributes={"username": "sub"})
            get_auth(request).set_session(await auth.create_session(user.user_id))
            return web.json_response({"user_id": user.user_id})

        async def me(request: web.Request) -> web.Response:
            _, user = await require_user(request)
            return web.json_response({"user_id": user.user_id})

        api = web.Application()
        api.router.add_post("/signup", sign_up)
        api.router.add_get("/me", me)
        app = web.Application()
        setup(app, auth=auth)
        app.add_subapp("/api/", api)
        return app

    with serve(create_app, database, clock, "socket") as h:
        response = h.request("POST", "/api/signup")
        token, _ = session_cookie(response)
        assert token
        assert h.request("GET", "/api/me", token=token).json() == response.json()
        assert h.request("GET", "/api/me").status_code == 401
        assert h.request("POST", "/api/signup", origin="https://evil.example").status_code == 403


def test_exported_members() -> None:
    """The module's public surface is pinned."""
    assert lucia.integrations.aiohttp.__all__ == [
        "AUTH_KEY",
        "LUCIA_KEY",
        "get_auth",
        "lucia_request",
        "require_user",
        "setup",
    ]
