"""Brute-force and credential-stuffing protection (SECURITY B1-B5).

``Lucia(throttle=Throttle(...))`` is on by default (an in-process
:class:`MemoryThrottleStore`); several workers or hosts share one store::

    from lucia.throttle import Throttle

    auth = Lucia(adapter=adapter, throttle=Throttle(store=adapter.throttle_store(), per_client_limit=50))
    key = await auth.use_key("email", email, password, client=request_ip)

The rules, precisely:

* **Per key** (B1). Only attempts that supply a password count. After the k-th
  consecutive failure on a key (k >= ``max_failures``), attempts are refused with
  :class:`lucia.TooManyRequestsError` until ``min(max_delay, base_delay * 2 ** (k -
  max_failures))`` after that failure, *without hashing*; ``retry_after`` is what is
  left of that window. A success resets the key. Refused attempts are not failures.
  Unknown keys count exactly like known ones. Exponential back-off, never a hard lockout.
* **Per client** (B2). With ``per_client_limit``, at most that many failed attempts per
  client (an address, or any string the application chooses) across all keys within
  any sliding ``per_client_window``.
* An attempt is counted when it starts (atomically in the store), so parallel
  attempts cannot slip past the limit together; a success then takes it back.
* A store that is down fails closed: :class:`lucia.StorageUnavailableError`, logged.

Stores are atomic and may be shared across processes (B4): this module's
:class:`MemoryThrottleStore` (one process), ``adapter.throttle_store()`` on every adapter
that stores keys, and ``lucia_redis.RedisThrottleStore``. Times in the store are
milliseconds on the ``Lucia`` clock.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

from lucia._blocking import SerializedTwin
from lucia._errors import LuciaError, StorageUnavailableError, TooManyRequestsError

__all__ = [
    "Attempt",
    "Backoff",
    "MemoryThrottleStore",
    "Throttle",
    "ThrottleEvent",
    "ThrottleState",
    "ThrottleStore",
]

logger = logging.getLogger("lucia.throttle")


@dataclass(frozen=True, slots=True)
class ThrottleState:
    """Consecutive failures of one key and when the last one happened (epoch ms)."""

    failures: int
    last_failure: int


@dataclass(frozen=True, slots=True)
class Backoff:
    """The per-key back-off rule in milliseconds, as a store applies it atomically.

    This class is the reference: a store that cannot run Python inside its atomic step
    (a Redis script, a MongoDB update pipeline) implements :meth:`wait_ms` and
    :meth:`counted` in its own language, and the conformance suite checks it against
    this one.

    Attributes:
        max_failures: Consecutive failures before back-off starts.
        base_delay: The first window (ms).
        max_delay: The longest window (ms).
        forget_after: A state whose last failure is this old counts as none (ms).
    """

    max_failures: int
    base_delay: int
    max_delay: int
    forget_after: int

    def delay(self, failures: int) -> int:
        """The window after the k-th consecutive failure: ``min(max, base * 2 ** (k - max_failures))``."""
        if failures < self.max_failures:
            return 0
        return min(self.max_delay, self.base_delay << min(failures - self.max_failures, 40))

    def wait_ms(self, state: ThrottleState | None, now: int) -> int:
        """How long an attempt at ``now`` must still wait (0: it may be made, and is counted)."""
        if state is None or now - state.last_failure >= self.forget_after:
            return 0
        delay = self.delay(state.failures)
        # No window yet (below max_failures): never wait, even when the last failure was
        # recorded by a process whose clock runs a few ms ahead of this one.
        return 0 if delay == 0 else max(0, state.last_failure + delay - now)

    def counted(self, state: ThrottleState | None, now: int) -> ThrottleState:
        """The state after one more failure at ``now`` (a forgotten state starts over)."""
        if state is None or now - state.last_failure >= self.forget_after:
            return ThrottleState(1, now)
        return ThrottleState(state.failures + 1, max(now, state.last_failure))


@runtime_checkable
class ThrottleStore(Protocol):
    """Where throttle state lives. Every method is atomic; times are epoch milliseconds.

    Keys are opaque strings of at most 80 ASCII characters (hashes, never secrets).
    """

    async def get_state(self, key: str) -> ThrottleState | None:
        """The state of ``key``, or ``None`` (never failed, reset, or expired)."""

    async def hit(self, key: str, *, now: int, backoff: Backoff) -> int:
        """Atomically: refuse inside the back-off window, else count one failure at ``now``.

        Returns 0 when the attempt was counted (the state became
        ``backoff.counted(state, now)``, kept until ``now + backoff.forget_after``), else
        the milliseconds left of the window (``backoff.wait_ms(state, now)``), changing
        nothing. Concurrent hits take turns: each sees the state the previous one left.
        """

    async def delete_state(self, key: str) -> None:
        """Forget ``key`` (a success)."""

    async def add_event(self, key: str, event_id: str, at: int, *, since: int, expires_at: int) -> tuple[int, int]:
        """Record event ``event_id`` at ``at``.

        Returns how many events of ``key`` are at or after ``since`` (this one included)
        and the time of the oldest of them.
        """

    async def remove_event(self, key: str, event_id: str) -> None:
        """Forget one event (an attempt that turned out not to be a failure)."""

    async def delete_expired(self, now: int) -> None:
        """Forget states and events whose expiry passed."""


@dataclass(frozen=True, slots=True)
class ThrottleEvent:
    """What ``on_throttle`` receives for each refused attempt (no secret in it).

    Attributes:
        scope: ``"key"`` (too many failures on one key) or ``"client"`` (on one client).
        subject: SHA-256 (hex, first 16 characters) of the key id: correlates, reveals nothing.
        client: The client the application passed, or ``None``.
        retry_after: Seconds until the next attempt may be made.
    """

    scope: str
    subject: str
    client: str | None
    retry_after: float


def _hashed(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}"


class Attempt:
    """One counted attempt (from :meth:`Throttle.attempt`). Report its outcome once."""

    def __init__(self, throttle: Throttle | None, key: str | None, client: tuple[str, str] | None) -> None:
        self._throttle = throttle
        self._key = key
        self._client = client

    async def succeeded(self) -> None:
        """The credentials were right: reset the key and take the client's event back."""
        if self._throttle is None:
            return
        store = self._throttle.store
        try:
            if self._key is not None:
                await store.delete_state(self._key)
            if self._client is not None:
                await store.remove_event(*self._client)
        except Exception as exc:  # the sign-in stands; a stale count only errs on the safe side
            logger.warning("lucia throttle: could not record a success: %s", type(exc).__name__)

    async def failed(self) -> None:
        """The credentials were wrong (already counted when the attempt started)."""


#: An attempt that is not throttled (no password given, or throttling is off).
UNTHROTTLED = Attempt(None, None, None)


class Throttle:
    """The brute-force policy; ``Lucia(throttle=...)`` (see the module notes for the exact rules).

    Args:
        store: Where state lives; a new :class:`MemoryThrottleStore` by default.
        max_failures: Consecutive failures on a key before back-off starts (at least 1).
        base_delay: The first back-off window.
        max_delay: The longest back-off window.
        per_client_limit: Failed attempts allowed per client within ``per_client_window``
            across all keys; ``None`` (default) for no per-client limit.
        per_client_window: The sliding window of ``per_client_limit``.
        forget_after: A key with no failure for this long starts over.
        on_throttle: Called with a :class:`ThrottleEvent` for each refused attempt (metrics).

    Raises:
        ValueError: For settings that cannot work (``max_failures`` < 1, negative or zero
            delays, ``max_delay`` < ``base_delay``, a limit < 1).
    """

    def __init__(
        self,
        *,
        store: ThrottleStore | None = None,
        max_failures: int = 5,
        base_delay: timedelta = timedelta(seconds=1),
        max_delay: timedelta = timedelta(minutes=15),
        per_client_limit: int | None = None,
        per_client_window: timedelta = timedelta(minutes=1),
        forget_after: timedelta = timedelta(days=1),
        on_throttle: Callable[[ThrottleEvent], object] | None = None,
    ) -> None:
        if isinstance(max_failures, bool) or not isinstance(max_failures, int) or max_failures < 1:
            raise ValueError("max_failures must be an integer of at least 1")
        for name, value in (
            ("base_delay", base_delay),
            ("max_delay", max_delay),
            ("per_client_window", per_client_window),
            ("forget_after", forget_after),
        ):
            if not isinstance(value, timedelta) or value <= timedelta(0):
                raise ValueError(f"{name} must be a positive timedelta")
        if max_delay < base_delay:
            raise ValueError("max_delay must not be shorter than base_delay")
        if per_client_limit is not None and (
            isinstance(per_client_limit, bool) or not isinstance(per_client_limit, int) or per_client_limit < 1
        ):
            raise ValueError("per_client_limit must be None or an integer of at least 1")
        self.store: ThrottleStore = store if store is not None else MemoryThrottleStore()
        self.max_failures = max_failures
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.per_client_limit = per_client_limit
        self.per_client_window = per_client_window
        self.forget_after = forget_after
        self.on_throttle = on_throttle
        #: The per-key rule in milliseconds, as stores apply it.
        self.backoff = Backoff(max_failures, _ms(base_delay), _ms(max_delay), max(_ms(forget_after), _ms(max_delay)))
        self._window_ms = _ms(per_client_window)
        self._next_cleanup = 0

    def __repr__(self) -> str:
        return (
            f"Throttle(store={self.store!r}, max_failures={self.max_failures}, base_delay={self.base_delay!r}, "
            f"max_delay={self.max_delay!r}, per_client_limit={self.per_client_limit!r})"
        )

    @staticmethod
    def key_of(subject: str) -> str:
        """The store key of a subject: a hash, so the store never holds a key id or an address."""
        return _hashed("k", subject)

    async def attempt(self, subject: str, *, client: str | None, now: float) -> Attempt:
        """Count an attempt on ``subject`` (a key id, or a sibling package's own subject).

        Args:
            subject: What is being guessed at (hashed before it reaches the store).
            client: Who is guessing, for the per-client limit; ``None`` to skip it.
            now: The time, in seconds since the epoch (the ``Lucia`` clock).

        Raises:
            TooManyRequestsError: Inside a back-off window; nothing was counted.
            StorageUnavailableError: The store failed (fail closed).
        """
        now_ms = int(now * 1000)
        try:
            if now_ms >= self._next_cleanup:
                self._next_cleanup = now_ms + 60_000
                await self.store.delete_expired(now_ms)
            client_event = await self._count_client(subject, client, now_ms)
            key = self.key_of(subject)
            try:
                await self._count_key(key, subject, client, now_ms)
            except TooManyRequestsError:
                if client_event is not None:
                    await self.store.remove_event(*client_event)
                raise
        except LuciaError:
            raise
        except Exception as exc:
            logger.error("lucia throttle: the store failed, sign-in refused: %s", type(exc).__name__)
            raise StorageUnavailableError(None, "the throttle store is unavailable") from exc
        return Attempt(self, key, client_event)

    async def _count_key(self, key: str, subject: str, client: str | None, now_ms: int) -> None:
        wait = await self.store.hit(key, now=now_ms, backoff=self.backoff)
        if wait > 0:
            self._refuse("key", subject, client, wait / 1000)

    async def _count_client(self, subject: str, client: str | None, now_ms: int) -> tuple[str, str] | None:
        if client is None or self.per_client_limit is None:
            return None
        key = _hashed("c", client)
        event_id = secrets.token_hex(8)
        since = now_ms - self._window_ms
        count, oldest = await self.store.add_event(
            key, event_id, now_ms, since=since, expires_at=now_ms + self._window_ms
        )
        if count > self.per_client_limit:
            await self.store.remove_event(key, event_id)
            self._refuse("client", subject, client, max(0, oldest + self._window_ms - now_ms) / 1000)
        return key, event_id

    def _refuse(self, scope: str, subject: str, client: str | None, retry_after: float) -> None:
        event = ThrottleEvent(scope, _hashed("k", subject)[2:18], client, max(0.0, retry_after))
        logger.warning(
            "lucia throttle: refused a sign-in attempt (%s limit): key=%s client=%s retry_after=%.1fs",
            event.scope,
            event.subject,
            event.client,
            event.retry_after,
        )
        if self.on_throttle is not None:
            try:
                self.on_throttle(event)
            except Exception:
                logger.exception("lucia throttle: on_throttle failed")
        raise TooManyRequestsError(retry_after=event.retry_after)


class _InProcessStore:
    """A store in this process's memory (the in-memory adapter and throttle store): its twin is itself under a lock."""

    _twin: SerializedTwin | None = None

    def blocking_twin(self) -> Any:
        """This store under a lock, for the threads of :class:`lucia.SyncLucia`'s native path."""
        if self._twin is None:
            self._twin = SerializedTwin(self)
        return self._twin


class MemoryThrottleStore(_InProcessStore):
    """Throttle state in this process's memory: one worker process only.

    Every method runs without awaiting, so each is atomic on its event loop (and it
    keeps no per-loop state, so it is safe to share between loops of one thread).
    """

    def __init__(self) -> None:
        self._states: dict[str, tuple[ThrottleState, int]] = {}
        self._events: dict[str, dict[str, tuple[int, int]]] = {}

    def __repr__(self) -> str:
        return "MemoryThrottleStore()"

    async def get_state(self, key: str) -> ThrottleState | None:
        """The state of ``key``, or ``None``."""
        found = self._states.get(key)
        return None if found is None else found[0]

    async def hit(self, key: str, *, now: int, backoff: Backoff) -> int:
        """Refuse inside the window, else count (no await inside: atomic on the event loop)."""
        found = self._states.get(key)
        state = None if found is None or found[1] <= now else found[0]
        wait = backoff.wait_ms(state, now)
        if wait == 0:
            self._states[key] = (backoff.counted(state, now), now + backoff.forget_after)
        return wait

    async def delete_state(self, key: str) -> None:
        """Forget ``key``."""
        self._states.pop(key, None)

    async def add_event(self, key: str, event_id: str, at: int, *, since: int, expires_at: int) -> tuple[int, int]:
        """Record an event and count the window."""
        events = self._events.setdefault(key, {})
        for old in [e for e, (time, _) in events.items() if time < since]:
            del events[old]
        events[event_id] = (at, expires_at)
        return len(events), min(time for time, _ in events.values())

    async def remove_event(self, key: str, event_id: str) -> None:
        """Forget one event."""
        events = self._events.get(key)
        if events is not None:
            events.pop(event_id, None)
            if not events:
                del self._events[key]

    async def delete_expired(self, now: int) -> None:
        """Forget what expired."""
        for key in [k for k, (_, expires) in self._states.items() if expires <= now]:
            del self._states[key]
        for key, events in list(self._events.items()):
            for event_id in [e for e, (_, expires) in events.items() if expires <= now]:
                del events[event_id]
            if not events:
                del self._events[key]


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)
