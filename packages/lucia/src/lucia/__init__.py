"""Lucia for Python: users, keys and database sessions that you own.

::

    from lucia import Lucia
    from lucia_sqlite import SQLiteAdapter

    auth = Lucia(adapter=SQLiteAdapter("app.db"), env="DEV")
    user = await auth.create_user(
        primary_key={"provider_id": "email", "provider_user_id": "ada@example.com", "password": "correct horse"},
        attributes={"username": "ada"},
    )
    session = await auth.create_session(user.user_id)
"""

from lucia._config import CsrfProtection, SessionCookieOptions, SessionExpiresIn
from lucia._cookies import Cookie, CookieAttributes
from lucia._core import Lucia, PrimaryKey
from lucia._errors import ErrorCode, LuciaError
from lucia._models import Key, Session, User
from lucia._request import AuthRequest, LuciaRequest
from lucia._sync import SyncLucia
from lucia._version import __version__

__all__ = [
    "AuthRequest",
    "Cookie",
    "CookieAttributes",
    "CsrfProtection",
    "ErrorCode",
    "Key",
    "Lucia",
    "LuciaError",
    "LuciaRequest",
    "PrimaryKey",
    "Session",
    "SessionCookieOptions",
    "SessionExpiresIn",
    "SyncLucia",
    "User",
    "__version__",
]
