"""The exceptions of lucia-oauth: under the one root ``LuciaError``, a subclass for HTTP failures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, get_args

from lucia import LuciaError

__all__ = [
    "OAUTH_ERROR_CODES",
    "LuciaOAuthError",
    "LuciaOAuthRequestError",
    "OAuthErrorCode",
]

OAuthErrorCode = Literal[
    "OAUTH_INVALID_STATE",
    "OAUTH_INVALID_CALLBACK",
    "OAUTH_PROVIDER_ERROR",
    "OAUTH_REQUEST_FAILED",
    "OAUTH_NETWORK_ERROR",
    "OAUTH_INVALID_RESPONSE",
    "OAUTH_INVALID_ID_TOKEN",
    "OAUTH_CONFIGURATION",
]

OAUTH_ERROR_CODES: frozenset[str] = frozenset(get_args(OAuthErrorCode))


class LuciaOAuthError(LuciaError):
    """Every known failure of an OAuth 2.0 / OpenID Connect sign-in (a :class:`lucia.LuciaError`).

    The sign-in failed closed: nothing was created. Branch on :attr:`code`:

    - ``OAUTH_INVALID_STATE``: the ``state`` of the callback is missing or differs from the cookie.
    - ``OAUTH_INVALID_CALLBACK``: no ``code``, a missing ``code_verifier`` or ``nonce``, a wrong ``iss``.
    - ``OAUTH_PROVIDER_ERROR``: the provider sent the user back with an ``error`` parameter.
    - ``OAUTH_REQUEST_FAILED``: a back-channel request got a non-success answer
      (always a :class:`LuciaOAuthRequestError`).
    - ``OAUTH_NETWORK_ERROR``: a back-channel request timed out or could not connect.
    - ``OAUTH_INVALID_RESPONSE``: the provider answered with something that is not the JSON we need.
    - ``OAUTH_INVALID_ID_TOKEN``: the id_token failed verification (signature, ``iss``,
      ``aud``, ``azp``, ``exp``, ``iat``, ``nonce``, unknown key).
    - ``OAUTH_CONFIGURATION``: the provider is misconfigured (raised at construction or discovery).

    Args:
        code: One of :data:`OAUTH_ERROR_CODES`.
        detail: A human-readable explanation. It never contains a secret, a code or a token.
    """

    messages: ClassVar[Mapping[str, str]] = {code: code for code in OAUTH_ERROR_CODES}

    code: OAuthErrorCode

    def __init__(self, code: OAuthErrorCode, detail: str) -> None:
        super().__init__(code, detail)


class LuciaOAuthRequestError(LuciaOAuthError):
    """A back-channel request to the provider did not succeed.

    Raised for any non-2xx answer and for a 2xx token answer that carries an OAuth
    ``error`` member (GitHub answers a bad code with ``200 {"error": "bad_verification_code"}``).

    Args:
        status: The HTTP status the provider answered with.
        body: The decoded JSON body if it was JSON, else the text (at most 4 KiB).

    Attributes:
        error: The OAuth ``error`` member of a JSON body (``"invalid_grant"``), if any.
        error_description: Its ``error_description``, if any.
    """

    status: int
    body: Mapping[str, Any] | str
    error: str | None
    error_description: str | None

    def __init__(self, status: int, body: Mapping[str, Any] | str) -> None:
        self.status = status
        self.body = body
        error = body.get("error") if isinstance(body, Mapping) else None
        description = body.get("error_description") if isinstance(body, Mapping) else None
        self.error = error if isinstance(error, str) else None
        self.error_description = description if isinstance(description, str) else None
        detail = f"the provider answered HTTP {status}"
        if self.error:
            detail += f" with error {self.error!r}"
        super().__init__("OAUTH_REQUEST_FAILED", detail)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(self), (self.status, self.body))

    def __repr__(self) -> str:
        return f"LuciaOAuthRequestError(status={self.status!r}, error={self.error!r})"
