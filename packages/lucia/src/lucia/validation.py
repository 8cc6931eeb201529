"""Lucia's input bounds, checked before any database or hashing call (SECURITY D3, H5, H17).

Each check returns its value or raises :class:`lucia.InvalidInputError`
(``AUTH_INVALID_INPUT``); sibling packages and adapters use them for ids they take
from users::

    from lucia.validation import check_id

    user_id = check_id(user_id, "user_id")
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from lucia._errors import InvalidInputError
from lucia.adapters import SESSION_POLICY_COLUMNS
from lucia.passwords import MAX_PASSWORD_LENGTH

__all__ = [
    "MAX_ATTRIBUTE_LENGTH",
    "MAX_ID_LENGTH",
    "RESERVED_SESSION_COLUMNS",
    "RESERVED_USER_COLUMNS",
    "check_attributes",
    "check_id",
    "check_identifier",
    "check_password",
    "check_provider_id",
    "check_text",
    "is_identifier",
]

#: Longest user id, provider user id and key id (``provider_id:provider_user_id``), in characters.
MAX_ID_LENGTH = 255
#: Column names of the user table that attributes may not use, in any letter case.
RESERVED_USER_COLUMNS: frozenset[str] = frozenset({"id"})
#: Column names of the session table that session attributes may not use, in any letter case.
RESERVED_SESSION_COLUMNS: frozenset[str] = frozenset(
    {"id", "user_id", "active_expires", "idle_expires", *SESSION_POLICY_COLUMNS}
)
#: Longest string value of one user attribute, in characters.
MAX_ATTRIBUTE_LENGTH = 1_048_576
_MAX_INT = 2**63 - 1

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def is_identifier(name: str) -> bool:
    """Whether ``name`` is a plain SQL identifier safe to quote and use as a column or table."""
    return isinstance(name, str) and _IDENTIFIER.fullmatch(name) is not None


def check_identifier(name: str, what: str) -> str:
    """Return ``name`` if it is a plain identifier, else raise ``AUTH_INVALID_INPUT``."""
    if not is_identifier(name):
        raise InvalidInputError(None, f"{what} must match [A-Za-z_][A-Za-z0-9_]* (at most 63 characters)")
    return name


def check_text(value: str, what: str) -> str:
    """Return ``value`` if it encodes as UTF-8 (no lone surrogate code points)."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInputError(None, f"{what} is not valid Unicode text (lone surrogate)") from None
    return value


def check_id(value: object, what: str) -> str:
    """Return ``value`` if it is a usable id string, else raise ``AUTH_INVALID_INPUT``."""
    if not isinstance(value, str):
        raise InvalidInputError(None, f"{what} must be a string")
    if not value:
        raise InvalidInputError(None, f"{what} must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInputError(None, f"{what} must be at most {MAX_ID_LENGTH} characters")
    if "\x00" in value:
        raise InvalidInputError(None, f"{what} must not contain NUL characters")
    return check_text(value, what)


def check_provider_id(value: object) -> str:
    """Like :func:`check_id`, and refuse ``:`` (it separates the two halves of a key id)."""
    provider_id = check_id(value, "provider_id")
    if ":" in provider_id:
        raise InvalidInputError(None, "provider_id must not contain ':'")
    return provider_id


def check_password(value: object) -> str:
    """Return ``value`` if it is an acceptable password, else raise ``AUTH_INVALID_INPUT``.

    NUL characters are allowed and significant; nothing is ever truncated.
    """
    if not isinstance(value, str):
        raise InvalidInputError(None, "password must be a string")
    if len(value) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(None, f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    return check_text(value, "password")


def check_attributes(attributes: object, *, reserved: Collection[str] = RESERVED_USER_COLUMNS) -> dict[str, Any]:
    """Return a plain copy of user (or session) attributes after checking names, types and sizes.

    Names are plain identifiers other than the ``reserved`` columns, compared in any
    letter case (``ID`` is ``id`` on case-insensitive databases, H5); values are ``str``,
    ``int`` (64-bit), ``float``, ``bool`` or ``None``, strings valid UTF-8 without NUL
    and at most :data:`MAX_ATTRIBUTE_LENGTH` characters.

    Args:
        attributes: The attributes to check.
        reserved: Lowercase column names the attributes may not use.
    """
    if not isinstance(attributes, Mapping):
        raise InvalidInputError(None, "attributes must be a mapping")
    checked: dict[str, Any] = {}
    for name, value in attributes.items():
        if not is_identifier(name) or name.lower() in reserved:
            raise InvalidInputError(None, f"invalid attribute name {name!r}"[:120])
        if isinstance(value, str):
            if len(value) > MAX_ATTRIBUTE_LENGTH:
                raise InvalidInputError(None, f"attribute {name} is over {MAX_ATTRIBUTE_LENGTH} characters")
            if "\x00" in value:
                raise InvalidInputError(None, f"attribute {name} must not contain NUL characters")
            check_text(value, f"attribute {name}")
        elif isinstance(value, bool) or value is None:
            pass
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                raise InvalidInputError(None, f"attribute {name} must be a finite number")
        elif isinstance(value, int):
            if not -_MAX_INT - 1 <= value <= _MAX_INT:
                raise InvalidInputError(None, f"attribute {name} is outside the 64-bit range")
        else:
            raise InvalidInputError(None, f"attribute {name} has unsupported type {type(value).__name__}")
        checked[name] = value
    return checked
