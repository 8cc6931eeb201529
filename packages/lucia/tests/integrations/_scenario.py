"""The one scenario every framework integration passes, driven by a sync httpx client.

Each framework test builds a small app with the routes below (the docs examples under
``docs/examples/frameworks/`` are those apps), wraps a client for it in a
:class:`Harness` and calls the ``check_*`` functions. The same client type serves an
in-process app (``starlette.testclient.TestClient`` for any ASGI app, ``httpx.Client``
with ``httpx.WSGITransport`` for WSGI) and a real server on loopback
(:func:`serve_asgi`, :func:`serve_wsgi`, or the framework's own runner).

The app contract (cookie ``auth_session``; users have one key ``("username", name)``):

=======================  =====================================================================
``POST /signup``         form ``username``, ``password``: create the user and a session, set the
                         cookie, answer 200/201 JSON ``{"user_id": ...}``.
``POST /signin``         form ``username``, ``password``, query ``next``: on success create a
                         session, set the cookie, answer 303 to ``safe_redirect(next, default="/")``;
                         bad credentials answer 400.
``GET /me``              protected: 200 JSON ``{"user_id": ...}``; 401 (or a 3xx redirect) without.
``POST /me``             the same for an unsafe method (the CSRF target).
``POST /signout``        invalidate the session, clear the cookie, answer 200 or 303; anonymous: 401
                         or a redirect.
=======================  =====================================================================

Build the app's ``Lucia`` with ``lucia_options(clock)`` (plus ``csrf_protection=`` for
the CSRF matrix) and the SQLite adapter on a fresh file (the ``database`` fixture,
schema already created).
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from lucia import CsrfProtection, SessionExpiresIn
from lucia.testing import FakeClock, fast_password_hasher
from lucia.testing.services import free_port

__all__ = [
    "ACTIVE_PERIOD",
    "BAD_INPUT_CASES",
    "COOKIE",
    "CSRF_CASES",
    "CSRF_OPTIONS",
    "REDIRECT_CASES",
    "BadInputCase",
    "CsrfCase",
    "Harness",
    "asgi_client",
    "check_bad_input",
    "check_c1_cookie_attributes",
    "check_c3_csrf",
    "check_c4_redirect",
    "check_s4_token_only_in_cookie",
    "lucia_options",
    "run_scenario",
    "serve_asgi",
    "serve_wsgi",
]

COOKIE = "auth_session"
ACTIVE_PERIOD = timedelta(hours=1)
IDLE_PERIOD = timedelta(days=7)
PASSWORD = "correct horse battery staple"
#: The CSRF options of every scenario app unless a case says otherwise.
CSRF_OPTIONS = CsrfProtection(allowed_subdomains=["app"], allowed_origins=["https://bücher.example"])
_DEFAULT = object()


def lucia_options(clock: FakeClock, *, csrf_protection: bool | CsrfProtection = CSRF_OPTIONS) -> dict[str, Any]:
    """Keyword arguments for ``Lucia(adapter=..., **lucia_options(clock))`` in a scenario app."""
    return {
        "env": "DEV",
        "clock": clock,
        "password_hasher": fast_password_hasher(),
        "session_expires_in": SessionExpiresIn(active_period=ACTIVE_PERIOD, idle_period=IDLE_PERIOD),
        "csrf_protection": csrf_protection,
    }


@dataclass
class Harness:
    """A client for one scenario app, its database file and its clock.

    ``client.base_url`` must be the app's own origin (``http://testserver`` in process,
    ``http://127.0.0.1:<port>`` over a socket). The client's cookie jar is never used:
    every request carries exactly the cookie the scenario gives it.
    """

    client: httpx.Client
    database: str
    clock: FakeClock

    @property
    def origin(self) -> str:
        """The app's own origin, as a browser sends it in ``Origin``."""
        url = self.client.base_url
        default = {"http": 80, "https": 443}[url.scheme]
        port = "" if url.port in (None, default) else f":{url.port}"
        return f"{url.scheme}://{url.host}{port}"

    @property
    def host(self) -> str:
        """The host of the app's origin."""
        return self.client.base_url.host

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        origin: object = _DEFAULT,
        headers: Sequence[tuple[str, str]] = (),
        data: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; unsafe methods carry the app's own ``Origin`` unless told otherwise."""
        sent: list[tuple[str, str]] = list(headers)
        if token is not None:
            sent.append(("Cookie", f"{COOKIE}={token}"))
        if origin is _DEFAULT:
            origin = self.origin if method.upper() not in ("GET", "HEAD", "OPTIONS") else None
        if origin is not None:
            sent.append(("Origin", str(origin)))
        # Latin-1 bytes so that tests can send the non-ASCII garbage browsers never would.
        raw = [(name, value.encode("latin-1")) for name, value in sent]
        try:
            return self.client.request(method, path, headers=raw, data=data, params=params, follow_redirects=False)
        finally:
            self.client.cookies.clear()

    def sign_up(self, username: str = "ada") -> tuple[str, str]:
        """Sign up a new user (``username`` plus a random suffix); returns ``(user_id, token)``."""
        username = f"{username}_{secrets.token_hex(4)}"
        response = self.request("POST", "/signup", data={"username": username, "password": PASSWORD})
        assert response.status_code in (200, 201), response.text
        user_id = response.json()["user_id"]
        token, _ = session_cookie(response)
        assert token
        return user_id, token

    def me(self, token: str | None, method: str = "GET") -> str | None:
        """The user id ``/me`` answers for ``token``, or ``None`` when refused."""
        response = self.request(method, "/me", token=token)
        if response.status_code == 200:
            user_id: str = response.json()["user_id"]
            return user_id
        assert response.status_code in (401, 302, 303, 307), response.status_code
        return None

    def session_count(self, user_id: str) -> int:
        """How many session rows the user has in the database, read with plain sqlite3."""
        with sqlite3.connect(self.database) as conn:
            (count,) = conn.execute("SELECT count(*) FROM auth_session WHERE user_id = ?", (user_id,)).fetchone()
        assert isinstance(count, int)
        return count


def session_cookie(response: httpx.Response) -> tuple[str | None, dict[str, str]]:
    """The session cookie a response sets: ``(value, {attribute: value})``, or ``(None, {})``."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name.strip() != COOKIE:
            continue
        value, *attributes = rest.split(";")
        parsed = {}
        for attribute in attributes:
            key, _, attr_value = attribute.strip().partition("=")
            parsed[key.lower()] = attr_value
        return value.strip(), parsed
    return None, {}


def run_scenario(h: Harness) -> None:
    """Sign-up, protected route, cross-origin POST, idle renewal and sign-out, in order."""
    user_id, token = h.sign_up("ada")
    assert h.session_count(user_id) == 1
    # The protected route, with and without the cookie.
    assert h.me(token) == user_id
    assert h.me(None) is None
    assert h.me(token, "POST") == user_id
    # A cross-origin POST is refused and changes nothing.
    refused = h.request("POST", "/me", token=token, origin="https://evil.example")
    assert refused.status_code == 403
    assert session_cookie(refused) == (None, {})
    assert h.me(token) == user_id
    # An idle session is renewed on a request: a new cookie. A parallel request with the old
    # cookie still authenticates during the grace window, without a cookie of its own (S8);
    # after the window the old token is refused (S3).
    h.clock.advance(ACTIVE_PERIOD + timedelta(minutes=1))
    renewed = h.request("GET", "/me", token=token)
    assert renewed.status_code == 200 and renewed.json()["user_id"] == user_id
    new_token, _ = session_cookie(renewed)
    assert new_token and new_token != token
    late = h.request("GET", "/me", token=token)
    assert late.status_code == 200 and late.json()["user_id"] == user_id
    assert session_cookie(late) == (None, {})
    h.clock.advance(timedelta(seconds=31))
    assert h.me(token) is None
    assert h.me(new_token) == user_id
    assert h.session_count(user_id) == 1
    # Sign-out clears the cookie and removes the session from the database.
    signed_out = h.request("POST", "/signout", token=new_token)
    assert signed_out.status_code in (200, 302, 303)
    value, attributes = session_cookie(signed_out)
    assert value == "" and attributes.get("max-age") == "0"
    assert h.session_count(user_id) == 0
    assert h.me(new_token) is None


def check_c1_cookie_attributes(h: Harness) -> None:
    """C1: the session cookie is HttpOnly, SameSite=Lax, Path=/, no Domain, not Secure in DEV, Max-Age ≤ 400 days."""
    response = h.request("POST", "/signup", data={"username": f"c1_{secrets.token_hex(4)}", "password": PASSWORD})
    value, attributes = session_cookie(response)
    assert value
    assert "httponly" in attributes
    assert attributes.get("samesite") == "Lax"
    assert attributes.get("path") == "/"
    assert "domain" not in attributes
    assert "secure" not in attributes
    max_age = int(attributes["max-age"])
    assert 0 < max_age <= 400 * 24 * 3600
    # Sign-out: a blank cookie with Max-Age=0 and the same path.
    cleared, cleared_attributes = session_cookie(h.request("POST", "/signout", token=value))
    assert cleared == "" and cleared_attributes.get("max-age") == "0" and cleared_attributes.get("path") == "/"


def check_s4_token_only_in_cookie(h: Harness) -> None:
    """S4: a token in the query string or a form body is ignored; only the cookie counts."""
    user_id, token = h.sign_up("s4")
    assert h.request("GET", "/me", params={COOKIE: token}).status_code != 200
    assert h.request("GET", "/me", params={"token": token, "session": token}).status_code != 200
    assert h.request("POST", "/me", data={COOKIE: token}).status_code != 200
    assert h.request("GET", "/me", headers=[("X-Session", token)]).status_code != 200
    assert h.me(token) == user_id


@dataclass(frozen=True)
class CsrfCase:
    """One row of the C3 matrix: headers of a POST with a valid cookie, and whether it is trusted."""

    id: str
    headers: Callable[[Harness], list[tuple[str, str]]]
    trusted: bool
    csrf: bool | CsrfProtection = field(default=CSRF_OPTIONS)


def _origin(value: Callable[[Harness], str], site: str | None = None) -> Callable[[Harness], list[tuple[str, str]]]:
    def headers(h: Harness) -> list[tuple[str, str]]:
        sent = [("Origin", value(h))]
        if site is not None:
            sent.append(("Sec-Fetch-Site", site))
        return sent

    return headers


def _site(site: str) -> Callable[[Harness], list[tuple[str, str]]]:
    return lambda h: [("Sec-Fetch-Site", site)]


def _other_port(h: Harness) -> str:
    url = h.client.base_url
    port = (url.port or 80) + 1
    return f"{url.scheme}://{url.host}:{port}"


def _other_scheme(h: Harness) -> str:
    url = h.client.base_url
    return h.origin.replace(f"{url.scheme}://", "https://" if url.scheme == "http" else "http://", 1)


def _subdomain(label: str) -> Callable[[Harness], str]:
    return lambda h: h.origin.replace("://", f"://{label}.", 1)


CSRF_CASES: list[CsrfCase] = [
    CsrfCase("same-origin-origin", _origin(lambda h: h.origin), True),
    CsrfCase("same-origin-origin-and-fetch-site", _origin(lambda h: h.origin, "same-origin"), True),
    CsrfCase("no-headers", lambda h: [], False),
    CsrfCase("null-origin", _origin(lambda h: "null"), False),
    CsrfCase("other-site", _origin(lambda h: "https://evil.example"), False),
    CsrfCase("other-port", _origin(_other_port), False),
    CsrfCase("other-scheme", _origin(_other_scheme), False),
    CsrfCase("suffix-lookalike", _origin(lambda h: h.origin + ".evil.example"), False),
    CsrfCase("prefix-lookalike", _origin(lambda h: h.origin.replace("://", "://evil", 1)), False),
    CsrfCase("malformed-origin", _origin(lambda h: "http://[::1"), False),
    CsrfCase("origin-with-path", _origin(lambda h: h.origin + "/path"), False),
    CsrfCase("idn-allowed-origin-punycode", _origin(lambda h: "https://xn--bcher-kva.example"), True),
    CsrfCase("idn-lookalike-origin", _origin(lambda h: "https://xn--bcher-kva.example.evil"), False),
    CsrfCase("idn-other-scheme", _origin(lambda h: "http://xn--bcher-kva.example"), False),
    CsrfCase("allowed-subdomain", _origin(_subdomain("app")), True),
    CsrfCase("other-subdomain", _origin(_subdomain("evil")), False),
    CsrfCase("nested-subdomain", _origin(_subdomain("x.app")), False),
    CsrfCase("wildcard-subdomain", _origin(_subdomain("any")), True, CsrfProtection(allowed_subdomains="*")),
    CsrfCase("wildcard-nested-subdomain", _origin(_subdomain("a.b")), True, CsrfProtection(allowed_subdomains="*")),
    CsrfCase(
        "wildcard-other-site", _origin(lambda h: "https://evil.example"), False, CsrfProtection(allowed_subdomains="*")
    ),
    CsrfCase("fetch-site-cross-site-only", _site("cross-site"), False),
    CsrfCase("fetch-site-cross-site-with-own-origin", _origin(lambda h: h.origin, "cross-site"), False),
    CsrfCase("fetch-site-same-site-only", _site("same-site"), False),
    CsrfCase("fetch-site-same-site-allowed", _site("same-site"), True, CsrfProtection(allow_same_site=True)),
    CsrfCase("fetch-site-same-origin-only", _site("same-origin"), True),
    CsrfCase("fetch-site-none", _site("none"), False),
]


def check_c3_csrf(h: Harness, case: CsrfCase) -> None:
    """C3: a POST with a valid cookie is answered 200 when trusted and 403 otherwise."""
    user_id, token = h.sign_up("c3")
    response = h.request("POST", "/me", token=token, origin=None, headers=case.headers(h))
    if case.trusted:
        assert response.status_code == 200, (case.id, response.status_code)
        assert response.json()["user_id"] == user_id
    else:
        assert response.status_code == 403, (case.id, response.status_code)
        assert session_cookie(response) == (None, {})
    # A refused request leaves the session alive; a safe method never needs the headers.
    assert h.me(token) == user_id


@dataclass(frozen=True)
class BadInputCase:
    """A malformed request: it must get a 4xx or be anonymous, never a 500."""

    id: str
    method: str
    headers: Callable[[Harness, str], list[tuple[str, str]]]
    #: Non-ASCII header bytes: ``httpx.WSGITransport`` cannot send them (test over a socket).
    latin1: bool = False


BAD_INPUT_CASES: list[BadInputCase] = [
    BadInputCase("garbage-cookie", "GET", lambda h, t: [("Cookie", f"{COOKIE}=%%%;;;=;\x7f")]),
    BadInputCase("quoted-garbage-cookie", "GET", lambda h, t: [("Cookie", f'{COOKIE}="{t}')]),
    BadInputCase("cookie-10kb", "GET", lambda h, t: [("Cookie", f"{COOKIE}=" + "a" * 10_000)]),
    BadInputCase("cookie-header-40kb", "GET", lambda h, t: [("Cookie", "x=" + "b" * 40_000 + f"; {COOKIE}={t}")]),
    BadInputCase("latin1-cookie", "GET", lambda h, t: [("Cookie", f"{COOKIE}=\xe9\xff")], latin1=True),
    BadInputCase("empty-host", "GET", lambda h, t: [("Host", "")]),
    BadInputCase("garbage-host", "POST", lambda h, t: [("Host", "::bad host::"), ("Origin", h.origin)]),
    BadInputCase("malformed-origin", "POST", lambda h, t: [("Origin", "http://[::1")]),
    BadInputCase("huge-origin", "POST", lambda h, t: [("Origin", "http://" + "a" * 5000 + ".example")]),
    BadInputCase("latin1-origin", "POST", lambda h, t: [("Origin", "http://b\xfccher.example")], latin1=True),
]


def check_bad_input(h: Harness, case: BadInputCase) -> None:
    """Bad input is a 4xx or an anonymous request (401/redirect), never a 500 or a session."""
    _, token = h.sign_up("bad")
    response = h.request(case.method, "/me", origin=None, headers=case.headers(h, token))
    assert 400 <= response.status_code < 500 or response.status_code in (302, 303, 307), (case.id, response.status_code)
    # The valid token alone still works afterwards.
    assert h.me(token) is not None


REDIRECT_CASES: list[tuple[str, str]] = [
    ("/account", "/account"),
    ("/account?tab=1", "/account?tab=1"),
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),
    ("https:evil.example", "/"),
    ("https://evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("%2F%2Fevil.example", "/"),
    ("/%2F/evil.example", "/"),
    (" //evil.example", "/"),
]


def check_c4_redirect(h: Harness, target: str, expected: str) -> None:
    """C4: sign-in redirects to ``next`` only when it is a safe target, else to ``/``."""
    username = f"c4_{secrets.token_hex(4)}"
    assert h.request("POST", "/signup", data={"username": username, "password": PASSWORD}).status_code in (200, 201)
    response = h.request("POST", "/signin", params={"next": target}, data={"username": username, "password": PASSWORD})
    assert response.status_code in (302, 303), response.status_code
    location = response.headers["location"]
    if location.startswith(h.origin):
        location = location[len(h.origin) :] or "/"
    assert location == expected, (target, location)
    token, _ = session_cookie(response)
    assert token and h.me(token) is not None


class _PortalTransport(httpx.BaseTransport):
    """A sync httpx transport that runs an ASGI app on a blocking portal's event loop."""

    def __init__(self, portal: Any, app: Any) -> None:
        self.portal = portal
        self.transport = httpx.ASGITransport(app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=request.read())

        async def send() -> httpx.Response:
            response = await self.transport.handle_async_request(copy)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        response: httpx.Response = self.portal.call(send)
        return response


@contextmanager
def asgi_client(app: Any, *, base_url: str = "http://testserver", lifespan: bool = True) -> Iterator[httpx.Client]:
    """A sync ``httpx.Client`` for an ASGI app in process, its lifespan run around the block.

    Pass ``lifespan=False`` for apps without the lifespan protocol (Django). The app runs
    on one private event loop for the whole block, as under a real server; exceptions
    raised by the app propagate, so a 500 never hides. (``starlette.testclient`` would do,
    but it now warns unless the ``httpx2`` package is installed.)
    """
    import anyio
    from anyio.from_thread import start_blocking_portal

    def streams() -> tuple[Any, Any, Any, Any]:
        to_app, app_receive = anyio.create_memory_object_stream[dict[str, Any]](4)
        app_send, from_app = anyio.create_memory_object_stream[dict[str, Any]](4)
        return to_app, app_receive, app_send, from_app

    with start_blocking_portal("asyncio") as portal:
        if not lifespan:
            with httpx.Client(transport=_PortalTransport(portal, app), base_url=base_url) as client:
                yield client
            return
        to_app, app_receive, app_send, from_app = portal.call(streams)
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        running = portal.start_task_soon(app, scope, app_receive.receive, app_send.send)
        portal.call(to_app.send, {"type": "lifespan.startup"})
        started = portal.call(from_app.receive)
        assert started["type"] == "lifespan.startup.complete", started
        try:
            with httpx.Client(transport=_PortalTransport(portal, app), base_url=base_url) as client:
                yield client
        finally:
            portal.call(to_app.send, {"type": "lifespan.shutdown"})
            stopped = portal.call(from_app.receive)
            assert stopped["type"] == "lifespan.shutdown.complete", stopped
            running.result()
            for stream in (to_app, app_receive, app_send, from_app):
                portal.call(stream.close)


@contextmanager
def serve_asgi(app: Any, *, lifespan: str = "auto") -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        assert not thread.is_alive(), "uvicorn did not stop"


@contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    """Serve a WSGI app with waitress on a free loopback port in a thread; yields its base URL."""
    from waitress.server import create_server

    port = free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=4, clear_untrusted_proxy_headers=True)
    thread = threading.Thread(target=server.run, name=f"waitress-{port}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:

        def close_everything() -> None:
            # Runs on the server's own loop thread: closing every channel empties the
            # asyncore map, so ``server.run()`` returns.
            for channel in list(server._map.values()):
                channel.close()

        server.trigger.pull_trigger(close_everything)
        thread.join(15)
        server.task_dispatcher.shutdown()
        assert not thread.is_alive(), "waitress did not stop"
