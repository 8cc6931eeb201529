"""What every integration shares: pending cookies, the CSRF gate, errors as HTTP answers, start and stop.

No framework is imported here: each integration renders an :class:`ErrorResponse` in
its own response type and calls :func:`start` / :func:`stop` from its own lifecycle hook.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar, Union

import anyio.to_thread

from lucia._core import Lucia
from lucia._errors import StorageError, TooManyRequestsError
from lucia._request import LuciaRequest, RequestCredentials
from lucia._sync import SyncLucia
from lucia.cookies import Cookie

__all__ = [
    "MISSING_ORIGIN_TEXT",
    "UNTRUSTED_ORIGIN_TEXT",
    "AnyLucia",
    "ErrorResponse",
    "IntegrationOptions",
    "PendingCookies",
    "RequestOptions",
    "accept",
    "answer_for",
    "core_of",
    "create_schema",
    "error_response",
    "is_exempt",
    "running",
    "start",
    "start_sync",
    "stop",
]

logger = logging.getLogger("lucia.integrations")

AnyLucia = Union[Lucia, SyncLucia]
_A = TypeVar("_A", bound=AnyLucia)

#: The ``403`` body for an unsafe request that says nothing about where it comes from.
MISSING_ORIGIN_TEXT = (
    "Forbidden (CSRF check): the request has neither an Origin nor a Sec-Fetch-Site header, "
    "so where it comes from cannot be verified."
)
#: The ``403`` body for an unsafe request from an origin that is not trusted.
UNTRUSTED_ORIGIN_TEXT = "Forbidden (CSRF check): the request comes from an origin this site does not trust."
_UNAVAILABLE_TEXT = "Service Unavailable: the sign-in storage cannot be reached; try again later."


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """An HTTP answer an integration gives instead of running (or finishing) a view.

    Attributes:
        status: ``403`` (CSRF), ``429`` (throttled) or ``503`` (storage down).
        text: A plain-text body that says what failed, never a secret or request data.
        headers: Extra headers (``Retry-After`` for ``429``).
    """

    status: int
    text: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def all_headers(self) -> list[tuple[str, str]]:
        """Every header of the answer, ``Content-Type`` first."""
        return [("Content-Type", "text/plain; charset=utf-8"), *self.headers]


class PendingCookies:
    """The cookies one request asked for, written to its response when the headers go out."""

    def __init__(self) -> None:
        self.cookies: dict[str, Cookie] = {}
        self.sent = False

    def set(self, cookie: Cookie) -> None:
        """Remember ``cookie``; a later cookie of the same name replaces it, as in a browser.

        Raises:
            RuntimeError: When the response headers were already sent: a lost renewal
                cookie would sign the user out silently, so this fails loudly instead.
        """
        if self.sent:
            raise RuntimeError("Lucia cannot set a cookie: the response headers were already sent")
        self.cookies[cookie.name] = cookie

    def headers(self) -> list[str]:
        """The ``Set-Cookie`` values to append, and mark the cookies as sent."""
        self.sent = True
        return [cookie.serialize() for cookie in self.cookies.values()]


def is_exempt(path: str, exempt_paths: Collection[str]) -> bool:
    """Whether ``path`` is one of ``exempt_paths`` (an entry ending in ``/`` is a prefix)."""
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in exempt_paths)


def accept(
    auth: Lucia, request: LuciaRequest, path: str, exempt_paths: Collection[str], *, allow_bearer: bool
) -> RequestCredentials | ErrorResponse:
    """Read a request once: its credentials, or the ``403`` to answer (CSRF).

    An unsafe request that fails the CSRF check is refused, except on ``exempt_paths``,
    where it goes on without a session from its cookie. The ``403`` says whether the
    request carried no origin at all or an untrusted one, and echoes nothing it sent.
    """
    credentials = auth.read_request(request, allow_bearer=allow_bearer)
    if credentials.csrf_trusted or is_exempt(path, exempt_paths):
        return credentials
    missing = request.get("origin") is None and request.get("sec-fetch-site") is None
    return ErrorResponse(403, MISSING_ORIGIN_TEXT if missing else UNTRUSTED_ORIGIN_TEXT)


def core_of(auth: AnyLucia) -> Lucia:
    """The async :class:`~lucia.Lucia` itself, or the one a :class:`~lucia.SyncLucia` runs."""
    return auth.auth if isinstance(auth, SyncLucia) else auth


class RequestOptions(Generic[_A]):
    """How an integration reads each request: the Lucia it binds, its CSRF exemptions, bearer tokens.

    Attributes:
        auth: The :class:`~lucia.Lucia` (or :class:`~lucia.SyncLucia`) bound to requests.
        csrf_exempt_paths: Paths whose unsafe requests are not refused with ``403`` when
            they fail the CSRF check (an entry ending in ``/`` exempts every path under it).
        allow_bearer: Also accept ``Authorization: Bearer <token>`` (API clients).
    """

    __slots__ = ("allow_bearer", "auth", "csrf_exempt_paths")

    auth: _A
    csrf_exempt_paths: tuple[str, ...]
    allow_bearer: bool

    def __init__(self, *, auth: _A, csrf_exempt_paths: Collection[str] = (), allow_bearer: bool = False) -> None:
        self.auth = auth
        self.csrf_exempt_paths = tuple(csrf_exempt_paths)
        self.allow_bearer = allow_bearer

    def _accept(self, request: LuciaRequest, path: str) -> RequestCredentials | ErrorResponse:
        """:func:`accept` with these options: the request's credentials, or the ``403`` to answer."""
        return accept(core_of(self.auth), request, path, self.csrf_exempt_paths, allow_bearer=self.allow_bearer)


class IntegrationOptions(RequestOptions[_A]):
    """:class:`RequestOptions` and the start-up of an integration that runs Lucia's lifecycle.

    Attributes:
        create_schema: Create missing tables at start-up (``CREATE TABLE IF NOT EXISTS``).
        schema: Keyword arguments for the adapter's ``create_schema()``.
    """

    __slots__ = ("create_schema", "schema")

    def __init__(
        self,
        *,
        auth: _A,
        csrf_exempt_paths: Collection[str] = (),
        allow_bearer: bool = False,
        create_schema: bool = False,
        schema: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(auth=auth, csrf_exempt_paths=csrf_exempt_paths, allow_bearer=allow_bearer)
        self.create_schema = create_schema
        self.schema = schema

    async def _start(self) -> None:
        """:func:`start` with these options (a framework's start-up hook)."""
        await start(self.auth, create_schema=self.create_schema, schema=self.schema)

    async def _stop(self) -> None:
        """:func:`stop` (a framework's shutdown hook)."""
        await stop(self.auth)

    def _start_sync(self: IntegrationOptions[SyncLucia]) -> None:
        """:func:`start_sync` with these options (a WSGI application's start-up)."""
        start_sync(self.auth, create_schema=self.create_schema, schema=self.schema)


def error_response(error: BaseException) -> ErrorResponse | None:
    """The HTTP answer for a Lucia error that escaped a view, or ``None`` to let it go on.

    :class:`~lucia.TooManyRequestsError` is ``429`` with ``Retry-After`` in whole
    seconds, rounded up; :class:`~lucia.StorageError` is ``503`` (never ``500``, and
    never ``401``: a storage fault is not an anonymous request). Other errors are the
    application's to answer.
    """
    if isinstance(error, TooManyRequestsError):
        seconds = math.ceil(error.retry_after)
        return ErrorResponse(
            429, f"Too Many Requests: try again in {seconds} seconds.", (("Retry-After", str(seconds)),)
        )
    if isinstance(error, StorageError):
        cause = type(error.__cause__).__name__ if error.__cause__ is not None else "none"
        logger.warning("lucia: answered 503, the storage failed (%s, cause %s)", error.code, cause)
        return ErrorResponse(503, _UNAVAILABLE_TEXT)
    return None


def answer_for(error: Exception) -> ErrorResponse:
    """:func:`error_response` for a framework's error handler registered for Lucia's errors.

    Raises:
        Exception: ``error`` itself when it is not one :func:`error_response` answers.
    """
    answer = error_response(error)
    if answer is None:
        raise error
    return answer


async def create_schema(auth: Lucia, schema: Mapping[str, Any] | None = None) -> None:
    """Create the tables (collections, indexes) of every adapter of ``auth`` that has a schema.

    Adapters without a ``create_schema()`` method (memory, Redis) need none and are skipped.

    Args:
        auth: The :class:`~lucia.Lucia` whose adapters to set up.
        schema: Keyword arguments for each adapter's ``create_schema()``
            (``{"user_columns": {"username": "text"}}``).
    """
    adapters = [auth.users] if auth.sessions is auth.users else [auth.users, auth.sessions]  # type: ignore[comparison-overlap]
    for adapter in adapters:
        create = getattr(adapter, "create_schema", None)
        if create is not None:
            await create(**dict(schema or {}))


async def _start(auth: Lucia, create: bool, schema: Mapping[str, Any] | None) -> None:
    if create:
        await create_schema(auth, schema)
    await auth.connect()


async def start(auth: AnyLucia, *, create_schema: bool = False, schema: Mapping[str, Any] | None = None) -> None:
    """At start-up: create the schema if asked, connect the adapters and check the schema.

    A :class:`~lucia.SyncLucia` does it on its own loop (its adapters live there).

    Raises:
        ConfigurationError: The storage lacks what Lucia is configured for (a table, a column).
    """
    if isinstance(auth, SyncLucia):
        await anyio.to_thread.run_sync(partial(auth.call, _start, auth.auth, create_schema, schema))
    else:
        await _start(auth, create_schema, schema)


async def stop(auth: AnyLucia) -> None:
    """At shutdown: close the adapters (a :class:`~lucia.SyncLucia` also stops its loop)."""
    if isinstance(auth, SyncLucia):
        await anyio.to_thread.run_sync(auth.close)
    else:
        await auth.close()


@asynccontextmanager
async def running(
    auth: AnyLucia, *, create_schema: bool = False, schema: Mapping[str, Any] | None = None
) -> AsyncIterator[None]:
    """:func:`start` on entry and :func:`stop` on exit (also when the body or the start fails)."""
    try:
        await start(auth, create_schema=create_schema, schema=schema)
    except BaseException:
        await stop(auth)  # what a failed start opened must not keep the process alive
        raise
    try:
        yield
    finally:
        await stop(auth)


def start_sync(auth: SyncLucia, *, create_schema: bool = False, schema: Mapping[str, Any] | None = None) -> None:
    """:func:`start` for synchronous code (a WSGI application's start-up, a CLI command)."""
    auth.call(_start, auth.auth, create_schema, schema)
