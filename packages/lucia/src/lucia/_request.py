"""Framework-neutral requests: read once, without I/O, then bound to Lucia.

:func:`read_request` is the one place a request is read: the token and where it came
from (the session cookie or an ``Authorization: Bearer`` header), after one CSRF
decision, and the client's address after the trusted-proxy rules. Integrations call it
once (through :meth:`lucia.Lucia.read_request`) and hand the result to
:class:`AuthRequest`, which validates the token at most once per request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, Union
from urllib.parse import urlsplit

from lucia._crypto import TOKEN_PATTERN
from lucia._csrf import CsrfPolicy
from lucia._errors import InvalidRequestError, InvalidSessionError
from lucia._models import Session, User
from lucia.cookies import Cookie, read_cookie
from lucia.redaction import SECRET, redacted

__all__ = [
    "AuthRequest",
    "Headers",
    "LuciaRequest",
    "ProxyHeaders",
    "RequestCredentials",
    "TokenSource",
    "read_request",
]

Headers = Union[Mapping[str, str], Iterable[tuple[str, str]]]
TokenSource = Literal["cookie", "bearer"]


@dataclass(frozen=True, slots=True)
class LuciaRequest:
    """The parts of an HTTP request Lucia reads.

    Args:
        method: The HTTP method.
        url: The full request URL as the application sees it (its scheme, host and port
            are the request's own origin for the CSRF check).
        headers: A mapping, or pairs for repeated headers (several ``Cookie`` lines).
            Names are matched case-insensitively.
        client: The peer's address as the server saw it (``"203.0.113.7"``), if known.
    """

    method: str
    url: str
    headers: Headers
    client: str | None = None

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name``."""
        name = name.lower()
        items = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
        return [value for key, value in items if isinstance(key, str) and key.lower() == name]

    def get(self, name: str) -> str | None:
        """The first value of header ``name``, or ``None``."""
        values = self.get_all(name)
        return values[0] if values else None


def _forwarded(request: LuciaRequest, name: str, hops: int) -> str | None:
    """The value the outermost trusted proxy put in a (possibly appended-to) forwarded header."""
    items = [item.strip() for value in request.get_all(name) for item in value.split(",") if item.strip()]
    if not items:
        return None
    return items[-hops] if len(items) >= hops else items[0]


@dataclass(frozen=True, slots=True)
class ProxyHeaders:
    """Trust the forwarded headers of your reverse proxies (``Lucia(proxy_headers=...)``).

    Behind nginx or a load balancer that ends TLS, the application sees ``http://`` and
    an internal host while the browser sends ``Origin: https://app.example``. Like
    uvicorn's ``--proxy-headers``, Werkzeug's ``ProxyFix`` and Django's
    ``SECURE_PROXY_SSL_HEADER``, this trusts ``X-Forwarded-Proto``, ``X-Forwarded-Host``
    and ``X-Forwarded-For`` — only configure it when every request reaches the app
    through proxies that set them, or a client could forge them.

    Args:
        trusted_hops: How many proxies in front of the app append to the headers; the
            value the outermost of them saw is used.
        forwarded_proto: Use ``X-Forwarded-Proto`` for the request's scheme.
        forwarded_host: Use ``X-Forwarded-Host`` for the request's host.
        forwarded_for: Use ``X-Forwarded-For`` for the client's address.
    """

    trusted_hops: int = 1
    forwarded_proto: bool = True
    forwarded_host: bool = True
    forwarded_for: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.trusted_hops, bool) or not isinstance(self.trusted_hops, int) or self.trusted_hops < 1:
            raise ValueError("trusted_hops must be an integer of at least 1")

    def public_url(self, request: LuciaRequest) -> str:
        """The request's URL as the browser sent it (scheme and host from trusted headers)."""
        scheme = _forwarded(request, "x-forwarded-proto", self.trusted_hops) if self.forwarded_proto else None
        host = _forwarded(request, "x-forwarded-host", self.trusted_hops) if self.forwarded_host else None
        if scheme is None and host is None:
            return request.url
        try:
            parts = urlsplit(request.url)
        except ValueError:
            return request.url
        scheme = scheme.lower() if scheme in ("http", "https", "HTTP", "HTTPS") else parts.scheme
        netloc = host if host is not None and all(c not in host for c in "/\\@?# ") else parts.netloc
        return parts._replace(scheme=scheme, netloc=netloc).geturl()

    def client_address(self, request: LuciaRequest) -> str | None:
        """The client's address: from ``X-Forwarded-For`` when trusted, else the peer's."""
        if self.forwarded_for:
            found = _forwarded(request, "x-forwarded-for", self.trusted_hops)
            if found is not None:
                try:
                    return str(ipaddress.ip_address(found.strip("[]")))
                except ValueError:
                    pass
        return request.client


@redacted
@dataclass(frozen=True, slots=True)
class RequestCredentials:
    """What a request carries, read once by :func:`read_request`.

    Attributes:
        token: A well-formed session token, or ``None`` (never printed).
        source: ``"cookie"`` or ``"bearer"`` (``None`` without a token).
        csrf_trusted: Whether the request passed the CSRF check (safe methods always do);
            a refused request never gets a token from its cookie.
        client: The client's address after the trusted-proxy rules, or ``None``.
        url: The request's URL as seen by the browser (after trusted forwarded headers).
    """

    token: str | None = field(metadata=SECRET)
    source: TokenSource | None = None
    csrf_trusted: bool = True
    client: str | None = None
    url: str = ""


def _bearer(authorization: str) -> str | None:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token if TOKEN_PATTERN.fullmatch(token) else None


def read_request(
    request: LuciaRequest,
    *,
    cookie_name: str,
    csrf: CsrfPolicy,
    allow_bearer: bool = False,
    proxy: ProxyHeaders | None = None,
) -> RequestCredentials:
    """Read a request once: one CSRF decision, one token-shape check. Pure, no I/O.

    A token in the query string or the body is never read (S4). A bearer token is not
    an ambient credential, so it needs no CSRF check; a cookie does.

    Args:
        request: The request.
        cookie_name: The session cookie's name.
        csrf: The CSRF policy.
        allow_bearer: Also read ``Authorization: Bearer <token>``.
        proxy: Which forwarded headers to trust, or ``None`` to trust none.
    """
    url = request.url if proxy is None else proxy.public_url(request)
    client = request.client if proxy is None else proxy.client_address(request)
    trusted = csrf.is_trusted(request.method, url, request.get("origin"), request.get("sec-fetch-site"))
    if allow_bearer:
        authorization = request.get("authorization")
        if authorization is not None and authorization.strip().partition(" ")[0].lower() == "bearer":
            token = _bearer(authorization)
            return RequestCredentials(token, "bearer" if token else None, trusted, client, url)
    if not trusted:
        return RequestCredentials(None, None, False, client, url)
    token = read_cookie(request.get_all("cookie"), cookie_name)
    if token is None or TOKEN_PATTERN.fullmatch(token) is None:
        return RequestCredentials(None, None, True, client, url)
    return RequestCredentials(token, "cookie", True, client, url)


class _Validator(Protocol):
    """What :class:`AuthRequest` needs of :class:`lucia.Lucia` (no import of the core here)."""

    @property
    def reads_session_with_user(self) -> bool: ...

    async def _validate_token(self, token: str, *, with_user: bool) -> tuple[Session, User | None]: ...

    async def get_user(self, user_id: str) -> User: ...

    def create_session_cookie(self, session: Session | None) -> Cookie: ...


class AuthRequest:
    """Lucia bound to one request: validates its session once and sets cookies.

    Built by :meth:`lucia.Lucia.handle_request` or a framework integration. Results are
    cached for the request; a renewed session's cookie is set through ``set_cookie``.
    A request that fails the CSRF check, or carries a garbage cookie, is anonymous.

    Attributes:
        credentials: What the request carries (token source, client address, CSRF verdict).
    """

    def __init__(
        self,
        auth: _Validator,
        credentials: RequestCredentials,
        set_cookie: Callable[[Cookie], None],
    ) -> None:
        self.auth = auth
        self.credentials = credentials
        self._set_cookie = set_cookie
        self._validated = False
        self._session: Session | None = None
        self._user: User | None = None

    @property
    def csrf_error(self) -> InvalidRequestError | None:
        """The CSRF error of an unsafe request whose origin was refused, else ``None``."""
        return None if self.credentials.csrf_trusted else InvalidRequestError()

    @property
    def client(self) -> str | None:
        """The client's address (after the trusted-proxy rules): pass it to ``use_key(client=...)``."""
        return self.credentials.client

    async def _read(self, *, with_user: bool) -> None:
        """Validate the request's token once: the session, with its user when asked."""
        self._validated = True
        token, source = self.credentials.token, self.credentials.source
        if token is None:
            return
        try:
            self._session, self._user = await self.auth._validate_token(token, with_user=with_user)
        except InvalidSessionError:
            if source == "cookie":
                self._set_cookie(self.auth.create_session_cookie(None))
            return
        if self._session.fresh and source == "cookie":
            self._set_cookie(self.auth.create_session_cookie(self._session))

    async def validate_user(self) -> tuple[Session, User] | tuple[None, None]:
        """The request's live session and its user, or ``(None, None)``."""
        if not self._validated:
            await self._read(with_user=True)
        if self._session is None:
            return None, None
        if self._user is None:  # validate() ran first, without the user
            self._user = await self.auth.get_user(self._session.user_id)
        return self._session, self._user

    async def validate(self) -> Session | None:
        """The request's live session, or ``None``. Renews an idle session and sets its cookie.

        Where the adapter reads a session with its user in one query, the user comes along
        for free (a later :meth:`validate_user` costs nothing); elsewhere only the session
        is read.
        """
        if not self._validated:
            await self._read(with_user=self.auth.reads_session_with_user)
        return self._session

    def set_session(self, session: Session | None) -> None:
        """Set (or with ``None`` clear) the session cookie and the cached result."""
        self._set_cookie(self.auth.create_session_cookie(session))
        # The request now carries this session (its user is read if asked for).
        self._validated, self._session, self._user = True, session, None
