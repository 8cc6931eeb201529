"""Checks of the ids and binding values the wrappers take, before any query (SECURITY D3)."""

from __future__ import annotations

import hashlib

from lucia import LuciaError
from lucia.validation import check_id

__all__ = ["MAX_BIND_LENGTH", "bind_digest", "check_user_id"]

#: Longest ``bind`` value (an email address, a phone number, ...), in characters.
MAX_BIND_LENGTH = 1024


def _is_text(value: str) -> bool:
    """Whether ``value`` encodes as UTF-8 (no lone surrogates such as U+D800)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_user_id(user_id: object) -> str:
    """The user id if usable, else ``LuciaError("AUTH_INVALID_INPUT")``.

    The core's bounds (a non-empty string of at most 255 characters without NUL), and
    valid Unicode: a lone surrogate would otherwise fail inside a database driver.
    """
    checked = check_id(user_id, "user_id")
    if not _is_text(checked):
        raise LuciaError("AUTH_INVALID_INPUT", "user_id must be valid Unicode text")
    return checked


def bind_digest(bind: object) -> str | None:
    """The stored form of a ``bind`` value: SHA-256 hex, or ``None`` for an unbound token.

    Raises:
        LuciaError: ``AUTH_INVALID_INPUT`` unless ``bind`` is ``None`` or a non-empty
            string of at most :data:`MAX_BIND_LENGTH` characters, without NUL, valid Unicode.
    """
    if bind is None:
        return None
    if not isinstance(bind, str) or not bind or len(bind) > MAX_BIND_LENGTH or "\x00" in bind or not _is_text(bind):
        raise LuciaError(
            "AUTH_INVALID_INPUT",
            f"bind must be a non-empty string of at most {MAX_BIND_LENGTH} characters, valid Unicode without NUL",
        )
    return hashlib.sha256(b"lucia-bind\x00" + bind.encode("utf-8")).hexdigest()
