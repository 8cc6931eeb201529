"""Every driver call runs under a deadline, and storage failures become Lucia's typed errors."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pymongo
from pymongo.errors import ConnectionFailure, PyMongoError, ServerSelectionTimeoutError

from lucia import LuciaError, StorageTimeoutError, StorageUnavailableError

__all__ = ["DEFAULT_TIMEOUT_MS", "Guard", "resolve", "storage_error"]

#: The default deadline of one adapter call (every round trip it makes), in milliseconds.
DEFAULT_TIMEOUT_MS = 5_000
#: How much longer the client-side backstop waits than PyMongo's own deadline.
_BACKSTOP_MS = 1_000


async def resolve(value: Any) -> Any:
    """Await ``value`` if the driver returned an awaitable (PyMongo's async client and Motor differ here)."""
    return await value if inspect.isawaitable(value) else value


def storage_error(exc: PyMongoError) -> LuciaError | None:
    """The :class:`lucia.StorageError` for a PyMongo error, or ``None`` to let it propagate.

    No server to talk to (refused, unreachable, no primary) is *unavailable*; a server
    that did not answer in time is a *timeout*. Other errors (a bad query, a
    validation rule of the application's) are not storage faults.
    """
    if isinstance(exc, ServerSelectionTimeoutError):
        return StorageUnavailableError(None, "no MongoDB server could be reached")
    if exc.timeout:
        return StorageTimeoutError(None, "MongoDB did not answer in time")
    if isinstance(exc, ConnectionFailure):
        return StorageUnavailableError(None, "the connection to MongoDB failed")
    return None


class Guard:
    """The deadline of every call: PyMongo's client-side operation timeout, and a backstop.

    ``pymongo.timeout`` bounds server selection, connection checkout and each command
    (it also sends ``maxTimeMS``); the backstop cancels the call if a driver still
    hangs past it. ``timeout_ms=None`` leaves timing to the client's own settings.
    A blocking twin (synchronous ``MongoClient``, no event loop) has no backstop
    (``backstop=False``): PyMongo's deadline alone bounds it, down to each socket read.
    """

    __slots__ = ("_backstop", "_seconds")

    def __init__(self, timeout_ms: int | None, *, backstop: bool = True) -> None:
        if timeout_ms is not None and (
            isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int) or timeout_ms <= 0
        ):
            raise ValueError("timeout_ms must be a positive integer (milliseconds) or None")
        self._seconds = None if timeout_ms is None else timeout_ms / 1000
        self._backstop = None if timeout_ms is None or not backstop else (timeout_ms + _BACKSTOP_MS) / 1000

    @contextmanager
    def __call__(self) -> Iterator[None]:
        """Run the body under the deadline; translate storage failures."""
        try:
            if self._seconds is None:
                yield
            elif self._backstop is None:
                with pymongo.timeout(self._seconds):
                    yield
            else:
                with anyio.fail_after(self._backstop), pymongo.timeout(self._seconds):
                    yield
        except PyMongoError as exc:
            error = storage_error(exc)
            if error is None:
                raise
            raise error from exc
        except TimeoutError as exc:
            raise StorageTimeoutError(None, "MongoDB did not answer in time") from exc
