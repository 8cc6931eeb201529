"""The one exception root of Lucia."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, get_args

__all__ = ["ERROR_CODES", "ErrorCode", "LuciaError"]

ErrorCode = Literal[
    "AUTH_INVALID_SESSION_ID",
    "AUTH_INVALID_PASSWORD",
    "AUTH_DUPLICATE_KEY_ID",
    "AUTH_INVALID_KEY_ID",
    "AUTH_INVALID_USER_ID",
    "AUTH_EXPIRED_KEY",
    "AUTH_INVALID_REQUEST",
    "AUTH_DUPLICATE_SESSION_ID",
    "AUTH_NOT_AUTHENTICATED",
    "AUTH_INVALID_INPUT",
]

ERROR_CODES: frozenset[str] = frozenset(get_args(ErrorCode))

_DEFAULT_MESSAGES: dict[str, str] = {
    "AUTH_INVALID_SESSION_ID": "The session is invalid or has expired.",
    # The two sign-in failures share one message so that showing ``str(error)``
    # to a user never tells them which half of their credentials was wrong.
    "AUTH_INVALID_PASSWORD": "Invalid key or password.",
    "AUTH_INVALID_KEY_ID": "Invalid key or password.",
    "AUTH_DUPLICATE_KEY_ID": "A key with this id already exists.",
    "AUTH_INVALID_USER_ID": "The user id is invalid.",
    "AUTH_EXPIRED_KEY": "The key has expired.",
    "AUTH_INVALID_REQUEST": "The request failed the CSRF check.",
    "AUTH_DUPLICATE_SESSION_ID": "A session with this id already exists.",
    "AUTH_NOT_AUTHENTICATED": "Not authenticated.",
    "AUTH_INVALID_INPUT": "Invalid input.",
}


class LuciaError(Exception):
    """Every known failure of Lucia, its adapters and its sibling packages: the one root.

    Branch on :attr:`code`, a stable string; the message is for people and may change.
    The core's codes are :data:`ERROR_CODES`; a sibling package subclasses this class
    with its own codes (``lucia_tokens.LuciaTokenError``, ``lucia_oauth.LuciaOAuthError``),
    so ``except LuciaError`` catches every known failure.

    Args:
        code: One of the class's codes (:data:`ERROR_CODES` here).
        detail: An optional human-readable explanation. It never contains a secret.
    """

    #: The codes this class may carry, with their default messages.
    messages: ClassVar[Mapping[str, str]] = _DEFAULT_MESSAGES

    code: str
    detail: str

    def __init__(self, code: str, detail: str | None = None) -> None:
        messages = type(self).messages
        if code not in messages:  # a typo here is a bug in Lucia or an adapter
            raise ValueError(f"unknown {type(self).__name__} code {code!r}")
        self.code = code
        self.detail = detail or messages[code]
        super().__init__(code, self.detail)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.detail!r})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(self), (self.code, self.detail))
