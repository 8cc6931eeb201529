"""Random values, hashes and the application's HMAC key. Pure functions, no I/O."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import NoReturn

__all__ = [
    "MIN_SECRET_BYTES",
    "HmacKey",
    "random_string",
    "sha256_hex",
]

#: Shortest accepted ``secret`` of :func:`lucia_tokens.password_token`, in bytes (UTF-8 for ``str``).
MIN_SECRET_BYTES = 32
# A cheap refusal of "x" * 32 and "abab...": a random 32-byte key (or 64 hex digits) has
# far more distinct bytes. Not an entropy measurement.
_MIN_DISTINCT_BYTES = 8


def random_string(alphabet: str, length: int) -> str:
    """``length`` symbols drawn uniformly from ``alphabet`` with :mod:`secrets` (no modulo bias)."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


def sha256_hex(*parts: str) -> str:
    """SHA-256 (lowercase hex) of ``parts`` joined by NUL.

    Callers pass checked ids and fixed-alphabet values, none of which contains NUL, so
    the joined form is unambiguous.
    """
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


class HmacKey:
    """The application's secret for keyed code hashes (HMAC-SHA-256). Prints as ``'**********'``.

    Args:
        secret: At least :data:`MIN_SECRET_BYTES` bytes, as ``bytes`` or ``str`` (UTF-8),
            for example ``secrets.token_hex(32)`` kept in the application's configuration.

    Raises:
        ValueError: For another type, a shorter secret, lone surrogates, or a value with
            fewer than eight distinct bytes (``"x" * 32``). The message never shows the secret.
    """

    __slots__ = ("_key",)

    def __init__(self, secret: str | bytes) -> None:
        if isinstance(secret, str):
            try:
                key = secret.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("the secret must be valid Unicode text") from None
        elif isinstance(secret, bytes):
            key = secret
        else:
            raise ValueError("the secret must be str or bytes")
        if len(key) < MIN_SECRET_BYTES:
            raise ValueError(f"the secret must be at least {MIN_SECRET_BYTES} bytes, e.g. secrets.token_hex(32)")
        if len(set(key)) < _MIN_DISTINCT_BYTES:
            raise ValueError("the secret is a repeated pattern: use secrets.token_hex(32)")
        self._key = key

    def __repr__(self) -> str:
        return "HmacKey('**********')"

    def __reduce__(self) -> NoReturn:
        raise TypeError("an HmacKey is not pickled: it would write the secret out")

    def hexdigest(self, *parts: str) -> str:
        """HMAC-SHA-256 (lowercase hex) of ``parts`` joined by NUL (see :func:`sha256_hex`)."""
        return hmac.new(self._key, "\x00".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()
