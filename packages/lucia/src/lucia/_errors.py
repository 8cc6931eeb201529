"""The one exception root of Lucia and its typed subclasses.

``LuciaError`` is the root and is never raised bare: each failure raises its own
subclass (``InvalidSessionError``, ``InvalidCredentialsError``, ...), which keeps a
stable :attr:`LuciaError.code`. Callers catch types; logs and APIs may show codes.
``LuciaError(code)`` still works and builds the subclass that owns ``code``, so an
adapter written as ``raise LuciaError("AUTH_DUPLICATE_KEY_ID")`` raises a
:class:`DuplicateKeyError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeVar, get_args

__all__ = [
    "ERROR_CODES",
    "ConfigurationError",
    "DuplicateKeyError",
    "DuplicateSessionError",
    "ErrorCode",
    "ExpiredKeyError",
    "InvalidCredentialsError",
    "InvalidInputError",
    "InvalidKeyError",
    "InvalidPasswordError",
    "InvalidRequestError",
    "InvalidSessionError",
    "InvalidUserError",
    "LuciaError",
    "NotAuthenticatedError",
    "StorageError",
    "StorageTimeoutError",
    "StorageUnavailableError",
    "TooManyRequestsError",
]

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
    "AUTH_TOO_MANY_REQUESTS",
    "AUTH_STORAGE_UNAVAILABLE",
    "AUTH_STORAGE_TIMEOUT",
    "AUTH_INVALID_INPUT",
]

#: Every code of the core.
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
    "AUTH_TOO_MANY_REQUESTS": "Too many attempts; try again later.",
    "AUTH_STORAGE_UNAVAILABLE": "The authentication storage is unavailable.",
    "AUTH_STORAGE_TIMEOUT": "The authentication storage did not answer in time.",
    "AUTH_INVALID_INPUT": "Invalid input.",
}

_E = TypeVar("_E", bound="LuciaError")


class LuciaError(Exception):
    """Every known failure of Lucia, its adapters and its sibling packages: the one root.

    Catch a subclass (``except InvalidSessionError``) or the root; :attr:`code` is a
    stable string for logs and APIs; the message is for people and may change. A
    sibling package subclasses this class with its own codes
    (``lucia_tokens.LuciaTokenError``, ``lucia_oauth.LuciaOAuthError``), so
    ``except LuciaError`` catches every known failure.

    ``LuciaError(code)`` builds the subclass that owns ``code`` (``LuciaError(
    "AUTH_INVALID_SESSION_ID")`` is an :class:`InvalidSessionError`). A sibling package
    does the same for its own codes with two class keywords: its root is declared with
    ``family=True`` (and its own :attr:`messages`), each subclass with ``codes=(...)``,
    whose first code is the subclass's default::

        class LuciaWebAuthnError(LuciaError, family=True):
            messages = {"INVALID_CHALLENGE": "...", ...}

        class WebAuthnChallengeError(LuciaWebAuthnError, codes=("INVALID_CHALLENGE",)):
            ...

    Args:
        code: One of the class's codes (:data:`ERROR_CODES` here). Subclasses that own
            exactly one code take it as their default.
        detail: An optional human-readable explanation. It never contains a secret.
    """

    #: The codes this class may carry, with their default messages.
    messages: ClassVar[Mapping[str, str]] = _DEFAULT_MESSAGES
    #: The code a subclass raises when none is given.
    default_code: ClassVar[str | None] = None

    #: The subclass raised for each code of the family; each family root (this class,
    #: or one declared with ``family=True``) has its own.
    _class_of_code: ClassVar[dict[str, type[LuciaError]]] = {}

    code: str
    detail: str

    def __init_subclass__(cls, *, family: bool = False, codes: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if family:
            cls._class_of_code = {}
        unknown = [code for code in codes if code not in cls.messages]
        if unknown:  # a typo here is a bug in Lucia or a sibling package, found at import
            raise ValueError(f"{cls.__name__} owns unknown codes {unknown!r}")
        if codes:
            cls.default_code = codes[0]
        for code in codes:
            cls._class_of_code[code] = cls

    def __new__(cls: type[_E], code: str | None = None, *args: Any, **kwargs: Any) -> _E:
        target: type[Any] = cls
        if code is not None and "_class_of_code" in vars(cls):  # a family root builds the code's owner
            target = cls._class_of_code.get(code, cls)
        instance: _E = Exception.__new__(target)
        return instance

    def __init__(self, code: str | None = None, detail: str | None = None) -> None:
        code = code if code is not None else type(self).default_code
        messages = type(self).messages
        if code is None or code not in messages:  # a typo here is a bug in Lucia or an adapter
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


class InvalidSessionError(LuciaError, codes=("AUTH_INVALID_SESSION_ID",)):
    """The session token is malformed, unknown, revoked or dead: the request is anonymous."""


class InvalidCredentialsError(LuciaError):
    """Sign-in failed: an unknown key or a wrong password (show one message for both)."""

    default_code: ClassVar[str | None] = "AUTH_INVALID_PASSWORD"


class InvalidKeyError(InvalidCredentialsError, codes=("AUTH_INVALID_KEY_ID",)):
    """No such key, or a single-use key that was already used."""


class InvalidPasswordError(InvalidCredentialsError, codes=("AUTH_INVALID_PASSWORD",)):
    """The password does not match the key (or a password was given to a key without one)."""


class ExpiredKeyError(LuciaError, codes=("AUTH_EXPIRED_KEY",)):
    """A single-use key was used after it expired (it is consumed)."""


class DuplicateKeyError(LuciaError, codes=("AUTH_DUPLICATE_KEY_ID",)):
    """A key with this ``provider_id:provider_user_id`` exists already."""


class DuplicateSessionError(LuciaError, codes=("AUTH_DUPLICATE_SESSION_ID",)):
    """A session with this id exists already."""


class InvalidUserError(LuciaError, codes=("AUTH_INVALID_USER_ID",)):
    """No user has this id (or, when creating a user, the id is taken)."""


class InvalidRequestError(LuciaError, codes=("AUTH_INVALID_REQUEST",)):
    """An unsafe request failed the CSRF check (``Origin`` / ``Sec-Fetch-Site``)."""


class NotAuthenticatedError(LuciaError, codes=("AUTH_NOT_AUTHENTICATED",)):
    """The request carries no live session where one is required."""


class InvalidInputError(LuciaError, ValueError, codes=("AUTH_INVALID_INPUT",)):
    """A bad argument: empty or oversized id, ``:`` in a provider id, a password over the limit, ..."""


class TooManyRequestsError(LuciaError, codes=("AUTH_TOO_MANY_REQUESTS",)):
    """Throttled: too many failed attempts. Retry after :attr:`retry_after` seconds.

    Args:
        code: Always ``AUTH_TOO_MANY_REQUESTS`` (accepted for ``LuciaError(code)``).
        detail: An optional explanation.
        retry_after: Seconds until an attempt may be made again: finite, not negative.
    """

    retry_after: float

    def __init__(self, code: str | None = None, detail: str | None = None, *, retry_after: float = 0.0) -> None:
        super().__init__(code, detail)
        value = float(retry_after)
        self.retry_after = value if math.isfinite(value) and value > 0 else 0.0

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_too_many_requests, (self.detail, self.retry_after))

    def __repr__(self) -> str:
        return f"TooManyRequestsError(retry_after={self.retry_after!r})"


def _too_many_requests(detail: str, retry_after: float) -> TooManyRequestsError:
    return TooManyRequestsError(None, detail, retry_after=retry_after)


class StorageError(LuciaError):
    """The database or store failed (``__cause__`` is the driver's error): answer 503."""

    default_code: ClassVar[str | None] = "AUTH_STORAGE_UNAVAILABLE"


class StorageUnavailableError(StorageError, codes=("AUTH_STORAGE_UNAVAILABLE",)):
    """The store is unreachable: connection refused, lost or reset, server down."""


class StorageTimeoutError(StorageError, codes=("AUTH_STORAGE_TIMEOUT",)):
    """The store did not answer within the configured timeout."""


class ConfigurationError(ValueError):
    """Lucia is configured for something its storage cannot do (found at start-up).

    Not a :class:`LuciaError`: it is a deployment mistake to fix, never a request's
    outcome. The message names what is missing and how to add it (a column, a table).
    """
