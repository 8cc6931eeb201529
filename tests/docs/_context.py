"""What a page's code assumes its reader already has: a request, a mailer, an application.

The setups in ``_pages.py`` build these with real objects (a Starlette ``Request`` with
Lucia's ``AuthRequest`` on it, a SQLite database with the tables created), never mocks of
Lucia or of a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from lucia import Cookie, Lucia, LuciaRequest


@dataclass
class Mail:
    """One message the page's code sent."""

    to: str
    subject: str
    body: str


@dataclass
class Mailer:
    """The ``mailer`` the token guides hand their links to: it keeps what it is given."""

    sent: list[Mail] = field(default_factory=list)

    async def send(self, *, to: str, subject: str, body: str) -> None:
        """Keep one message."""
        self.sent.append(Mail(to, subject, body))


def starlette_request(
    auth: Lucia,
    *,
    method: str = "POST",
    path: str = "/",
    form: Mapping[str, str] | None = None,
    cookie: str | None = None,
    client: str = "203.0.113.7",
) -> Any:
    """A real ``starlette.requests.Request`` from this site, with ``request.state.auth`` as the middleware sets it.

    The cookies Lucia asks for are kept on ``request.state.set_cookies``.
    """
    from starlette.requests import Request

    body = urlencode(dict(form or {})).encode()
    headers = [
        (b"host", b"app.example"),
        (b"origin", b"http://app.example"),
        (b"user-agent", b"Mozilla/5.0 (docs test)"),
        (b"content-type", b"application/x-www-form-urlencoded"),
        (b"content-length", str(len(body)).encode()),
    ]
    if cookie is not None:
        headers.append((b"cookie", cookie.encode()))
    set_cookies: list[Cookie] = []
    lucia_request = LuciaRequest(
        method=method,
        url=f"http://app.example{path}",
        headers={name.decode(): value.decode() for name, value in headers},
        client=client,
    )
    state = {"auth": auth.handle_request(lucia_request, set_cookie=set_cookies.append), "set_cookies": set_cookies}
    scope = {
        "type": "http",
        "method": method,
        "scheme": "http",
        "server": ("app.example", 80),
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": (client, 50000),
        "state": state,
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)
