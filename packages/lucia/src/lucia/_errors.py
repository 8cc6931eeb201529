"""The one exception root of Lucia."""

from __future__ import annotations

from typing import Literal, get_args

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
    """Every known failure of Lucia and its adapters.

    Branch on :attr:`code`, a stable string; the message is for people and may change.

    Args:
        code: One of :data:`ERROR_CODES`.
        detail: An optional human-readable explanation. It never contains a secret.
    """

    code: ErrorCode
    detail: str

    def __init__(self, code: ErrorCode, detail: str | None = None) -> None:
        if code not in ERROR_CODES:  # a typo here is a bug in Lucia or an adapter
            raise ValueError(f"unknown Lucia error code {code!r}")
        self.code = code
        self.detail = detail or _DEFAULT_MESSAGES[code]
        super().__init__(code, self.detail)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"

    def __repr__(self) -> str:
        return f"LuciaError({self.code!r}, {self.detail!r})"

    def __reduce__(self) -> tuple[type[LuciaError], tuple[str, str]]:
        return (type(self), (self.code, self.detail))
