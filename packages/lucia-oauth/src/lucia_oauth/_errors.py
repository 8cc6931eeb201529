"""The exceptions of lucia-oauth: one root under ``LuciaError``, one subclass per failure.

``LuciaOAuthError`` is the root and is never raised bare: each failure raises its own
subclass, which keeps a stable :attr:`~lucia.LuciaError.code`. Catch the type you handle
(``except LuciaOAuthStateError``) or the root; log the code. ``LuciaOAuthError(code)``
still works and builds the subclass that owns ``code``.

The public names are listed once, in ``lucia_oauth.__all__``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, get_args

from lucia import LuciaError

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

#: Every code of lucia-oauth.
OAUTH_ERROR_CODES: frozenset[str] = frozenset(get_args(OAuthErrorCode))


class LuciaOAuthError(LuciaError, family=True):
    """Every known failure of an OAuth 2.0 / OpenID Connect sign-in (a :class:`lucia.LuciaError`).

    The sign-in failed closed: nothing was created. Each code has its own subclass:

    - ``OAUTH_INVALID_STATE`` (:class:`LuciaOAuthStateError`): the ``state`` of the
      callback is missing or differs from the cookie.
    - ``OAUTH_INVALID_CALLBACK`` (:class:`LuciaOAuthCallbackError`): no ``code``, a missing
      ``code_verifier`` or ``nonce``, a wrong ``iss``.
    - ``OAUTH_PROVIDER_ERROR`` (:class:`LuciaOAuthProviderError`): the provider sent the
      user back with an ``error`` parameter.
    - ``OAUTH_REQUEST_FAILED`` (:class:`LuciaOAuthRequestError`): a back-channel request
      got a non-success answer.
    - ``OAUTH_NETWORK_ERROR`` (:class:`LuciaOAuthNetworkError`): a back-channel request
      timed out or could not connect.
    - ``OAUTH_INVALID_RESPONSE`` (:class:`LuciaOAuthResponseError`): the provider answered
      with something that is not the JSON we need.
    - ``OAUTH_INVALID_ID_TOKEN`` (:class:`LuciaOAuthIdTokenError`): the id_token failed
      verification (signature, ``iss``, ``aud``, ``azp``, ``exp``, ``iat``, ``nonce``,
      unknown key, a refreshed token for another ``sub``).
    - ``OAUTH_CONFIGURATION`` (:class:`LuciaOAuthConfigurationError`): the provider is
      misconfigured, raised at construction or discovery;
      :class:`LuciaOAuthInsecureEndpointError` for an endpoint that is not ``https``.

    Args:
        code: One of :data:`OAUTH_ERROR_CODES`; a subclass takes its own as the default.
        detail: A human-readable explanation. It never contains a secret, a code or a token.
    """

    messages: ClassVar[Mapping[str, str]] = {code: code for code in OAUTH_ERROR_CODES}
    #: The code a subclass carries when none is given.
    default_code: ClassVar[str | None] = None

    code: OAuthErrorCode

    def __init__(self, code: OAuthErrorCode | None = None, detail: str | None = None) -> None:
        # A subclass owns one code; the bare root needs one given (a typo here is a bug).
        super().__init__(code if code is not None else (type(self).default_code or ""), detail)


class LuciaOAuthStateError(LuciaOAuthError, codes=("OAUTH_INVALID_STATE",)):
    """The callback's ``state`` is missing or is not the one kept in the flow's cookie (O1)."""


class LuciaOAuthCallbackError(LuciaOAuthError, codes=("OAUTH_INVALID_CALLBACK",)):
    """The callback is unusable: no ``code``, no ``code_verifier`` or nonce, or another issuer's ``iss``."""


class LuciaOAuthProviderError(LuciaOAuthError, codes=("OAUTH_PROVIDER_ERROR",)):
    """The provider sent the user back with an ``error`` parameter (``access_denied``...)."""


class LuciaOAuthNetworkError(LuciaOAuthError, codes=("OAUTH_NETWORK_ERROR",)):
    """A back-channel request timed out or could not connect."""


class LuciaOAuthResponseError(LuciaOAuthError, codes=("OAUTH_INVALID_RESPONSE",)):
    """The provider answered with something that is not the JSON the flow needs."""


class LuciaOAuthIdTokenError(LuciaOAuthError, codes=("OAUTH_INVALID_ID_TOKEN",)):
    """The id_token failed verification; :attr:`~lucia.LuciaError.detail` names the check."""


class LuciaOAuthConfigurationError(LuciaOAuthError, codes=("OAUTH_CONFIGURATION",)):
    """The provider is misconfigured (raised at construction, or at discovery for the provider's own document)."""


class LuciaOAuthInsecureEndpointError(LuciaOAuthConfigurationError):
    """An endpoint is not ``https`` and not on a loopback host (H10).

    Raised at construction for configured endpoints, and at discovery for the endpoints a
    discovery document names, before any request is sent to them.

    Attributes:
        endpoint: Which endpoint (``"token_endpoint"``, ``"jwks_uri"``...).
    """

    endpoint: str

    def __init__(self, code: OAuthErrorCode | None = None, detail: str | None = None, *, endpoint: str = "") -> None:
        super().__init__(code, detail)
        self.endpoint = endpoint

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_insecure_endpoint, (self.detail, self.endpoint))


def _insecure_endpoint(detail: str, endpoint: str) -> LuciaOAuthInsecureEndpointError:
    return LuciaOAuthInsecureEndpointError(None, detail, endpoint=endpoint)


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

    # Not registered for ``LuciaOAuthError(code)``: it is built from a status and a body.
    default_code: ClassVar[str | None] = "OAUTH_REQUEST_FAILED"

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
