"""Lucia for Python: users, keys and database sessions that you own.

::

    from lucia import Lucia, PrimaryKey
    from lucia_sqlite import SQLiteAdapter

    auth = Lucia(adapter=SQLiteAdapter("app.db"), env="DEV")
    user = await auth.create_user(
        primary_key=PrimaryKey("email", "ada@example.com", password="correct horse"),
        attributes={"username": "ada"},
    )
    session = await auth.create_session(user.user_id)
"""

from lucia._config import CsrfProtection, SessionCookieOptions, SessionExpiresIn
from lucia._core import Lucia, PrimaryKey
from lucia._errors import (
    ConfigurationError,
    DuplicateKeyError,
    DuplicateSessionError,
    ErrorCode,
    ExpiredKeyError,
    InvalidCredentialsError,
    InvalidInputError,
    InvalidKeyError,
    InvalidPasswordError,
    InvalidRequestError,
    InvalidSessionError,
    InvalidUserError,
    LuciaError,
    NotAuthenticatedError,
    StorageError,
    StorageTimeoutError,
    StorageUnavailableError,
    TooManyRequestsError,
)
from lucia._models import Key, Session, User
from lucia._request import AuthRequest, LuciaRequest, ProxyHeaders, RequestCredentials
from lucia._sync import SyncLucia
from lucia._version import __version__
from lucia.cookies import Cookie, CookieAttributes

__all__ = [
    "AuthRequest",
    "ConfigurationError",
    "Cookie",
    "CookieAttributes",
    "CsrfProtection",
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
    "Key",
    "Lucia",
    "LuciaError",
    "LuciaRequest",
    "NotAuthenticatedError",
    "PrimaryKey",
    "ProxyHeaders",
    "RequestCredentials",
    "Session",
    "SessionCookieOptions",
    "SessionExpiresIn",
    "StorageError",
    "StorageTimeoutError",
    "StorageUnavailableError",
    "SyncLucia",
    "TooManyRequestsError",
    "User",
    "__version__",
]
