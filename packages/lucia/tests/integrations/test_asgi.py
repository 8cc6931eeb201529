"""The framework-neutral ASGI middleware: a bare ASGI docs example through the shared scenario."""

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
    asgi_client,
    check_bad_input,
    check_c1_cookie_attributes,
    check_c3_csrf,
    check_c4_redirect,
    check_s4_token_only_in_cookie,
    lucia_options,
    run_scenario,
    serve_asgi,
)

from lucia import CsrfProtection, LuciaRequest
from lucia.integrations.asgi import lucia_request
from lucia.testing import FakeClock


@pytest.fixture
def asgi_example(example: Callable[[str], ModuleType]) -> ModuleType:
    return example("asgi_app")


@pytest.fixture
def make_harness(asgi_example: ModuleType, database: str, clock: FakeClock) -> Iterator[Callable[..., Harness]]:
    with ExitStack() as stack:

        def make(csrf: bool | CsrfProtection = CSRF_OPTIONS) -> Harness:
            app = asgi_example.create_app(database, **lucia_options(clock, csrf_protection=csrf))
            return Harness(stack.enter_context(asgi_client(app)), database, clock)

        yield make


@pytest.fixture
def served(asgi_example: ModuleType, database: str, clock: FakeClock) -> Iterator[Harness]:
    app = asgi_example.create_app(database, **lucia_options(clock))
    with serve_asgi(app, lifespan="on") as base_url, httpx.Client(base_url=base_url) as client:
        yield Harness(client, database, clock)


def test_scenario_in_process(make_harness: Callable[..., Harness]) -> None:
    """Sign-up, protected route, cross-origin 403, idle renewal and sign-out work in process."""
    run_scenario(make_harness())


def test_scenario_over_uvicorn(served: Harness) -> None:
    """The same scenario passes end to end through a real uvicorn server on loopback."""
    run_scenario(served)


def test_c1_cookie_attributes(make_harness: Callable[..., Harness]) -> None:
    """C1: the cookie the middleware sets has the required attributes."""
    check_c1_cookie_attributes(make_harness())


def test_s4_token_only_from_the_cookie(make_harness: Callable[..., Harness]) -> None:
    """S4: a token in the query string or form body is ignored."""
    check_s4_token_only_in_cookie(make_harness())


@pytest.mark.parametrize("case", CSRF_CASES, ids=[c.id for c in CSRF_CASES])
def test_c3_csrf_matrix(make_harness: Callable[..., Harness], case: CsrfCase) -> None:
    """C3: each row of the CSRF matrix is trusted or refused with 403 as the core rule says."""
    check_c3_csrf(make_harness(case.csrf), case)


@pytest.mark.parametrize("case", BAD_INPUT_CASES, ids=[c.id for c in BAD_INPUT_CASES])
def test_bad_input_in_process(make_harness: Callable[..., Harness], case: BadInputCase) -> None:
    """Garbage cookies, hosts and origins give a 4xx or an anonymous request, never a 500."""
    check_bad_input(make_harness(), case)


def test_bad_input_over_uvicorn(served: Harness) -> None:
    """The bad-input cases over a real socket: a 4xx or anonymous, never a 500."""
    for case in BAD_INPUT_CASES:
        check_bad_input(served, case)


@pytest.mark.parametrize(("target", "expected"), REDIRECT_CASES)
def test_c4_sign_in_redirect(make_harness: Callable[..., Harness], target: str, expected: str) -> None:
    """C4: sign-in follows only safe ``next`` targets."""
    check_c4_redirect(make_harness(), target, expected)


def test_lucia_request_keeps_repeated_cookie_headers_and_falls_back_to_the_server_address() -> None:
    """Several Cookie headers all reach Lucia; without a Host header the origin is the server address."""
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "https",
        "server": ("10.0.0.1", 8443),
        "path": "/x",
        "raw_path": b"/x",
        "query_string": b"a=1",
        "headers": [(b"cookie", b"a=1"), (b"cookie", b"auth_session=t")],
    }
    request = lucia_request(scope)
    assert request == LuciaRequest(
        "POST", "https://10.0.0.1:8443/x?a=1", [("cookie", "a=1"), ("cookie", "auth_session=t")]
    )
    assert request.get_all("Cookie") == ["a=1", "auth_session=t"]
