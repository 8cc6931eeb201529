"""Lucia's input bounds, for sibling packages and adapters that take ids from users.

Each check returns its value or raises ``LuciaError("AUTH_INVALID_INPUT")`` before any
database or hashing call (SECURITY D3)::

    from lucia.validation import check_id

    user_id = check_id(user_id, "user_id")
"""

from lucia._validation import (
    MAX_ATTRIBUTE_LENGTH,
    MAX_ID_LENGTH,
    MAX_PASSWORD_LENGTH,
    check_attributes,
    check_id,
    check_identifier,
    check_password,
    check_provider_id,
    is_identifier,
)

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
