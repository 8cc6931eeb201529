"""The one error of lucia-tokens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal, get_args

from lucia import LuciaError

__all__ = [
    "TOKEN_ERROR_CODES",
    "LuciaTokenError",
    "TokenErrorCode",
]

TokenErrorCode = Literal["INVALID_TOKEN", "EXPIRED_TOKEN"]

TOKEN_ERROR_CODES: frozenset[str] = frozenset(get_args(TokenErrorCode))

_DEFAULT_MESSAGES: dict[str, str] = {
    "INVALID_TOKEN": "The token or code is invalid.",
    "EXPIRED_TOKEN": "The token or code has expired.",
}


class LuciaTokenError(LuciaError):
    """A token, one-time code or TOTP code was refused (a :class:`lucia.LuciaError`).

    Branch on :attr:`code`; the message is for people and never contains the token.

    Args:
        code: ``"INVALID_TOKEN"`` (unknown, already used, malformed, superseded, locked
            out after too many attempts, or issued for another purpose) or
            ``"EXPIRED_TOKEN"`` (it existed but its lifetime had passed; it is consumed).
        detail: An optional human-readable explanation without any secret.
    """

    messages: ClassVar[Mapping[str, str]] = _DEFAULT_MESSAGES

    code: TokenErrorCode

    def __init__(self, code: TokenErrorCode, detail: str | None = None) -> None:
        super().__init__(code, detail)
