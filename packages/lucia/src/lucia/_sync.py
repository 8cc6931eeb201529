"""Lucia for synchronous code: Flask, Django sync views, scripts and tests.

:class:`SyncLucia` takes the native synchronous path when it can: every store of the
``Lucia`` offers a blocking twin (the same configuration over the driver's synchronous
API: ``sqlite3``, psycopg's ``ConnectionPool``, PyMySQL, PyMongo, redis-py) and the
password hasher is synchronous. Each call then runs the one async core to completion in
the calling thread (:mod:`lucia._blocking`): no event loop, no thread hop. Otherwise
(a third-party adapter without a twin, an ``async`` hasher) it runs the core on one
private event-loop thread (an anyio blocking portal) and blocks the calling thread until
each call is done. Either way any number of threads may call it at once.
"""

from __future__ import annotations

import _thread
import asyncio
import atexit
import contextlib
import os
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

from lucia._blocking import run_blocking
from lucia._config import SessionExpiresIn
from lucia._core import Lucia, PrimaryKey
from lucia._errors import InvalidRequestError
from lucia._models import Key, Session, User
from lucia._request import AuthRequest, LuciaRequest, RequestCredentials
from lucia.cookies import Cookie
from lucia.throttle import Attempt

__all__ = ["SyncAttempt", "SyncAuthRequest", "SyncLucia"]

T = TypeVar("T")

# Every started SyncLucia, stopped at interpreter exit. Its loop thread is a daemon so
# that a forgotten close() can never hang the exit; atexit still stops it cleanly.
_running: weakref.WeakSet[SyncLucia] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for sync in list(_running):
        sync.close()


def _forget_after_fork() -> None:
    """In a forked child, the parent's loop thread does not exist: start afresh on first use.

    The adapters drop the connections they inherited the same way (never closing the
    parent's sockets), so a worker forked after start-up (``gunicorn --preload``, uWSGI)
    opens its own on its first request instead of hanging on the parent's loop.
    """
    for sync in list(_running):
        sync._reset_after_fork()
    _running.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


class SyncLucia:
    """Every method of :class:`lucia.Lucia`, callable synchronously from any thread.

    ::

        auth = SyncLucia(Lucia(adapter=SQLiteAdapter("app.db")))
        user = auth.create_user(primary_key=None, attributes={"username": "ada"})
        session = auth.create_session(user.user_id)

    The loop thread starts on the first call and stops on :meth:`close` (or at the end
    of a ``with`` block, or at interpreter exit). The adapter's connections are opened
    on that loop, so an adapter used through ``SyncLucia`` must not also be used from
    another event loop; to run adapter methods (``create_schema``, ``close``) use
    :meth:`call`. Adapters that bind to a loop when constructed (a connection pool
    opened eagerly) must be created lazily, inside a coroutine run with :meth:`call`.

    Args:
        auth: The async :class:`lucia.Lucia` to run.
    """

    def __init__(self, auth: Lucia) -> None:
        self.auth = auth
        self._native = auth._blocking_clone()
        self._lock = threading.Condition()
        self._portal: BlockingPortal | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._in_flight = 0
        self._closed = False

    def _reset_after_fork(self) -> None:
        self._lock = threading.Condition()
        self._portal = None
        self._loop = None
        self._thread = None
        self._in_flight = 0

    def __repr__(self) -> str:
        state = "closed" if self._closed else "running" if self._portal is not None else "idle"
        return f"SyncLucia({self.auth!r}, {state})"

    def __enter__(self) -> SyncLucia:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # -- the loop thread -------------------------------------------------------------

    def _start(self) -> BlockingPortal:
        ready = threading.Event()
        started: list[BlockingPortal] = []
        failed: list[BaseException] = []

        async def serve() -> None:
            async with BlockingPortal() as portal:
                self._loop = asyncio.get_running_loop()
                started.append(portal)
                ready.set()
                await portal.sleep_until_stopped()

        def run() -> None:
            try:
                anyio.run(serve, backend="asyncio")
            except BaseException as error:  # pragma: no cover - the loop failed to start
                failed.append(error)
            finally:
                ready.set()

        thread = threading.Thread(target=run, name="lucia-sync-loop", daemon=True)
        thread.start()
        ready.wait()
        if failed:  # pragma: no cover
            raise RuntimeError("SyncLucia could not start its event loop") from failed[0]
        self._thread = thread
        self._portal = started[0]
        _running.add(self)
        return started[0]

    def _get_portal(self) -> BlockingPortal:
        portal = self._portal
        if portal is not None:
            return portal
        with self._lock:
            if self._closed:
                raise RuntimeError("this SyncLucia is closed")
            return self._portal or self._start()

    def call(self, func: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Run ``await func(*args, **kwargs)`` on the loop thread and return its result.

        Use it for adapter methods: ``sync.call(adapter.create_schema, user_columns={"username": "text"})``.

        Raises:
            RuntimeError: When called from the loop thread itself, or after :meth:`close`.
        """
        if self._portal is None:
            self._get_portal()
        if threading.current_thread() is self._thread:
            raise RuntimeError("SyncLucia cannot be called from its own event loop thread")
        with self._lock:
            loop = self._loop
            if loop is None:
                raise RuntimeError("this SyncLucia is closed")
            self._in_flight += 1
        # A bare task plus a lock costs about a third of BlockingPortal.call (two thread
        # hand-offs and nothing else); the portal still owns the loop's life.
        done = _thread.allocate_lock()
        done.acquire()
        outcome: list[asyncio.Task[T]] = []

        def finished(task: asyncio.Task[T]) -> None:
            outcome.append(task)
            done.release()

        def schedule() -> None:
            loop.create_task(_awaited(func, args, kwargs)).add_done_callback(finished)

        try:
            loop.call_soon_threadsafe(schedule)
            done.acquire()
            return outcome[0].result()
        finally:
            with self._lock:
                self._in_flight -= 1
                if not self._in_flight:
                    self._lock.notify_all()

    @property
    def native(self) -> bool:
        """Whether calls take the native synchronous path (no event loop, no thread hop)."""
        return self._native is not None

    def _do(self, method: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
        """Run one core method: natively in this thread, or on the loop thread."""
        if self._native is not None:
            if self._closed:
                raise RuntimeError("this SyncLucia is closed")
            return run_blocking(method(*args, **kwargs))
        return self.call(method, *args, **kwargs)

    @property
    def _target(self) -> Lucia:
        return self._native if self._native is not None else self.auth

    def connect(self) -> None:
        """See :meth:`lucia.Lucia.connect`: connect the adapters and check the schema, at start-up."""
        self._do(self._target.connect)

    def close(self) -> None:
        """Close the adapters (on the loop that opened them), then stop the loop thread.

        Calls in progress finish first. Calling it again does nothing.
        """
        if self._native is not None and not self._closed:
            with contextlib.suppress(Exception):  # closing must not fail shutdown
                run_blocking(self._native.close())
        if self._portal is not None and not self._closed and threading.current_thread() is not self._thread:
            with contextlib.suppress(Exception):  # the async adapters, on the loop that opened them
                self.call(self.auth.close)
        with self._lock:
            portal, thread = self._portal, self._thread
            if thread is threading.current_thread():
                raise RuntimeError("SyncLucia.close() cannot be called from its own loop thread")
            self._closed = True
            self._portal = None
            self._loop = None
            # Calls already submitted finish first; new ones are refused from here on.
            self._lock.wait_for(lambda: not self._in_flight)
        if portal is None or thread is None:
            return
        _running.discard(self)
        with contextlib.suppress(RuntimeError):  # the loop already ended
            portal.call(portal.stop)
        thread.join()
        self._thread = None

    # -- users -----------------------------------------------------------------------

    def create_user(self, *, primary_key: PrimaryKey | Mapping[str, Any] | None, attributes: Mapping[str, Any]) -> User:
        """See :meth:`lucia.Lucia.create_user`."""
        return self._do(self._target.create_user, primary_key=primary_key, attributes=attributes)

    def get_user(self, user_id: str) -> User:
        """See :meth:`lucia.Lucia.get_user`."""
        return self._do(self._target.get_user, user_id)

    def update_user_attributes(self, user_id: str, attributes: Mapping[str, Any]) -> User:
        """See :meth:`lucia.Lucia.update_user_attributes`."""
        return self._do(self._target.update_user_attributes, user_id, attributes)

    def delete_user(self, user_id: str) -> None:
        """See :meth:`lucia.Lucia.delete_user`."""
        self._do(self._target.delete_user, user_id)

    # -- keys ------------------------------------------------------------------------

    def create_key(
        self,
        user_id: str,
        *,
        provider_id: str,
        provider_user_id: str,
        password: str | None,
        expires_in: timedelta | None = None,
    ) -> Key:
        """See :meth:`lucia.Lucia.create_key`."""
        return self._do(
            self._target.create_key,
            user_id,
            provider_id=provider_id,
            provider_user_id=provider_user_id,
            password=password,
            expires_in=expires_in,
        )

    def throttle_attempt(self, subject: str, *, client: str | None = None) -> SyncAttempt:
        """See :meth:`lucia.Lucia.throttle_attempt`."""
        return SyncAttempt(self, self._do(self._target.throttle_attempt, subject, client=client))

    def get_key(self, provider_id: str, provider_user_id: str) -> Key:
        """See :meth:`lucia.Lucia.get_key`."""
        return self._do(self._target.get_key, provider_id, provider_user_id)

    def use_key(
        self, provider_id: str, provider_user_id: str, password: str | None, *, client: str | None = None
    ) -> Key:
        """See :meth:`lucia.Lucia.use_key`."""
        return self._do(self._target.use_key, provider_id, provider_user_id, password, client=client)

    def update_key_password(self, provider_id: str, provider_user_id: str, password: str | None) -> Key:
        """See :meth:`lucia.Lucia.update_key_password`."""
        return self._do(self._target.update_key_password, provider_id, provider_user_id, password)

    def delete_key(self, provider_id: str, provider_user_id: str) -> None:
        """See :meth:`lucia.Lucia.delete_key`."""
        self._do(self._target.delete_key, provider_id, provider_user_id)

    def get_all_user_keys(self, user_id: str) -> list[Key]:
        """See :meth:`lucia.Lucia.get_all_user_keys`."""
        return self._do(self._target.get_all_user_keys, user_id)

    # -- sessions --------------------------------------------------------------------

    def create_session(
        self,
        user_id: str,
        *,
        attributes: Mapping[str, Any] | None = None,
        persistent: bool = True,
        expires_in: SessionExpiresIn | None = None,
    ) -> Session:
        """See :meth:`lucia.Lucia.create_session`."""
        return self._do(
            self._target.create_session, user_id, attributes=attributes, persistent=persistent, expires_in=expires_in
        )

    def validate_session(self, token: str) -> Session:
        """See :meth:`lucia.Lucia.validate_session`."""
        return self._do(self._target.validate_session, token)

    def validate_session_user(self, token: str) -> tuple[Session, User]:
        """See :meth:`lucia.Lucia.validate_session_user`."""
        return self._do(self._target.validate_session_user, token)

    def get_session(self, token: str) -> Session:
        """See :meth:`lucia.Lucia.get_session`."""
        return self._do(self._target.get_session, token)

    def get_session_user(self, token: str) -> tuple[Session, User]:
        """See :meth:`lucia.Lucia.get_session_user`."""
        return self._do(self._target.get_session_user, token)

    def renew_session(self, token: str) -> Session:
        """See :meth:`lucia.Lucia.renew_session`."""
        return self._do(self._target.renew_session, token)

    def get_all_user_sessions(self, user_id: str) -> list[Session]:
        """See :meth:`lucia.Lucia.get_all_user_sessions`."""
        return self._do(self._target.get_all_user_sessions, user_id)

    def invalidate_session(self, session_id: str) -> None:
        """See :meth:`lucia.Lucia.invalidate_session`."""
        self._do(self._target.invalidate_session, session_id)

    def invalidate_all_user_sessions(self, user_id: str, *, except_session_id: str | None = None) -> None:
        """See :meth:`lucia.Lucia.invalidate_all_user_sessions`."""
        self._do(self._target.invalidate_all_user_sessions, user_id, except_session_id=except_session_id)

    def delete_dead_user_sessions(self, user_id: str) -> None:
        """See :meth:`lucia.Lucia.delete_dead_user_sessions`."""
        self._do(self._target.delete_dead_user_sessions, user_id)

    # -- cookies and requests (no I/O: run on the calling thread) ---------------------

    def create_session_cookie(self, session: Session | None) -> Cookie:
        """See :meth:`lucia.Lucia.create_session_cookie`."""
        return self.auth.create_session_cookie(session)

    def read_session_cookie(self, cookie_headers: str | list[str] | None) -> str | None:
        """See :meth:`lucia.Lucia.read_session_cookie`."""
        return self.auth.read_session_cookie(cookie_headers)

    def read_bearer_token(self, authorization: str | None) -> str | None:
        """See :meth:`lucia.Lucia.read_bearer_token`."""
        return self.auth.read_bearer_token(authorization)

    def parse_request_headers(self, request: LuciaRequest) -> str | None:
        """See :meth:`lucia.Lucia.parse_request_headers`."""
        return self.auth.parse_request_headers(request)

    def read_request(self, request: LuciaRequest, *, allow_bearer: bool = False) -> RequestCredentials:
        """See :meth:`lucia.Lucia.read_request`."""
        return self.auth.read_request(request, allow_bearer=allow_bearer)

    def handle_request(
        self, request: LuciaRequest, *, set_cookie: Callable[[Cookie], None], allow_bearer: bool = False
    ) -> SyncAuthRequest:
        """Like :meth:`lucia.Lucia.handle_request`, with synchronous methods."""
        return self.bind(self.auth.read_request(request, allow_bearer=allow_bearer), set_cookie)

    def bind(self, credentials: RequestCredentials, set_cookie: Callable[[Cookie], None]) -> SyncAuthRequest:
        """A :class:`SyncAuthRequest` for a request already read with :meth:`read_request`."""
        return SyncAuthRequest(self, AuthRequest(self._target, credentials, set_cookie))


async def _awaited(func: Callable[..., Awaitable[T]], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    return await func(*args, **kwargs)


class SyncAttempt:
    """:class:`lucia.throttle.Attempt` for synchronous code."""

    def __init__(self, auth: SyncLucia, inner: Attempt) -> None:
        self._auth = auth
        self._inner = inner

    def succeeded(self) -> None:
        """The credentials were right: reset the key."""
        self._auth._do(self._inner.succeeded)

    def failed(self) -> None:
        """The credentials were wrong (already counted)."""
        self._auth._do(self._inner.failed)


class AuthRequestWrapper:
    """What a wrapper of an :class:`lucia.AuthRequest` passes straight through to it.

    A subclass adds ``validate_user()`` and ``validate()`` in its own flavour (without
    ``await``, or awaited on another loop).

    Attributes:
        inner: The wrapped :class:`lucia.AuthRequest`.
    """

    def __init__(self, inner: AuthRequest) -> None:
        self.inner = inner

    @property
    def credentials(self) -> RequestCredentials:
        """What the request carries (token source, client address, CSRF verdict)."""
        return self.inner.credentials

    @property
    def csrf_error(self) -> InvalidRequestError | None:
        """The CSRF error of an unsafe request whose origin was refused, else ``None``."""
        return self.inner.csrf_error

    @property
    def client(self) -> str | None:
        """The client's address (after the trusted-proxy rules)."""
        return self.inner.client

    def set_session(self, session: Session | None) -> None:
        """Set (or with ``None`` clear) the session cookie and the cached result."""
        self.inner.set_session(session)


class SyncAuthRequest(AuthRequestWrapper):
    """:class:`lucia.AuthRequest` for synchronous views: the same methods, without ``await``.

    Attributes:
        auth: The :class:`SyncLucia` the request is bound to (``request.auth.auth.create_session(...)``).
    """

    def __init__(self, auth: SyncLucia, inner: AuthRequest) -> None:
        super().__init__(inner)
        self.auth = auth
        if auth._native is not None and inner.auth is auth.auth:
            inner.auth = auth._native  # the native path validates through the blocking twins

    def validate_user(self) -> tuple[Session, User] | tuple[None, None]:
        """The request's live session and its user, or ``(None, None)``."""
        return self.auth._do(self.inner.validate_user)

    def validate(self) -> Session | None:
        """The request's live session, or ``None``. Renews an idle session and sets its cookie."""
        return self.auth._do(self.inner.validate)
