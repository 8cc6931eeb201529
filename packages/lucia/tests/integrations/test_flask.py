"""Flask: the docs example app through the shared scenario, in process and over waitress."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
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
    serve_wsgi,
)
from flask import Flask

from lucia import CsrfProtection
from lucia.integrations.flask import FlaskLucia, get_auth
from lucia.testing import FakeClock


@pytest.fixture
def flask_example(example: Callable[[str], ModuleType]) -> ModuleType:
    return example("flask_app")


def _close(app: Flask) -> None:
    sync = app.extensions["lucia"].auth
    sync.call(sync.auth.sessions.close)
    sync.close()


@pytest.fixture
def make_harness(flask_example: ModuleType, database: str, clock: FakeClock) -> Iterator[Callable[..., Harness]]:
    with ExitStack() as stack:

        def make(csrf: bool | CsrfProtection = CSRF_OPTIONS) -> Harness:
            app = flask_example.create_app(database, **lucia_options(clock, csrf_protection=csrf))
            app.config["PROPAGATE_EXCEPTIONS"] = True  # a server error fails the test loudly
            stack.callback(_close, app)
            client = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver")
            return Harness(stack.enter_context(client), database, clock)

        yield make


@pytest.fixture
def served(flask_example: ModuleType, database: str, clock: FakeClock) -> Iterator[Harness]:
    app = flask_example.create_app(database, **lucia_options(clock))
    try:
        with serve_wsgi(app) as base_url, httpx.Client(base_url=base_url) as client:
            yield Harness(client, database, clock)
    finally:
        _close(app)


def test_scenario_in_process(make_harness: Callable[..., Harness]) -> None:
    """Sign-up, protected route, cross-origin 403, idle renewal and sign-out work in process."""
    run_scenario(make_harness())


def test_scenario_over_waitress(served: Harness) -> None:
    """The same scenario passes end to end through a real waitress server on loopback."""
    run_scenario(served)


def test_c1_cookie_attributes(make_harness: Callable[..., Harness]) -> None:
    """C1: the cookie the extension sets has the required attributes."""
    check_c1_cookie_attributes(make_harness())


def test_s4_token_only_from_the_cookie(make_harness: Callable[..., Harness]) -> None:
    """S4: a token in the query string or form body is ignored."""
    check_s4_token_only_in_cookie(make_harness())


@pytest.mark.parametrize("case", CSRF_CASES, ids=[c.id for c in CSRF_CASES])
def test_c3_csrf_matrix(make_harness: Callable[..., Harness], case: CsrfCase) -> None:
    """C3: each row of the CSRF matrix is trusted or refused with 403 as the core rule says."""
    check_c3_csrf(make_harness(case.csrf), case)


def test_c3_csrf_over_waitress(served: Harness) -> None:
    """C3: the CSRF matrix holds over a real socket too, where the origin has a port."""
    for case in CSRF_CASES:
        if case.csrf is CSRF_OPTIONS:
            check_c3_csrf(served, case)


# httpx.WSGITransport cannot send non-ASCII header bytes: those cases run over waitress.
ASCII_CASES = [c for c in BAD_INPUT_CASES if not c.latin1]


@pytest.mark.parametrize("case", ASCII_CASES, ids=[c.id for c in ASCII_CASES])
def test_bad_input_in_process(make_harness: Callable[..., Harness], case: BadInputCase) -> None:
    """Garbage cookies, hosts and origins give a 4xx or an anonymous request, never a 500."""
    check_bad_input(make_harness(), case)


def test_bad_input_over_waitress(served: Harness) -> None:
    """The bad-input cases over a real socket: a 4xx or anonymous, never a 500."""
    for case in BAD_INPUT_CASES:
        check_bad_input(served, case)


@pytest.mark.parametrize(("target", "expected"), REDIRECT_CASES)
def test_c4_sign_in_redirect(make_harness: Callable[..., Harness], target: str, expected: str) -> None:
    """C4: sign-in follows only safe ``next`` targets."""
    check_c4_redirect(make_harness(), target, expected)


def test_init_app_pattern_and_missing_extension() -> None:
    """FlaskLucia supports init_app; get_auth outside an app with the extension raises RuntimeError."""
    from lucia import Lucia
    from lucia.adapters.memory import MemoryAdapter

    extension = FlaskLucia(auth=Lucia(adapter=MemoryAdapter()))
    app = Flask(__name__)
    extension.init_app(app)
    assert app.extensions["lucia"] is extension
    bare = Flask(__name__)
    with bare.test_request_context("/"), pytest.raises(RuntimeError, match="FlaskLucia"):
        get_auth()
    extension.auth.close()
