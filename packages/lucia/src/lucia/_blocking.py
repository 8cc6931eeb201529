"""The native synchronous path: the async core run to completion without an event loop.

Lucia's core is written once, ``async``. An adapter (or throttle store) may offer a
*blocking twin*: an object with the same ``async`` contract whose methods call a
synchronous driver (``sqlite3``, psycopg's ``ConnectionPool``, PyMySQL, PyMongo,
redis-py) and therefore never suspend. A coroutine of the core that only awaits such
methods finishes on its first step, so :func:`run_blocking` drives it to its result in
the calling thread: no event loop, no thread hop, no second copy of the core.

:class:`lucia.SyncLucia` takes this path when every store of its ``Lucia`` has a twin
and the password hasher is synchronous; otherwise it falls back to running the core on
one private event-loop thread.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Coroutine
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = ["BLOCKING", "HasBlockingTwin", "SerializedTwin", "blocking_twin", "run_blocking"]

T = TypeVar("T")

#: True while :func:`run_blocking` drives a coroutine: code that would hand work to a
#: worker thread (password hashing) runs it in the calling thread instead.
BLOCKING: ContextVar[bool] = ContextVar("lucia_blocking", default=False)


@runtime_checkable
class HasBlockingTwin(Protocol):
    """A store that offers a blocking twin of itself (same contract, synchronous driver)."""

    def blocking_twin(self) -> object:
        """The twin (the same object each time), or ``None`` when there is none."""


def blocking_twin(store: object) -> Any:
    """``store``'s blocking twin, or ``None``."""
    return store.blocking_twin() if isinstance(store, HasBlockingTwin) else None


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to its result, in this thread.

    Raises:
        RuntimeError: The coroutine tried to suspend (something it awaited needs an
            event loop): a bug in a blocking twin.
    """
    token = BLOCKING.set(True)
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    finally:
        BLOCKING.reset(token)
    coroutine.close()
    raise RuntimeError("a blocking adapter suspended: it needs an event loop, so it is not a blocking twin")


class SerializedTwin:
    """The blocking twin of an in-process store: its own methods, one thread at a time.

    An in-memory store never suspends, so each of its methods is atomic on an event loop;
    threads of the native path could still interleave inside one (the interpreter switches
    threads between bytecodes). This twin runs every coroutine method of ``store`` under
    one lock; other attributes are the store's own.
    """

    def __init__(self, store: object) -> None:
        self._store = store
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SerializedTwin({self._store!r})"

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._store, name)
        if not inspect.iscoroutinefunction(value):
            return value
        lock = self._lock

        @functools.wraps(value)
        async def serialized(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return await value(*args, **kwargs)

        self.__dict__[name] = serialized  # built once per method
        return serialized
