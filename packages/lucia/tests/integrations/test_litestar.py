"""The Litestar integration: the framework suite in process and over uvicorn, and the plugin's own parts.

The docs example ``docs/examples/frameworks/litestar_app.py`` is the app under test; a
second small app covers what the example does not show (other cookies, streaming,
guards, bearer tokens).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from _scenario import FrameworkTests, Harness, Serve, Servers, session_cookie
from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.response import Stream
from litestar.testing import TestClient

from lucia import Lucia, Session, User
from lucia.integrations.litestar import (
    AuthDependency,
    LuciaDependency,
    LuciaPlugin,
    get_auth,
    require_user,
    requires_user,
)
from lucia_sqlite import SQLiteAdapter


class TestLitestar(FrameworkTests):
    """The framework suite over ``litestar_app.py``, in process and under uvicorn."""

    @pytest.fixture
    def serve(self, servers: Servers, example: Callable[[str], ModuleType]) -> Serve:
        module = example("litestar_app")
        return servers.for_asgi(lambda options: module.create_app(servers.database, **options))


def _custom_app(options: dict[str, Any], *, allow_bearer: bool = False) -> Litestar:
    """An app whose handlers set other cookies and headers, stream, and sit behind guards."""

    @post("/signup", status_code=200)
    async def sign_up(lucia: LuciaDependency, auth: AuthDependency) -> Response[dict[str, str]]:
        user = await lucia.create_user(primary_key=None, attributes={})
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

    @get("/whoami")
    async def whoami(request: Request[Any, Any, Any]) -> dict[str, str]:
        _, user = await require_user(request)
        return {"user_id": user.user_id}

    @get("/guarded", guards=[requires_user])
    async def guarded() -> str:
        return "ok"

    auth = Lucia(adapter=SQLiteAdapter(options.pop("database")), **options)
    plugin = LuciaPlugin(auth=auth, allow_bearer=allow_bearer, create_schema=True)
    return Litestar([sign_up, stream, whoami, guarded], plugins=[plugin])


@pytest.fixture
def custom(servers: Servers) -> Callable[..., Harness]:
    """``custom(socket=..., allow_bearer=...)`` serves :func:`_custom_app`."""

    def serve(*, socket: bool = False, allow_bearer: bool = False) -> Harness:
        build = servers.for_asgi(lambda o: _custom_app({**o, "database": servers.database}, allow_bearer=allow_bearer))
        return build(socket=socket)

    return serve


def test_session_cookie_is_appended_next_to_other_cookies(custom: Callable[..., Harness]) -> None:
    """The session cookie is added to the handler's own cookies and headers, never replacing them."""
    response = custom(socket=True).request("POST", "/signup")
    assert any(c.startswith("theme=dark") for c in response.headers.get_list("set-cookie"))
    assert response.headers["x-other"] == "1"
    assert session_cookie(response)[0] == response.json()["token"]


def test_cookie_after_headers_sent_raises(custom: Callable[..., Harness]) -> None:
    """Setting the session cookie while a streamed body is sent fails loudly, not silently."""
    response = custom().request("GET", "/stream")
    assert "headers were already sent" in response.text
    assert session_cookie(response) == (None, {})


def test_guard_and_require_user_answer_401(custom: Callable[..., Harness]) -> None:
    """The ``requires_user`` guard and ``require_user`` refuse an anonymous request with 401."""
    h = custom()
    token = h.request("POST", "/signup").json()["token"]
    assert h.request("GET", "/guarded").status_code == 401
    assert h.request("GET", "/guarded", token=token).text == "ok"
    assert h.request("GET", "/whoami").status_code == 401
    assert h.request("GET", "/whoami", token=token).status_code == 200


def test_bearer_token_with_allow_bearer(custom: Callable[..., Harness]) -> None:
    """With ``allow_bearer=True`` an API client authenticates with ``Authorization: Bearer``."""
    h = custom(allow_bearer=True)
    created = h.request("POST", "/signup").json()
    answer = h.request("GET", "/whoami", headers=[("Authorization", f"Bearer {created['token']}")])
    assert answer.status_code == 200 and answer.json()["user_id"] == created["user_id"]


def test_litestar_test_client_runs_the_plugin(database: str) -> None:
    """Litestar's own TestClient runs the plugin's start-up (schema), middleware and shutdown."""
    with TestClient(_custom_app({"database": database}), base_url="http://testserver.local") as client:
        assert client.post("/signup", headers={"Origin": "http://testserver.local"}).status_code == 200
        assert client.post("/signup").status_code == 403


def test_dependencies_and_signature_names_are_registered(database: str) -> None:
    """The plugin provides ``auth`` and ``lucia`` and the names handlers annotate with."""
    app = Litestar([], plugins=[LuciaPlugin(auth=Lucia(adapter=SQLiteAdapter(database)))])
    assert {"auth", "lucia"} <= set(app.dependencies)
    assert {"AuthRequest", "Lucia", "Session", "User"} <= set(app.signature_namespace)
    assert app.signature_namespace["Session"] is Session and app.signature_namespace["User"] is User
