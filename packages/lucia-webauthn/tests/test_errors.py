"""The error scheme: one root under LuciaError, one subclass per code, stable codes."""

from __future__ import annotations

import pickle

import pytest

from lucia import LuciaError
from lucia_webauthn import (
    WEBAUTHN_ERROR_CODES,
    LuciaWebAuthnError,
    WebAuthnChallengeError,
    WebAuthnCounterReplayError,
    WebAuthnResponseError,
    WebAuthnUnknownCredentialError,
)

SUBCLASSES = {
    "INVALID_CHALLENGE": WebAuthnChallengeError,
    "INVALID_RESPONSE": WebAuthnResponseError,
    "UNKNOWN_CREDENTIAL": WebAuthnUnknownCredentialError,
    "COUNTER_REPLAY": WebAuthnCounterReplayError,
}


def test_the_four_codes() -> None:
    """The codes are exactly SPEC §8's."""
    assert set(SUBCLASSES) == WEBAUTHN_ERROR_CODES


@pytest.mark.parametrize("code", sorted(SUBCLASSES))
def test_each_code_has_its_subclass(code: str) -> None:
    """``LuciaWebAuthnError(code)`` builds the code's subclass, a LuciaError with ``.code``; it pickles."""
    error = LuciaWebAuthnError(code)  # type: ignore[arg-type]
    assert type(error) is SUBCLASSES[code]
    assert isinstance(error, LuciaError) and error.code == code and error.detail
    assert SUBCLASSES[code]().code == code
    copy = pickle.loads(pickle.dumps(SUBCLASSES[code](None, "why")))
    assert (type(copy), copy.code, copy.detail) == (SUBCLASSES[code], code, "why")


def test_an_unknown_code_is_a_bug() -> None:
    """A code this package does not own is refused."""
    with pytest.raises(ValueError):
        LuciaWebAuthnError("INVALID_TOKEN")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        LuciaWebAuthnError()
