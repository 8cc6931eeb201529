"""The framework-neutral ASGI middleware: a bare ASGI docs example through the framework suite."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import ModuleType

import pytest
from _scenario import FrameworkTests, Serve, Servers, asgi_client

from lucia import Lucia, LuciaRequest
from lucia.integrations.asgi import LifespanMiddleware, Receive, Scope, Send, lucia_request
from lucia_sqlite import SQLiteAdapter


class TestASGI(FrameworkTests):
    """The framework suite over ``asgi_app.py``, in process and under uvicorn."""

    @pytest.fixture
    def serve(self, servers: Servers, example: Callable[[str], ModuleType]) -> Serve:
        module = example("asgi_app")
        return servers.for_asgi(lambda options: module.create_app(servers.database, **options))


def test_lucia_request_keeps_repeated_cookie_headers_and_falls_back_to_the_server_address() -> None:
    """Several Cookie headers all reach Lucia; without a Host header the origin is the server address."""
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "https",
        "server": ("10.0.0.1", 8443),
        "client": ("203.0.113.7", 50000),
        "path": "/x",
        "raw_path": b"/x",
        "query_string": b"a=1",
        "headers": [(b"cookie", b"a=1"), (b"cookie", b"auth_session=t")],
    }
    request = lucia_request(scope)
    assert request == LuciaRequest(
        "POST", "https://10.0.0.1:8443/x?a=1", [("cookie", "a=1"), ("cookie", "auth_session=t")], "203.0.113.7"
    )
    assert request.get_all("Cookie") == ["a=1", "auth_session=t"]


def test_lifespan_middleware_reports_a_failed_start_and_closes(database: str) -> None:
    """A start-up without the tables is ``lifespan.startup.failed`` naming the fix; nothing stays open."""
    before = set(threading.enumerate())

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("the lifespan must not reach the wrapped app")

    with (
        pytest.raises(RuntimeError, match="ConfigurationError: the session table"),
        asgi_client(LifespanMiddleware(app, auth=Lucia(adapter=SQLiteAdapter(database)))),
    ):
        pass
    # Closed: no aiosqlite connection thread is left to keep the process alive.
    assert [t.name for t in set(threading.enumerate()) - before if not t.daemon] == []
