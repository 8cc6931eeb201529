"""Bounds on every input, checked before any database or hashing call (SECURITY D3)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lucia._errors import LuciaError

__all__ = [
    "MAX_ATTRIBUTE_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_PASSWORD_LENGTH",
    "check_attributes",
    "check_id",
    "check_identifier",
    "check_password",
    "check_provider_id",
    "is_identifier",
]

#: Longest user id, provider user id and key id (``provider_id:provider_user_id``), in characters.
MAX_ID_LENGTH = 255
#: Longest accepted password, in characters (before NFKC normalisation).
MAX_PASSWORD_LENGTH = 1024
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
        raise LuciaError("AUTH_INVALID_INPUT", f"{what} must match [A-Za-z_][A-Za-z0-9_]* (at most 63 characters)")
    return name


def check_id(value: object, what: str) -> str:
    """Return ``value`` if it is a usable id string, else raise ``AUTH_INVALID_INPUT``."""
    if not isinstance(value, str):
        raise LuciaError("AUTH_INVALID_INPUT", f"{what} must be a string")
    if not value:
        raise LuciaError("AUTH_INVALID_INPUT", f"{what} must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise LuciaError("AUTH_INVALID_INPUT", f"{what} must be at most {MAX_ID_LENGTH} characters")
    if "\x00" in value:
        raise LuciaError("AUTH_INVALID_INPUT", f"{what} must not contain NUL characters")
    return value


def check_provider_id(value: object) -> str:
    """Like :func:`check_id`, and refuse ``:`` (it separates the two halves of a key id)."""
    provider_id = check_id(value, "provider_id")
    if ":" in provider_id:
        raise LuciaError("AUTH_INVALID_INPUT", "provider_id must not contain ':'")
    return provider_id


def check_password(value: object) -> str:
    """Return ``value`` if it is an acceptable password, else raise ``AUTH_INVALID_INPUT``.

    NUL characters are allowed and significant; nothing is ever truncated.
    """
    if not isinstance(value, str):
        raise LuciaError("AUTH_INVALID_INPUT", "password must be a string")
    if len(value) > MAX_PASSWORD_LENGTH:
        raise LuciaError("AUTH_INVALID_INPUT", f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    return value


def check_attributes(attributes: object) -> dict[str, Any]:
    """Return a plain copy of user attributes after checking names, types and sizes.

    Names are plain identifiers other than ``id``; values are ``str``, ``int`` (64-bit),
    ``float``, ``bool`` or ``None``, strings without NUL and at most
    :data:`MAX_ATTRIBUTE_LENGTH` characters.
    """
    if not isinstance(attributes, Mapping):
        raise LuciaError("AUTH_INVALID_INPUT", "attributes must be a mapping")
    checked: dict[str, Any] = {}
    for name, value in attributes.items():
        if not is_identifier(name) or name == "id":
            raise LuciaError("AUTH_INVALID_INPUT", f"invalid attribute name {name!r}"[:120])
        if isinstance(value, str):
            if len(value) > MAX_ATTRIBUTE_LENGTH:
                raise LuciaError("AUTH_INVALID_INPUT", f"attribute {name} is over {MAX_ATTRIBUTE_LENGTH} characters")
            if "\x00" in value:
                raise LuciaError("AUTH_INVALID_INPUT", f"attribute {name} must not contain NUL characters")
        elif isinstance(value, bool) or value is None or isinstance(value, float):
            pass
        elif isinstance(value, int):
            if not -_MAX_INT - 1 <= value <= _MAX_INT:
                raise LuciaError("AUTH_INVALID_INPUT", f"attribute {name} is outside the 64-bit range")
        else:
            raise LuciaError("AUTH_INVALID_INPUT", f"attribute {name} has unsupported type {type(value).__name__}")
        checked[name] = value
    return checked
