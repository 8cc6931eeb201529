"""Real browser and security-key responses: the test vectors py_webauthn publishes with its own tests.

The vectors (``py_webauthn_vectors.json``) come from duo-labs/py_webauthn (BSD-3-Clause),
tests/test_verify_registration_response.py and tests/test_verify_authentication_response.py;
each was captured on ``http://localhost:5000`` with RP ID ``localhost``. The challenge a
vector answers is planted in place of the ``secrets``-backed generator Passkeys draws
from, so the whole ceremony (store, policy, verification) runs as in production.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from lucia import Lucia, User
from lucia.adapters import PasskeyCredentialRow
from lucia_webauthn import LuciaWebAuthnError, Passkeys

pytestmark = pytest.mark.anyio

ORIGIN = "http://localhost:5000"


def _bytes(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


_VECTORS = json.loads((Path(__file__).parent / "py_webauthn_vectors.json").read_text())
# A Chrome passkey with "none" attestation: flags UP|UV|AT, counter 23, AAGUID zero.
NONE_REGISTRATION: dict[str, Any] = _VECTORS["none_registration"]
# A sign-in with an RSA (RS256) discoverable credential: flags UP|UV, counter 0 -> 1, with a user handle.
RSA_AUTHENTICATION: dict[str, Any] = _VECTORS["rsa_authentication"]
# A sign-in with an EC2 (ES256) security key that only checks presence: flags UP, counter 77 -> 78, no user handle.
EC2_PRESENCE_ONLY: dict[str, Any] = _VECTORS["ec2_presence_only"]


@pytest.fixture
def plant_challenge(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make the next ceremony's random challenge the vector's."""

    def plant(vector: dict[str, Any]) -> None:
        monkeypatch.setattr("lucia_webauthn._passkeys.new_challenge", lambda: _bytes(vector["challenge"]))

    return plant


def _localhost(auth: Lucia, **options: Any) -> Passkeys:
    return Passkeys(auth, rp_id="localhost", rp_name="Vectors", origins=[ORIGIN], **options)


async def _plant_credential(passkeys: Passkeys, user: User, vector: dict[str, Any]) -> None:
    response = vector["response"]
    await passkeys.store.set_passkey_credential(
        PasskeyCredentialRow(
            id=response["id"],
            user_id=user.user_id,
            user_handle=response["response"].get("userHandle", "T1RWa1l6VXdPRFV0"),
            public_key=_bytes(vector["public_key"]),
            sign_count=vector["sign_count"],
            created_at=0,
        )
    )


async def test_a_chrome_registration_with_none_attestation(auth: Lucia, user: User, plant_challenge: Any) -> None:
    """The recorded registration is verified and stored with its counter, transports and AAGUID."""
    passkeys = _localhost(auth)
    plant_challenge(NONE_REGISTRATION)
    _, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    credential = await passkeys.finish_registration(user.user_id, challenge_id, NONE_REGISTRATION["response"])
    assert credential.credential_id == NONE_REGISTRATION["response"]["id"]
    assert (credential.sign_count, credential.transports) == (23, ("nfc", "usb"))
    assert credential.aaguid == "00000000-0000-0000-0000-000000000000" and credential.backed_up is False


async def test_a_recorded_registration_is_refused_on_another_origin(
    auth: Lucia, user: User, plant_challenge: Any
) -> None:
    """The same recording is refused where the site's origin differs."""
    passkeys = Passkeys(auth, rp_id="localhost", rp_name="Vectors", origins=["http://localhost:8000"])
    plant_challenge(NONE_REGISTRATION)
    _, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    with pytest.raises(LuciaWebAuthnError, match="origin") as caught:
        await passkeys.finish_registration(user.user_id, challenge_id, NONE_REGISTRATION["response"])
    assert caught.value.code == "INVALID_RESPONSE"


async def test_a_usernameless_sign_in_with_an_rsa_credential(auth: Lucia, user: User, plant_challenge: Any) -> None:
    """A recorded RS256 assertion with a user handle signs its user in; its replay is refused."""
    passkeys = _localhost(auth)
    await _plant_credential(passkeys, user, RSA_AUTHENTICATION)
    plant_challenge(RSA_AUTHENTICATION)
    _, challenge_id = await passkeys.begin_authentication()
    signed_in, credential = await passkeys.finish_authentication(challenge_id, RSA_AUTHENTICATION["response"])
    assert signed_in == user and credential.sign_count == 1
    _, challenge_id = await passkeys.begin_authentication()  # the same challenge again, as a replay would need
    with pytest.raises(LuciaWebAuthnError) as caught:
        await passkeys.finish_authentication(challenge_id, RSA_AUTHENTICATION["response"])
    assert caught.value.code == "COUNTER_REPLAY"


async def test_a_presence_only_security_key_needs_relaxed_verification(
    auth: Lucia, user: User, plant_challenge: Any
) -> None:
    """UP without UV is refused by default, accepted with ``user_verification="discouraged"``."""
    strict, relaxed = _localhost(auth), _localhost(auth, user_verification="discouraged")
    await _plant_credential(strict, user, EC2_PRESENCE_ONLY)
    plant_challenge(EC2_PRESENCE_ONLY)
    _, challenge_id = await strict.begin_authentication(user.user_id)
    with pytest.raises(LuciaWebAuthnError, match="verif") as caught:
        await strict.finish_authentication(challenge_id, EC2_PRESENCE_ONLY["response"])
    assert caught.value.code == "INVALID_RESPONSE"
    _, challenge_id = await relaxed.begin_authentication()
    with pytest.raises(LuciaWebAuthnError, match="user handle"):  # usernameless needs the handle it lacks
        await relaxed.finish_authentication(challenge_id, EC2_PRESENCE_ONLY["response"])
    _, challenge_id = await relaxed.begin_authentication(user.user_id)
    signed_in, credential = await relaxed.finish_authentication(challenge_id, EC2_PRESENCE_ONLY["response"])
    assert signed_in == user and credential.sign_count == 78
