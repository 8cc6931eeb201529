"""The Litestar integration: the shared scenario through Litestar's TestClient and over uvicorn.

The docs example ``docs/examples/frameworks/litestar_app.py`` is the app under test,
in process through :class:`litestar.testing.TestClient` (an ``httpx.Client``) and end
to end served by uvicorn on a loopback port and reached by a plain ``httpx.Client``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

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
from litestar import Litestar, Request, get, post
from litestar.response import Stream
from litestar.testing import TestClient

import lucia.integrations.litestar
from lucia import CsrfProtection, Lucia, Session, User
from lucia.integrations.litestar import (
    AuthDependency,
    LuciaDependency,
    LuciaPlugin,
    get_auth,
    require_user,
    requires_user,
)
from lucia.testing import FakeClock
from lucia_sqlite import SQLiteAdapter

MODES = ["in-process", "socket"]

AppFactory = Callable[[Lucia], Litestar]


@contextmanager
def serve(
    create_app: AppFactory,
    database: str,
    clock: FakeClock,
    mode: str,
    *,
    csrf: bool | CsrfProtection = CSRF_OPTIONS,
) -> Iterator[Harness]:
    """The app with a sync client for it: Litestar's TestClient, or httpx to uvicorn on loopback."""
    adapter = SQLiteAdapter(database)
    app = create_app(Lucia(adapter=adapter, **lucia_options(clock, csrf_protection=csrf)))
    app.on_shutdown.append(adapter.close)  # closed on the loop that opened it
    if mode == "in-process":
        with TestClient(app, base_url="http://testserver.local") as client:
            yield Harness(client, database, clock)
    else:
        with serve_asgi(app, lifespan="on") as base_url, httpx.Client(base_url=base_url) as client:
            yield Harness(client, database, clock)


@pytest.fixture
def example_app(example: Callable[[str], ModuleType]) -> AppFactory:
    """``create_app`` of the docs example."""
    factory: AppFactory = example("litestar_app").create_app
    return factory


@pytest.mark.parametrize("mode", MODES)
def test_scenario(example_app: AppFactory, database: str, clock: FakeClock, mode: str) -> None:
    """Sign-up, protected route, cross-origin 403, idle renewal, sign-out: in process and over uvicorn."""
    with serve(example_app, database, clock, mode) as h:
        run_scenario(h)


@pytest.mark.parametrize("mode", MODES)
def test_c1_cookie_attributes(example_app: AppFactory, database: str, clock: FakeClock, mode: str) -> None:
    """C1: the cookie Litestar sends is HttpOnly, SameSite=Lax, Path=/, host-only, with a bounded Max-Age."""
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


def _custom_app(auth: Lucia, *, allow_bearer: bool = False) -> Litestar:
    """An app whose handlers set other cookies, stream, and sit behind an exempt path."""

    @post("/signup", status_code=200)
    async def sign_up(lucia: LuciaDependency, auth: AuthDependency) -> Any:
        from litestar import Response
        from litestar.datastructures import Cookie

        user = await lucia.create_user(primary_key=None, attributes={"username": "custom"})
        session = await lucia.create_session(user.user_id)
        auth.set_session(session)
        return Response(
            {"user_id": user.user_id, "token": session.token},
            cookies=[Cookie(key="theme", value="dark")],
            headers={"X-Other": "1"},
        )

    @get("/stream")
    async def stream(request: Request[Any, Any, Any]) -> Stream:
        async def body() -> Any:
            try:
                get_auth(request).set_session(None)
            except RuntimeError as error:
                yield str(error).encode()

        # The body runs after the response started: too late for a cookie.
        return Stream(body())

    @post("/hooks/incoming", status_code=200)
    async def hook(auth: AuthDependency) -> dict[str, bool]:
        return {"session": await auth.validate() is not None}

    @get("/whoami")
    async def whoami(request: Request[Any, Any, Any]) -> dict[str, str]:
        _, user = await require_user(request)
        return {"user_id": user.user_id}

    @get("/guarded", guards=[requires_user])
    async def guarded() -> str:
        return "ok"

    return Litestar(
        [sign_up, stream, hook, whoami, guarded],
        plugins=[LuciaPlugin(auth=auth, csrf_exempt_paths=["/hooks/"], allow_bearer=allow_bearer)],
    )


def test_session_cookie_is_appended_next_to_other_cookies(database: str, clock: FakeClock) -> None:
    """The session cookie is added to the handler's own cookies, never replacing them."""
    with serve(_custom_app, database, clock, "socket") as h:
        response = h.request("POST", "/signup")
        assert any(c.startswith("theme=dark") for c in response.headers.get_list("set-cookie"))
        assert response.headers["x-other"] == "1"
        token, _ = session_cookie(response)
        assert token == response.json()["token"]


def test_cookie_after_headers_sent_raises(database: str, clock: FakeClock) -> None:
    """Setting the session cookie while a streamed body is sent fails loudly, not silently."""
    with serve(_custom_app, database, clock, "in-process") as h:
        response = h.request("GET", "/stream")
        assert "headers were already sent" in response.text
        assert session_cookie(response) == (None, {})


def test_c3_exempt_path_is_served_but_anonymous(database: str, clock: FakeClock) -> None:
    """C3: a cross-origin POST to an exempt path reaches its handler without the cookie's session."""
    with serve(_custom_app, database, clock, "in-process") as h:
        token = h.request("POST", "/signup").json()["token"]
        hooked = h.request("POST", "/hooks/incoming", token=token, origin="https://evil.example")
        assert hooked.status_code == 200 and hooked.json() == {"session": False}
        assert h.request("POST", "/hooks/incoming", token=token).json() == {"session": True}
        assert h.request("POST", "/signup", token=token, origin="https://evil.example").status_code == 403


def test_guard_and_require_user_answer_401(database: str, clock: FakeClock) -> None:
    """The ``requires_user`` guard and ``require_user`` refuse an anonymous request with 401."""
    with serve(_custom_app, database, clock, "in-process") as h:
        token = h.request("POST", "/signup").json()["token"]
        assert h.request("GET", "/guarded").status_code == 401
        assert h.request("GET", "/guarded", token=token).text == "ok"
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


def test_dependencies_and_signature_names_are_registered(database: str, clock: FakeClock) -> None:
    """The plugin provides ``auth`` and ``lucia`` and the names handlers annotate with."""
    lucia_instance = Lucia(adapter=SQLiteAdapter(database), **lucia_options(clock))
    app = Litestar([], plugins=[LuciaPlugin(auth=lucia_instance)])
    assert {"auth", "lucia"} <= set(app.dependencies)
    assert {"AuthRequest", "Lucia", "Session", "User"} <= set(app.signature_namespace)
    assert app.signature_namespace["Session"] is Session and app.signature_namespace["User"] is User


def test_exported_members() -> None:
    """The module's public surface is pinned."""
    assert lucia.integrations.litestar.__all__ == [
        "AuthDependency",
        "LuciaDependency",
        "LuciaPlugin",
        "get_auth",
        "require_user",
        "requires_user",
    ]
