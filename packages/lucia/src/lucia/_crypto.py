"""Random secrets and their hashes. Pure functions, no I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

__all__ = [
    "TOKEN_PATTERN",
    "constant_time_equal",
    "generate_random_id",
    "generate_token",
    "hash_token",
]

#: The shape of a session token: 40 characters of ``[A-Za-z0-9]``, what Lucia-JS 1.x
#: issues as session ids, so a shared database keeps working in both directions. Ours
#: are lowercase base32 of 25 random bytes (200 bits, every symbol equally likely), a
#: subset of that shape. Anything else is refused before any query (S5).
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9]{40}")


def generate_token() -> str:
    """A new session token: 200 bits from :mod:`secrets`, 40 characters of ``[a-z2-7]``."""
    return base64.b32encode(secrets.token_bytes(25)).decode("ascii").lower()


def generate_random_id(length_bytes: int = 10) -> str:
    """A random id: ``length_bytes`` from :mod:`secrets`, lowercase base32 without padding."""
    return base64.b32encode(secrets.token_bytes(length_bytes)).decode("ascii").rstrip("=").lower()


def hash_token(token: str) -> str:
    """The stored form of a token: SHA-256, lowercase hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def constant_time_equal(a: str, b: str) -> bool:
    """Compare two secrets without leaking where they differ."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
