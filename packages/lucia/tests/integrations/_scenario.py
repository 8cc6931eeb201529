"""The one suite every framework integration passes: :class:`FrameworkTests`, driven by a sync httpx client.

Each framework's test file subclasses :class:`FrameworkTests` and supplies one fixture,
``serve``: a callable ``serve(*, socket=False, **options) -> Harness`` that builds the
framework's docs example app (``docs/examples/frameworks/``) with
``Lucia(adapter=SQLiteAdapter(database), **lucia_options(clock, **options))`` and serves
it in process (``socket=False``) or on a real server on loopback (``socket=True``);
everything it starts stops when the test ends (:class:`Servers` does the bookkeeping).

The app contract (cookie ``auth_session``; users have one key ``("username", name)``):

=========================  ===================================================================
``POST /signup``           form ``username``, ``password``: create the user and a session, set the
                           cookie, answer 200/201 JSON ``{"user_id": ...}``; invalid input 400,
                           a taken username 409.
``POST /signin``           form ``username``, ``password``, query ``next``: on success create a
                           session, set the cookie, answer 303 to ``safe_redirect(next, default="/")``;
                           bad credentials answer 400. ``use_key(..., client=<auth request>.client)``;
                           a ``TooManyRequestsError`` or ``StorageError`` is left to the integration.
``GET /me``                protected: 200 JSON ``{"user_id": ...}``; 401 (or a 3xx redirect) without.
``POST /me``               the same for an unsafe method (the CSRF target).
``POST /signout``          invalidate the session, clear the cookie, answer 200 or 303.
``POST /webhooks/payment`` exempt from the CSRF 403: JSON ``{"received": true, "signed_in": bool}``.
=========================  ===================================================================
"""

from __future__ import annotations

import http.client
import http.server
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Protocol

import httpx
import pytest

from lucia import CsrfProtection, ProxyHeaders, SessionExpiresIn
from lucia.testing import FakeClock, fast_password_hasher
from lucia.testing.services import free_port
from lucia.throttle import Throttle
from lucia_sqlite import SQLiteAdapter

__all__ = [
    "ACTIVE_PERIOD",
    "BAD_INPUT_CASES",
    "COOKIE",
    "CSRF_CASES",
    "CSRF_OPTIONS",
    "REDIRECT_CASES",
    "BadInputCase",
    "CsrfCase",
    "FrameworkTests",
    "Harness",
    "Serve",
    "Servers",
    "asgi_client",
    "lucia_options",
    "reverse_proxy",
    "run_scenario",
    "serve_asgi",
    "serve_wsgi",
    "session_cookie",
]

COOKIE = "auth_session"
ACTIVE_PERIOD = timedelta(hours=1)
IDLE_PERIOD = timedelta(days=7)
PASSWORD = "correct horse battery staple"
#: The allowed origin of :data:`CSRF_OPTIONS` as a browser sends it (IDNA).
ALLOWED_ORIGIN = "https://xn--bcher-kva.example"
#: The CSRF options of every scenario app unless a case says otherwise.
CSRF_OPTIONS = CsrfProtection(allowed_subdomains=["app"], allowed_origins=["https://bücher.example"])
#: The public origin the browser sees in front of the reverse proxy.
PUBLIC_ORIGIN = "https://app.example"
_DEFAULT = object()


def lucia_options(clock: FakeClock, **options: Any) -> dict[str, Any]:
    """Keyword arguments for ``Lucia(adapter=..., **lucia_options(clock))`` in a scenario app.

    ``options`` (``csrf_protection=``, ``env=``, ``throttle=``, ``proxy_headers=``, ...)
    replace the defaults.
    """
    return {
        "env": "DEV",
        "clock": clock,
        "password_hasher": fast_password_hasher(),
        "session_expires_in": SessionExpiresIn(active_period=ACTIVE_PERIOD, idle_period=IDLE_PERIOD),
        "csrf_protection": CSRF_OPTIONS,
        **options,
    }


@dataclass
class Harness:
    """A client for one scenario app, its database file and its clock.

    ``client.base_url`` is where requests go (the app's own origin, or a proxy in front
    of it); ``public_origin`` is the origin a browser would send in ``Origin`` when it is
    not the client's own (behind a proxy). The client's cookie jar is never used: every
    request carries exactly the cookie the test gives it.
    """

    client: httpx.Client
    database: str
    clock: FakeClock
    public_origin: str | None = None

    @property
    def origin(self) -> str:
        """The app's origin as a browser sends it in ``Origin``."""
        if self.public_origin is not None:
            return self.public_origin
        url = self.client.base_url
        default = {"http": 80, "https": 443}[url.scheme]
        port = "" if url.port in (None, default) else f":{url.port}"
        return f"{url.scheme}://{url.host}{port}"

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

    def sign_in(self, username: str, password: str, *, headers: Sequence[tuple[str, str]] = ()) -> httpx.Response:
        """Post the sign-in form."""
        return self.request("POST", "/signin", data={"username": username, "password": password}, headers=headers)

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
        with closing(sqlite3.connect(self.database)) as conn:  # `with conn` alone never closes it
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
    CsrfCase("idn-allowed-origin-punycode", _origin(lambda h: ALLOWED_ORIGIN), True),
    CsrfCase("idn-lookalike-origin", _origin(lambda h: ALLOWED_ORIGIN + ".evil"), False),
    CsrfCase("idn-other-scheme", _origin(lambda h: ALLOWED_ORIGIN.replace("https:", "http:")), False),
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

#: The distinct CSRF options of :data:`CSRF_CASES` (one app each).
CSRF_GROUPS: list[bool | CsrfProtection] = []
for _case in CSRF_CASES:
    if _case.csrf not in CSRF_GROUPS:
        CSRF_GROUPS.append(_case.csrf)

#: Every ``Sec-Fetch-Site`` a browser sends, and none at all (H8).
FETCH_SITES: list[str | None] = [None, "same-origin", "same-site", "cross-site", "none"]


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


class Serve(Protocol):
    """The ``serve`` fixture of a framework's test file (see the module docstring)."""

    def __call__(self, *, socket: bool = False, **options: Any) -> Harness: ...


class FrameworkTests:
    """Every promise a framework integration keeps, through its docs example app.

    Subclass it with one fixture, ``serve`` (:class:`Serve`). Capabilities:
    :attr:`in_process_refuses` names the bad-input cases the in-process client cannot
    send (they run over the socket only).
    """

    #: Ids of :data:`BAD_INPUT_CASES` the framework's in-process client cannot send.
    in_process_refuses: ClassVar[frozenset[str]] = frozenset()

    def test_scenario_in_process(self, serve: Serve) -> None:
        """Sign-up, protected route, cross-origin 403, idle renewal and sign-out work in process."""
        run_scenario(serve())

    def test_over_a_real_server(self, serve: Serve) -> None:
        """The scenario, the CSRF matrix and the bad-input cases pass end to end through a real server.

        Behind a proxy that the app was not told about (no ``proxy_headers``), the public
        ``Origin`` is refused and every client is the proxy's address.
        """
        h = serve(socket=True, throttle=Throttle(per_client_limit=2))
        run_scenario(h)
        for case in CSRF_CASES:  # over a socket the origin has a port
            if case.csrf is CSRF_OPTIONS:
                check_c3_csrf(h, case)
        for bad in BAD_INPUT_CASES:  # every case, also those an in-process client cannot send
            check_bad_input(h, bad)
        with (
            reverse_proxy(str(h.client.base_url)) as proxy,
            _behind(h, proxy, "127.0.0.1", PUBLIC_ORIGIN) as public,
            _behind(h, proxy, "127.0.0.1", h.origin) as first,
            _behind(h, proxy, "127.0.0.3", h.origin) as second,
        ):
            refused = public.request("POST", "/signup", data={"username": "p", "password": PASSWORD})
            assert refused.status_code == 403 and "origin this site does not trust" in refused.text
            # The app sees its own internal origin; both addresses look like the proxy's.
            for _ in range(2):
                assert first.sign_in(f"nobody_{secrets.token_hex(4)}", PASSWORD).status_code == 400
            assert second.sign_in("nobody", PASSWORD).status_code == 429

    def test_c1_cookie_attributes(self, serve: Serve) -> None:
        """C1: HttpOnly, SameSite=Lax, Path=/, no Domain, not Secure in DEV, Max-Age ≤ 400 days; Max-Age=0 clears."""
        h = serve()
        response = h.request("POST", "/signup", data={"username": f"c1_{secrets.token_hex(4)}", "password": PASSWORD})
        value, attributes = session_cookie(response)
        assert value
        assert "httponly" in attributes
        assert attributes.get("samesite") == "Lax"
        assert attributes.get("path") == "/"
        assert "domain" not in attributes
        assert "secure" not in attributes
        assert 0 < int(attributes["max-age"]) <= 400 * 24 * 3600
        cleared, cleared_attributes = session_cookie(h.request("POST", "/signout", token=value))
        assert cleared == "" and cleared_attributes.get("max-age") == "0" and cleared_attributes.get("path") == "/"

    def test_c1_cookie_is_secure_in_prod(self, serve: Serve) -> None:
        """C1: with ``env="PROD"`` the session cookie is ``Secure``."""
        h = serve(env="PROD")
        response = h.request("POST", "/signup", data={"username": f"c1_{secrets.token_hex(4)}", "password": PASSWORD})
        value, attributes = session_cookie(response)
        assert value and "secure" in attributes and "httponly" in attributes

    def test_s4_token_only_from_the_cookie(self, serve: Serve) -> None:
        """S4: a token in the query string, a form body or another header is ignored."""
        h = serve()
        user_id, token = h.sign_up("s4")
        assert h.request("GET", "/me", params={COOKIE: token}).status_code != 200
        assert h.request("GET", "/me", params={"token": token, "session": token}).status_code != 200
        assert h.request("POST", "/me", data={COOKIE: token}).status_code != 200
        assert h.request("GET", "/me", headers=[("X-Session", token)]).status_code != 200
        assert h.request("GET", "/me", headers=[("Authorization", f"Bearer {token}")]).status_code != 200
        assert h.me(token) == user_id

    @pytest.mark.parametrize("csrf", CSRF_GROUPS, ids=["default", "wildcard-subdomains", "same-site-allowed"])
    def test_c3_csrf_matrix(self, serve: Serve, csrf: bool | CsrfProtection) -> None:
        """C3: each row of the CSRF matrix is trusted or refused with 403 as the core rule says."""
        h = serve(csrf_protection=csrf)
        for case in CSRF_CASES:
            if case.csrf == csrf:
                check_c3_csrf(h, case)

    def test_c3_refusal_says_what_failed_and_echoes_nothing(self, serve: Serve) -> None:
        """C3: the 403 says whether the origin was missing or untrusted, and repeats nothing the request sent."""
        h = serve()
        _, token = h.sign_up("c3")
        missing = h.request("POST", "/me", token=token, origin=None)
        assert missing.status_code == 403
        assert "neither an Origin nor a Sec-Fetch-Site" in missing.text
        untrusted = h.request("POST", "/me", token=token, origin="https://evil.example")
        assert untrusted.status_code == 403
        assert "origin this site does not trust" in untrusted.text
        for response in (missing, untrusted):
            assert token not in response.text and "evil" not in response.text
            assert response.headers["content-type"].startswith("text/plain")

    def test_c3_exempt_path_is_served_but_anonymous(self, serve: Serve) -> None:
        """C3: a cross-origin POST to an exempt path reaches the view without the cookie's session."""
        h = serve()
        _, token = h.sign_up("hook")
        hooked = h.request("POST", "/webhooks/payment", token=token, origin="https://payments.example")
        assert hooked.status_code == 200 and hooked.json() == {"received": True, "signed_in": False}
        assert h.request("POST", "/webhooks/payment", token=token).json() == {"received": True, "signed_in": True}

    def test_h8_allowed_origin_is_trusted_whatever_sec_fetch_site(self, serve: Serve) -> None:
        """H8: an Origin listed in allowed_origins is trusted with any Sec-Fetch-Site, or none."""
        h = serve()
        user_id, token = h.sign_up("h8")
        for site in FETCH_SITES:
            headers = [("Sec-Fetch-Site", site)] if site else []
            response = h.request("POST", "/me", token=token, origin=ALLOWED_ORIGIN, headers=headers)
            assert response.status_code == 200, (site, response.status_code)
            assert response.json()["user_id"] == user_id

    def test_h8_unlisted_origins_are_refused_whatever_sec_fetch_site(self, serve: Serve) -> None:
        """H8: an Origin that is not listed (nor the app's own) is refused with any Sec-Fetch-Site."""
        h = serve()
        _, token = h.sign_up("h8")
        unlisted = ["https://evil.example", ALLOWED_ORIGIN + ".evil", ALLOWED_ORIGIN.replace("https:", "http:"), "null"]
        for origin in unlisted:
            for site in FETCH_SITES:
                headers = [("Sec-Fetch-Site", site)] if site else []
                response = h.request("POST", "/me", token=token, origin=origin, headers=headers)
                assert response.status_code == 403, (origin, site, response.status_code)

    def test_bad_input_in_process(self, serve: Serve) -> None:
        """Garbage cookies, hosts and origins give a 4xx or an anonymous request, never a 500."""
        h = serve()
        for case in BAD_INPUT_CASES:
            if case.id not in self.in_process_refuses:
                check_bad_input(h, case)

    def test_c4_sign_in_redirect(self, serve: Serve) -> None:
        """C4: sign-in redirects to ``next`` only when it is a safe target, else to ``/``."""
        h = serve()
        username = f"c4_{secrets.token_hex(4)}"
        assert h.request("POST", "/signup", data={"username": username, "password": PASSWORD}).status_code == 201
        for target, expected in REDIRECT_CASES:
            form = {"username": username, "password": PASSWORD}
            response = h.request("POST", "/signin", params={"next": target}, data=form)
            assert response.status_code in (302, 303), (target, response.status_code)
            location = response.headers["location"]
            if location.startswith(h.origin):
                location = location[len(h.origin) :] or "/"
            assert location == expected, (target, location)
            token, _ = session_cookie(response)
            assert token and h.me(token) is not None

    def test_sign_up_errors_are_400_and_409(self, serve: Serve) -> None:
        """Sign-up answers invalid input with 400 and a taken username with 409, creating nothing."""
        h = serve()
        assert h.request("POST", "/signup", data={"username": "x" * 300, "password": PASSWORD}).status_code == 400
        username = f"dup_{secrets.token_hex(4)}"
        assert h.request("POST", "/signup", data={"username": username, "password": PASSWORD}).status_code == 201
        again = h.request("POST", "/signup", data={"username": username, "password": PASSWORD})
        assert again.status_code == 409 and session_cookie(again) == (None, {})

    def test_b1_throttled_sign_in_is_429_with_retry_after(self, serve: Serve) -> None:
        """B1: a throttled sign-in is 429 with Retry-After in whole seconds, rounded up; the password is not echoed."""
        h = serve()
        username = f"b1_{secrets.token_hex(4)}"
        h.request("POST", "/signup", data={"username": username, "password": PASSWORD})
        for _ in range(5):
            assert h.sign_in(username, "wrong password").status_code == 400
        throttled = h.sign_in(username, PASSWORD)
        assert throttled.status_code == 429
        assert throttled.headers["retry-after"] == "1"
        assert PASSWORD not in throttled.text and session_cookie(throttled) == (None, {})
        h.clock.advance(0.75)  # 0.25 s left: still one whole second
        assert h.sign_in(username, PASSWORD).headers["retry-after"] == "1"
        h.clock.advance(0.25)
        assert h.sign_in(username, PASSWORD).status_code == 303

    def test_storage_down_is_503(self, serve: Serve, tmp_path: Path) -> None:
        """A storage error (a throttle store whose database cannot be opened) is 503, never 401 or 500."""
        down = SQLiteAdapter(str(tmp_path))  # a directory: SQLite cannot open it
        h = serve(throttle=Throttle(store=down.throttle_store()))
        response = h.sign_in("anyone", PASSWORD)
        assert response.status_code == 503
        assert "storage" in response.text and PASSWORD not in response.text

    def test_c3_trusted_proxy_gives_the_public_origin_secure_cookie_and_client(self, serve: Serve) -> None:
        """Behind a trusted proxy: its Origin passes CSRF, the cookie is Secure, the client is the forwarded address."""
        h = serve(
            socket=True, env="PROD", proxy_headers=ProxyHeaders(trusted_hops=1), throttle=Throttle(per_client_limit=2)
        )
        with (
            reverse_proxy(str(h.client.base_url)) as proxy,
            _behind(h, proxy, "127.0.0.1", PUBLIC_ORIGIN) as first,
            _behind(h, proxy, "127.0.0.3", PUBLIC_ORIGIN) as second,
        ):
            response = first.request(
                "POST", "/signup", data={"username": f"p_{secrets.token_hex(4)}", "password": PASSWORD}
            )
            assert response.status_code == 201, response.text
            token, attributes = session_cookie(response)
            assert token and "secure" in attributes
            assert first.me(token, "POST") == response.json()["user_id"]
            # Two failed sign-ins from one address use up its limit; the other address
            # behind the same proxy is not limited, even when it claims the first one's.
            for _ in range(2):
                assert first.sign_in(f"nobody_{secrets.token_hex(4)}", PASSWORD).status_code == 400
            assert first.sign_in("nobody", PASSWORD).status_code == 429
            spoofed = second.sign_in("nobody", PASSWORD, headers=[("X-Forwarded-For", "127.0.0.1")])
            assert spoofed.status_code == 400


@contextmanager
def _behind(h: Harness, proxy: str, address: str, origin: str) -> Iterator[Harness]:
    """A harness whose requests go through ``proxy`` from ``address``, sending ``origin``."""
    with httpx.Client(base_url=proxy, transport=httpx.HTTPTransport(local_address=address)) as client:
        yield replace(h, client=client, public_origin=origin)


class Servers:
    """Serves apps for one test, in process or on loopback, and stops all of them afterwards.

    ``for_asgi`` / ``for_wsgi`` turn a builder ``options -> app`` into the ``serve``
    callable of :class:`FrameworkTests`.
    """

    def __init__(self, stack: ExitStack, database: str, clock: FakeClock) -> None:
        self.stack = stack
        self.database = database
        self.clock = clock

    def harness(self, base_url: str, *, transport: httpx.BaseTransport | None = None) -> Harness:
        """A harness with a client for ``base_url``, closed at the end of the test."""
        client = self.stack.enter_context(httpx.Client(base_url=base_url, transport=transport))
        return Harness(client, self.database, self.clock)

    def for_asgi(self, build: Callable[[dict[str, Any]], Any], *, base_path: str = "") -> Serve:
        """``serve`` for an ASGI app: in process with its lifespan, or under uvicorn."""

        def serve(*, socket: bool = False, **options: Any) -> Harness:
            app = build(lucia_options(self.clock, **options))
            if socket:
                return self.harness(self.stack.enter_context(serve_asgi(app)) + base_path)
            client = self.stack.enter_context(asgi_client(app, base_url="http://testserver" + base_path))
            return Harness(client, self.database, self.clock)

        return serve

    def for_wsgi(
        self, build: Callable[[dict[str, Any]], Any], *, close: Callable[[Any], None], base_path: str = ""
    ) -> Serve:
        """``serve`` for a WSGI app: through ``httpx.WSGITransport``, or under waitress; ``close(app)`` after."""

        def serve(*, socket: bool = False, **options: Any) -> Harness:
            app = build(lucia_options(self.clock, **options))
            self.stack.callback(close, app)
            if socket:
                return self.harness(self.stack.enter_context(serve_wsgi(app)) + base_path)
            return self.harness("http://testserver" + base_path, transport=httpx.WSGITransport(app=app))

        return serve


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
def asgi_client(app: Any, *, base_url: str = "http://testserver") -> Iterator[httpx.Client]:
    """A sync ``httpx.Client`` for an ASGI app in process, its lifespan run around the block.

    The app runs on one private event loop for the whole block, as under a real server;
    exceptions raised by the app propagate, so a 500 never hides. (``starlette.testclient``
    would do, but it now warns unless the ``httpx2`` package is installed.)
    """
    import anyio
    from anyio.from_thread import start_blocking_portal

    def streams() -> tuple[Any, Any, Any, Any]:
        to_app, app_receive = anyio.create_memory_object_stream[dict[str, Any]](4)
        app_send, from_app = anyio.create_memory_object_stream[dict[str, Any]](4)
        return to_app, app_receive, app_send, from_app

    with start_blocking_portal("asyncio") as portal:
        to_app, app_receive, app_send, from_app = portal.call(streams)
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        running = portal.start_task_soon(app, scope, app_receive.receive, app_send.send)
        try:
            portal.call(to_app.send, {"type": "lifespan.startup"})
            started = portal.call(from_app.receive)
            if started["type"] != "lifespan.startup.complete":
                raise RuntimeError(f"the app did not start: {started.get('message')}")
            try:
                with httpx.Client(transport=_PortalTransport(portal, app), base_url=base_url) as client:
                    yield client
            finally:
                portal.call(to_app.send, {"type": "lifespan.shutdown"})
                stopped = portal.call(from_app.receive)
                assert stopped["type"] == "lifespan.shutdown.complete", stopped
                running.result()
        finally:
            with suppress(Exception):  # a failed start-up raised in the app too: said above
                running.result()
            for stream in (to_app, app_receive, app_send, from_app):
                portal.call(stream.close)


@contextmanager
def serve_asgi(app: Any, *, lifespan: str = "on") -> Iterator[str]:
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
    """Serve a WSGI app with waitress on a free loopback port in a thread; yields its base URL.

    Waitress is told to pass ``X-Forwarded-*`` on untouched, so that the app's own
    ``ProxyHeaders`` decide (waitress's ``trusted_proxy`` is the other way).
    """
    from waitress.server import create_server

    port = free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=4, clear_untrusted_proxy_headers=False)
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


_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}


@contextmanager
def reverse_proxy(backend: str, *, source: str = "127.0.0.2") -> Iterator[str]:
    """A TLS-terminating reverse proxy in front of ``backend``, as nginx is configured for one.

    It answers on loopback over plain HTTP but tells the app what the browser used:
    ``X-Forwarded-Proto: https`` and ``X-Forwarded-Host: app.example``, and it appends the
    client's address to ``X-Forwarded-For`` (``$proxy_add_x_forwarded_for``). ``Host`` is
    the backend's own (nginx's default). It connects to the backend from ``source``, so
    the app's peer address is the proxy's, not the client's. Yields the proxy's URL.
    """
    target = httpx.URL(backend)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = [(k, v) for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP | {"host"}]
            earlier = ", ".join(v for k, v in headers if k.lower() == "x-forwarded-for")
            headers = [(k, v) for k, v in headers if k.lower() != "x-forwarded-for"]
            forwarded_for = f"{earlier}, {self.client_address[0]}" if earlier else self.client_address[0]
            headers += [
                ("Host", f"{target.host}:{target.port}"),
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Host", PUBLIC_ORIGIN.removeprefix("https://")),
                ("X-Forwarded-For", forwarded_for),
            ]
            conn = http.client.HTTPConnection(target.host, target.port, timeout=10, source_address=(source, 0))
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    conn.putheader(name, value.encode("latin-1"))
                conn.endheaders(body)
                answer = conn.getresponse()
                content = answer.read()
                self.send_response_only(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in _HOP_BY_HOP | {"content-length"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
            finally:
                conn.close()

        do_GET = do_POST = do_HEAD = forward

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="reverse-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
