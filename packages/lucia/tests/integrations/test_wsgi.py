"""The framework-neutral WSGI middleware: a bare WSGI docs example through the framework suite."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from _scenario import BAD_INPUT_CASES, FrameworkTests, Serve, Servers

from lucia import ConfigurationError, Lucia
from lucia.integrations.wsgi import LuciaMiddleware, get_auth, lucia_request
from lucia_sqlite import SQLiteAdapter

#: httpx.WSGITransport cannot send non-ASCII header bytes: those cases run over waitress.
LATIN1_CASES = frozenset(case.id for case in BAD_INPUT_CASES if case.latin1)


class TestWSGI(FrameworkTests):
    """The framework suite over ``wsgi_app.py``, in process and under waitress."""

    in_process_refuses = LATIN1_CASES

    @pytest.fixture
    def serve(self, servers: Servers, example: Callable[[str], ModuleType]) -> Serve:
        module = example("wsgi_app")
        return servers.for_wsgi(lambda options: module.create_app(servers.database, **options), close=_close)


def _close(app: LuciaMiddleware) -> None:
    app.close()


def test_lucia_request_from_environ() -> None:
    """The environ becomes a LuciaRequest; without a Host header the origin is SERVER_NAME:SERVER_PORT."""
    environ = {
        "REQUEST_METHOD": "POST",
        "wsgi.url_scheme": "https",
        "SERVER_NAME": "10.0.0.1",
        "SERVER_PORT": "8443",
        "SCRIPT_NAME": "/app",
        "PATH_INFO": "/x",
        "QUERY_STRING": "a=1",
        "CONTENT_TYPE": "text/plain",
        "HTTP_COOKIE": "auth_session=t",
        "REMOTE_ADDR": "203.0.113.7",
        "wsgi.input": object(),
    }
    request = lucia_request(environ)
    assert request.method == "POST" and request.url == "https://10.0.0.1:8443/app/x?a=1"
    assert request.get("cookie") == "auth_session=t" and request.get("content-type") == "text/plain"
    assert request.client == "203.0.113.7"


def test_start_up_checks_the_schema(database: str) -> None:
    """Building the middleware connects and checks the schema: without the tables it fails, naming the fix."""
    with pytest.raises(ConfigurationError, match="create_schema"):
        LuciaMiddleware(lambda environ, start_response: [], auth=Lucia(adapter=SQLiteAdapter(database)))


def test_get_auth_without_the_middleware_says_so() -> None:
    """get_auth on an environ that did not pass through the middleware raises RuntimeError."""
    with pytest.raises(RuntimeError, match="LuciaMiddleware"):
        get_auth({})
