"""Password hashing: Argon2id by default, legacy Lucia-JS scrypt hashes verified.

Policy (SECURITY P1-P3): passwords are NFKC-normalised both when hashed and when
verified, never truncated; NUL characters are significant; length is bounded before
hashing (:data:`lucia._validation.MAX_PASSWORD_LENGTH`). Hashing is CPU-bound and runs
in a worker thread, never on the event loop.
"""

from __future__ import annotations

import hashlib
import inspect
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import anyio.to_thread
from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from lucia._crypto import constant_time_equal

__all__ = ["Argon2idHasher", "PasswordHasher", "call_hasher"]


@runtime_checkable
class PasswordHasher(Protocol):
    """What ``Lucia(password_hasher=...)`` takes. Methods may be sync or ``async``."""

    def hash(self, password: str) -> str | Awaitable[str]:
        """Return a self-describing hash string of ``password``."""

    def verify(self, hash: str, password: str) -> bool | Awaitable[bool]:
        """Whether ``password`` matches ``hash``; ``False`` (never an exception) for a mismatch."""

    def needs_rehash(self, hash: str) -> bool | Awaitable[bool]:
        """Whether ``hash`` should be replaced by a fresh :meth:`hash` after a successful verify."""


def _normalize(password: str) -> bytes:
    return unicodedata.normalize("NFKC", password).encode("utf-8")


def _verify_legacy_scrypt(hash: str, password: str) -> bool:
    """Verify a Lucia-JS scrypt hash: ``s2:<salt>:<hex>`` (r=16) or ``<salt>:<hex>`` (r=8)."""
    parts = hash.split(":")
    if len(parts) == 3 and parts[0] == "s2":
        salt, expected, block_size = parts[1], parts[2], 16
    elif len(parts) == 2:
        salt, expected, block_size = parts[0], parts[1], 8
    else:
        return False
    if len(expected) != 128:
        return False
    derived = hashlib.scrypt(
        _normalize(password),
        salt=salt.encode("utf-8"),
        n=16384,
        r=block_size,
        p=1,
        dklen=64,
        maxmem=128 * 1024 * 1024,
    )
    return constant_time_equal(derived.hex(), expected.lower())


class Argon2idHasher:
    """The default hasher: Argon2id via argon2-cffi, with OWASP's recommended parameters.

    Defaults: ``memory_cost=19456`` KiB (19 MiB), ``time_cost=2``, ``parallelism=1``,
    16-byte salt, 32-byte hash, stored as a PHC string (``$argon2id$v=19$m=19456,t=2,p=1$...``).
    Hashes made with other parameters verify and report :meth:`needs_rehash`, as do
    legacy Lucia-JS scrypt hashes (``s2:<salt>:<hex>`` and ``<salt>:<hex>``).

    Its methods are synchronous; :class:`lucia.Lucia` runs them in a worker thread.
    """

    def __init__(self, *, memory_cost: int = 19456, time_cost: int = 2, parallelism: int = 1) -> None:
        self._hasher = _Argon2(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )

    def hash(self, password: str) -> str:
        """Return the Argon2id PHC string of the NFKC-normalised password."""
        return self._hasher.hash(_normalize(password))

    def verify(self, hash: str, password: str) -> bool:
        """Whether the NFKC-normalised password matches an Argon2 or legacy scrypt hash."""
        if hash.startswith("$argon2"):
            try:
                return self._hasher.verify(hash, _normalize(password))
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False
        return _verify_legacy_scrypt(hash, password)

    def needs_rehash(self, hash: str) -> bool:
        """Whether the hash is legacy scrypt, not Argon2id, or weaker than the current parameters."""
        if not hash.startswith("$argon2id$"):
            return True
        try:
            return self._hasher.check_needs_rehash(hash)
        except InvalidHashError:
            return True


async def call_hasher(method: Callable[..., Any], *args: str, limiter: anyio.CapacityLimiter | None = None) -> Any:
    """Call a hasher method off the event loop: awaited if async, else in a worker thread.

    ``limiter`` bounds how many hashes run at once, so CPU-bound hashing never takes
    every core from the event loop's thread.
    """
    if inspect.iscoroutinefunction(method):
        return await method(*args)
    result = await anyio.to_thread.run_sync(method, *args, limiter=limiter)
    if inspect.isawaitable(result):
        return await result
    return result
