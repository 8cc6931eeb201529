"""The one owner of password hashing policy inside :class:`lucia.Lucia`.

:class:`Passwords` wraps the configured hasher and decides everything around it: the
length bound before any hashing (D3), running synchronous hashers in a bounded worker
pool off the event loop (P1), the one dummy verification that makes an unknown key cost
what a known one costs (P4), and whether a verified hash is replaced (P3, H7).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar

from lucia._blocking import BLOCKING
from lucia.passwords import Argon2idHasher, AsyncPasswordHasher, PasswordHasher
from lucia.validation import check_password

__all__ = ["Passwords"]

_LIMITER: RunVar[anyio.CapacityLimiter] = RunVar("lucia_hash_limiter")
_DUMMY_PASSWORD = "lucia-dummy-password"


def _limiter() -> anyio.CapacityLimiter:
    # One limiter per event loop, shared by every Lucia on it. Argon2 and scrypt release
    # the GIL, so one hash per core runs in parallel; at least two, so that one slow
    # hash never serialises every sign-in on a small machine.
    try:
        return _LIMITER.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(max(2, os.cpu_count() or 2))
        _LIMITER.set(limiter)
        return limiter


class Passwords:
    """Hashing policy around one hasher (sync hashers run in worker threads).

    Args:
        hasher: A :class:`~lucia.passwords.PasswordHasher` or
            :class:`~lucia.passwords.AsyncPasswordHasher`; Argon2id by default.
    """

    def __init__(self, hasher: PasswordHasher | AsyncPasswordHasher | None = None) -> None:
        self.hasher: PasswordHasher | AsyncPasswordHasher = hasher or Argon2idHasher()
        for method in ("hash", "verify", "needs_rehash"):
            if not callable(getattr(self.hasher, method, None)):
                raise TypeError(f"password_hasher must have a {method}() method")
        self._dummy_hash: str | None = None

    @property
    def is_synchronous(self) -> bool:
        """Whether the hasher's methods are plain functions (the native sync path can use them)."""
        return not inspect.iscoroutinefunction(self.hasher.hash)

    async def _call(self, method: Callable[..., Any], *args: str) -> Any:
        if inspect.iscoroutinefunction(method):
            return await method(*args)
        if BLOCKING.get():  # the native sync path: this thread is the caller's worker thread
            return method(*args)
        result = await anyio.to_thread.run_sync(method, *args, limiter=_limiter())
        return await result if inspect.isawaitable(result) else result

    async def warm_up(self) -> None:
        """Start the hashing threads and compute the dummy hash now, at start-up.

        Otherwise the first sign-in pays both: the worker threads' first use stalls the
        event loop for tens of milliseconds (the thread backend loads), and the first
        unknown key costs two hashes instead of one.
        """
        if self._dummy_hash is None:
            self._dummy_hash = str(await self._call(self.hasher.hash, _DUMMY_PASSWORD))

    async def hash(self, password: str) -> str:
        """The hash of a password, after the length and encoding checks."""
        check_password(password)
        return str(await self._call(self.hasher.hash, password))

    async def verify(self, hashed: str | None, password: str) -> bool:
        """Whether ``password`` matches ``hashed``; ``None`` (no such key) costs one dummy verification."""
        if hashed is None:
            if self._dummy_hash is None:
                self._dummy_hash = str(await self._call(self.hasher.hash, _DUMMY_PASSWORD))
            await self._call(self.hasher.verify, self._dummy_hash, password)
            return False
        return bool(await self._call(self.hasher.verify, hashed, password))

    async def upgraded(self, hashed: str, password: str) -> str | None:
        """A stronger hash of a just-verified password, or ``None`` when ``hashed`` is strong enough."""
        if not await self._call(self.hasher.needs_rehash, hashed):
            return None
        return await self.hash(password)
