"""Password hashers: Argon2id (the default) and Lucia-JS-compatible scrypt.

::

    from lucia.passwords import Argon2idHasher, ScryptHasher

    auth = Lucia(adapter=adapter, password_hasher=Argon2idHasher(memory_cost=65536, time_cost=3))
    legacy = Lucia(adapter=adapter, password_hasher=ScryptHasher())  # a database shared with Lucia-JS 1.x

Policy (SECURITY P1-P3, H7): passwords are NFKC-normalised by the hashers both when
hashed and when verified, never truncated; NUL characters are significant; length is
bounded (:data:`MAX_PASSWORD_LENGTH`) before any hashing. :class:`lucia.Lucia` runs
synchronous hashers in a worker thread, never on the event loop. A hash is replaced
after a successful sign-in only when it is weaker than the configured hasher (lower
parameters or a legacy algorithm), never to weaken it.

Write your own hasher by implementing :class:`PasswordHasher` (synchronous methods) or
:class:`AsyncPasswordHasher` (``async`` methods).
"""

from __future__ import annotations

import hashlib
import secrets
import string
import unicodedata
from typing import Protocol, runtime_checkable

from argon2 import PasswordHasher as _Argon2
from argon2 import Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.low_level import ARGON2_VERSION

from lucia._crypto import constant_time_equal

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "Argon2idHasher",
    "AsyncPasswordHasher",
    "PasswordHasher",
    "ScryptHasher",
    "normalize_password",
]

#: Longest accepted password, in characters (before NFKC normalisation), checked before hashing.
MAX_PASSWORD_LENGTH = 1024

#: Lucia-JS 1.x scrypt parameters: N=16384, p=1, a 64-byte key; r=16 for ``s2:`` hashes, r=8 before.
_SCRYPT_N = 16384
_SCRYPT_DKLEN = 64
_SCRYPT_MAXMEM = 128 * 1024 * 1024
_SALT_ALPHABET = string.ascii_letters + string.digits


@runtime_checkable
class PasswordHasher(Protocol):
    """A synchronous hasher (``Lucia(password_hasher=...)`` runs it in a worker thread)."""

    def hash(self, password: str) -> str:
        """Return a self-describing hash string of ``password``."""

    def verify(self, hash: str, password: str) -> bool:
        """Whether ``password`` matches ``hash``; ``False`` (never an exception) for a mismatch."""

    def needs_rehash(self, hash: str) -> bool:
        """Whether ``hash`` is weaker than what :meth:`hash` makes (replaced after a successful verify)."""


@runtime_checkable
class AsyncPasswordHasher(Protocol):
    """An ``async`` hasher (awaited on the event loop: it must not block it)."""

    async def hash(self, password: str) -> str:
        """Return a self-describing hash string of ``password``."""

    async def verify(self, hash: str, password: str) -> bool:
        """Whether ``password`` matches ``hash``; ``False`` (never an exception) for a mismatch."""

    async def needs_rehash(self, hash: str) -> bool:
        """Whether ``hash`` is weaker than what :meth:`hash` makes."""


def normalize_password(password: str) -> bytes:
    """The bytes a password is hashed as: NFKC, then UTF-8 (as Lucia-JS 1.x does)."""
    return unicodedata.normalize("NFKC", password).encode("utf-8")


def _scrypt(password: str, salt: str, block_size: int) -> str:
    derived = hashlib.scrypt(
        normalize_password(password),
        salt=salt.encode("utf-8"),
        n=_SCRYPT_N,
        r=block_size,
        p=1,
        dklen=_SCRYPT_DKLEN,
        maxmem=_SCRYPT_MAXMEM,
    )
    return derived.hex()


def _verify_scrypt(hash: str, password: str) -> bool:
    """Verify a Lucia-JS scrypt hash: ``s2:<salt>:<hex>`` (r=16) or ``<salt>:<hex>`` (r=8)."""
    parts = hash.split(":")
    if len(parts) == 3 and parts[0] == "s2":
        salt, expected, block_size = parts[1], parts[2], 16
    elif len(parts) == 2:
        salt, expected, block_size = parts[0], parts[1], 8
    else:
        return False
    if len(expected) != 2 * _SCRYPT_DKLEN:
        return False
    return constant_time_equal(_scrypt(password, salt, block_size), expected.lower())


class Argon2idHasher:
    """The default hasher: Argon2id via argon2-cffi, with OWASP's recommended parameters.

    Defaults: ``memory_cost=19456`` KiB (19 MiB), ``time_cost=2``, ``parallelism=1``,
    16-byte salt, 32-byte hash, stored as a PHC string (``$argon2id$v=19$m=19456,t=2,p=1$...``).
    It also verifies legacy Lucia-JS scrypt hashes (``s2:<salt>:<hex>`` and
    ``<salt>:<hex>``), which :meth:`needs_rehash` reports, as it does Argon2 hashes
    weaker than the configured parameters. A stronger hash is never replaced (H7).

    Args:
        memory_cost: Memory in KiB.
        time_cost: Iterations.
        parallelism: Lanes.
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

    def __repr__(self) -> str:
        p = self._hasher
        return f"Argon2idHasher(memory_cost={p.memory_cost}, time_cost={p.time_cost}, parallelism={p.parallelism})"

    def hash(self, password: str) -> str:
        """Return the Argon2id PHC string of the NFKC-normalised password."""
        return self._hasher.hash(normalize_password(password))

    def verify(self, hash: str, password: str) -> bool:
        """Whether the NFKC-normalised password matches an Argon2 or legacy scrypt hash."""
        if hash.startswith("$argon2"):
            try:
                return self._hasher.verify(hash, normalize_password(password))
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False
        return _verify_scrypt(hash, password)

    def needs_rehash(self, hash: str) -> bool:
        """Whether the hash is legacy scrypt, not Argon2id, or below any configured parameter."""
        return _weaker_than(self._hasher, hash)


class ScryptHasher:
    """Lucia-JS 1.x's hasher, for a database that a Node app on ``lucia-auth`` 1.x shares.

    Writes ``s2:<16-character [A-Za-z0-9] salt>:<hex>`` (scrypt N=16384, r=16, p=1, a
    64-byte key, the salt used as its UTF-8 bytes, the password NFKC-normalised), exactly
    as Lucia-JS 1.x does, so both apps verify every password. It verifies ``s2:`` hashes,
    the older bare ``<salt>:<hex>`` form (r=8; :meth:`needs_rehash` upgrades it to ``s2:``)
    and Argon2 hashes made before it was configured (left as they are: never downgraded,
    but a Node app cannot verify them). Use :class:`Argon2idHasher` again once the Node
    app is gone: scrypt hashes then upgrade on each user's next sign-in.
    """

    def __repr__(self) -> str:
        return "ScryptHasher()"

    def hash(self, password: str) -> str:
        """Return the ``s2:`` hash of the NFKC-normalised password."""
        salt = "".join(secrets.choice(_SALT_ALPHABET) for _ in range(16))
        return f"s2:{salt}:{_scrypt(password, salt, 16)}"

    def verify(self, hash: str, password: str) -> bool:
        """Whether the password matches an ``s2:``, bare scrypt or Argon2 hash."""
        if hash.startswith("$argon2"):
            return _ARGON2_VERIFIER.verify(hash, password)
        return _verify_scrypt(hash, password)

    def needs_rehash(self, hash: str) -> bool:
        """``True`` only for the bare pre-``s2:`` form; ``s2:`` and Argon2 hashes stay."""
        return not hash.startswith(("s2:", "$argon2"))


_ARGON2_VERIFIER = Argon2idHasher()


def _weaker_than(hasher: _Argon2, hash: str) -> bool:
    """Whether ``hash`` is weaker than ``hasher`` would make it: a rehash upgrades, never downgrades."""
    if not hash.startswith("$argon2id$"):
        return True
    try:
        found = extract_parameters(hash)
    except InvalidHashError:
        return True
    return (
        found.version < ARGON2_VERSION
        or found.memory_cost < hasher.memory_cost
        or found.time_cost < hasher.time_cost
        or found.parallelism < hasher.parallelism
        or found.hash_len < hasher.hash_len
        or found.salt_len < hasher.salt_len
    )
