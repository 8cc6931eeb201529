"""One error scheme: LuciaOAuthError under LuciaError, one subclass per code, each keeping ``.code``."""

from __future__ import annotations

import pickle

import pytest

import lucia_oauth
from lucia import LuciaError
from lucia_oauth import (
    OAUTH_ERROR_CODES,
    LuciaOAuthConfigurationError,
    LuciaOAuthError,
    LuciaOAuthInsecureEndpointError,
    LuciaOAuthRequestError,
    LuciaOAuthStateError,
)

SUBCLASSES = {
    "OAUTH_INVALID_STATE": lucia_oauth.LuciaOAuthStateError,
    "OAUTH_INVALID_CALLBACK": lucia_oauth.LuciaOAuthCallbackError,
    "OAUTH_PROVIDER_ERROR": lucia_oauth.LuciaOAuthProviderError,
    "OAUTH_REQUEST_FAILED": lucia_oauth.LuciaOAuthRequestError,
    "OAUTH_NETWORK_ERROR": lucia_oauth.LuciaOAuthNetworkError,
    "OAUTH_INVALID_RESPONSE": lucia_oauth.LuciaOAuthResponseError,
    "OAUTH_INVALID_ID_TOKEN": lucia_oauth.LuciaOAuthIdTokenError,
    "OAUTH_CONFIGURATION": lucia_oauth.LuciaOAuthConfigurationError,
}


def test_every_code_has_one_subclass_under_the_root() -> None:
    """Each code is raised as its own LuciaOAuthError subclass, itself a LuciaError, and carries the code."""
    assert set(SUBCLASSES) == OAUTH_ERROR_CODES
    for code, cls in SUBCLASSES.items():
        assert issubclass(cls, LuciaOAuthError) and issubclass(cls, LuciaError)
        error = cls(403, {"error": "x"}) if cls is LuciaOAuthRequestError else cls(None, "why")
        assert error.code == code
        assert isinstance(error, LuciaOAuthError)


@pytest.mark.parametrize("code", sorted(OAUTH_ERROR_CODES - {"OAUTH_REQUEST_FAILED"}))
def test_the_root_built_with_a_code_is_that_codes_subclass(code: str) -> None:
    """``LuciaOAuthError(code, detail)`` (the old spelling) builds the subclass that owns the code."""
    error = LuciaOAuthError(code, "detail")  # type: ignore[arg-type]
    assert type(error) is SUBCLASSES[code]
    assert (error.code, error.detail) == (code, "detail")


def test_unknown_codes_are_a_bug_not_an_error_to_catch() -> None:
    """A misspelt code fails loudly (ValueError) instead of producing an unclassifiable error."""
    with pytest.raises(ValueError):
        LuciaOAuthError("OAUTH_TYPO", "x")  # type: ignore[arg-type]


def test_errors_survive_pickling_with_their_class_and_fields() -> None:
    """Errors cross process boundaries (task queues) unchanged."""
    for error in (
        LuciaOAuthStateError(None, "the state does not match"),
        LuciaOAuthRequestError(400, {"error": "invalid_grant"}),
        LuciaOAuthInsecureEndpointError(None, "token_endpoint must use https", endpoint="token_endpoint"),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert (copy.code, copy.detail) == (error.code, error.detail)
    copy = pickle.loads(pickle.dumps(LuciaOAuthInsecureEndpointError(None, "x", endpoint="jwks_uri")))
    assert copy.endpoint == "jwks_uri" and isinstance(copy, LuciaOAuthConfigurationError)


def test_request_error_shows_status_and_oauth_error_but_no_body() -> None:
    """LuciaOAuthRequestError keeps status and body; its repr names the status and OAuth error only."""
    error = LuciaOAuthRequestError(400, {"error": "invalid_grant", "error_description": "bad", "token": "t0ps3cret"})
    assert (error.status, error.error, error.error_description) == (400, "invalid_grant", "bad")
    assert "t0ps3cret" not in repr(error) and "t0ps3cret" not in str(error)
