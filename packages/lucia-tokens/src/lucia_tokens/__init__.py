"""Email-verification and password-reset tokens, one-time codes and TOTP for Lucia.

::

    from datetime import timedelta
    from lucia_tokens import id_token

    verification = id_token(auth, "email_verification", timedelta(hours=24))
    token = await verification.issue(user.user_id)  # mail a link with token.value
    user_id = (await verification.validate(value_from_the_link)).user_id

TOTP lives in :mod:`lucia_tokens.totp`.
"""

from lucia_tokens._errors import LuciaTokenError, TokenErrorCode
from lucia_tokens._tokens import (
    MAX_ATTEMPTS,
    IdTokenWrapper,
    PasswordTokenWrapper,
    Token,
    id_token,
    password_token,
)
from lucia_tokens._version import __version__

__all__ = [
    "MAX_ATTEMPTS",
    "IdTokenWrapper",
    "LuciaTokenError",
    "PasswordTokenWrapper",
    "Token",
    "TokenErrorCode",
    "__version__",
    "id_token",
    "password_token",
]
