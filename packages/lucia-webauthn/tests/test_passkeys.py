"""Registration and sign-in ceremonies, driven by a software authenticator, on memory and on SQLite."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta
from typing import Any

import pytest
from _soft_authenticator import (
    AAGUID,
    ORIGIN,
    UP,
    UV,
    ExcludedCredentialError,
    SoftAuthenticator,
    unb64url,
)

from lucia import Lucia, User
from lucia.testing import FakeClock, gather_outcomes
from lucia_webauthn import (
    Passkeys,
    WebAuthnChallengeError,
    WebAuthnCounterReplayError,
    WebAuthnUnknownCredentialError,
)

pytestmark = pytest.mark.anyio


async def test_register_then_sign_in_without_a_username(
    passkeys: Passkeys, user: User, authenticator: SoftAuthenticator, clock: FakeClock
) -> None:
    """A registered passkey signs its user in from a usernameless ceremony and records the use."""
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada@example.com")
    credential = await passkeys.finish_registration(
        user.user_id, challenge_id, authenticator.create(options), name="Laptop"
    )
    assert (credential.user_id, credential.name, credential.sign_count) == (user.user_id, "Laptop", 0)
    assert credential.transports == ("hybrid", "internal")
    assert credential.aaguid == str(uuid.UUID(bytes=AAGUID))
    assert credential.backed_up is True
    assert credential.created_at.timestamp() == clock.now and credential.last_used_at is None

    clock.advance(60)
    options, challenge_id = await passkeys.begin_authentication()
    assert options["allowCredentials"] == [] and options["userVerification"] == "required"
    signed_in, used = await passkeys.finish_authentication(challenge_id, json.dumps(authenticator.get(options)))
    assert signed_in == user
    assert (used.credential_id, used.sign_count) == (credential.credential_id, 1)
    assert used.last_used_at is not None and used.last_used_at.timestamp() == clock.now
    assert await passkeys.list_credentials(user.user_id) == [used]


async def test_options_are_json_ready_with_a_strong_fresh_challenge(passkeys: Passkeys, user: User) -> None:
    """Options are JSON documents for parseCreationOptionsFromJSON; each has its own 256-bit challenge."""
    created, first_id = await passkeys.begin_registration(user.user_id, user_name="ada@example.com")
    assert json.loads(json.dumps(created)) == created
    assert created["rp"] == {"id": "example.com", "name": "Example"}
    assert created["user"]["name"] == created["user"]["displayName"] == "ada@example.com"
    assert created["authenticatorSelection"] == {
        "residentKey": "required",
        "requireResidentKey": True,
        "userVerification": "required",
    }
    assert created["attestation"] == "none" and created["timeout"] == 300_000
    requested, second_id = await passkeys.begin_authentication()
    assert json.loads(json.dumps(requested)) == requested and requested["rpId"] == "example.com"
    assert len(unb64url(created["challenge"])) == len(unb64url(requested["challenge"])) == 32
    assert created["challenge"] != requested["challenge"] and first_id != second_id
    assert created["challenge"] not in (first_id, second_id)


async def test_the_user_handle_is_random_per_user_and_reused(
    passkeys: Passkeys, auth: Lucia, user: User, flows: Any
) -> None:
    """The WebAuthn user id is 32 random bytes, never the user id or name, the same for all of a user's passkeys."""
    first, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada@example.com")
    handle = unb64url(first["user"]["id"])
    assert len(handle) == 32 and user.user_id.encode() not in handle and b"ada" not in handle
    await passkeys.finish_registration(user.user_id, challenge_id, SoftAuthenticator().create(first))
    again, _ = await passkeys.begin_registration(user.user_id, user_name="ada@example.com")
    assert again["user"]["id"] == first["user"]["id"]
    other = await auth.create_user(primary_key=None, attributes={"username": "grace"})
    theirs, _ = await passkeys.begin_registration(other.user_id, user_name="grace@example.com")
    assert theirs["user"]["id"] != first["user"]["id"]


async def test_registration_excludes_the_users_passkeys(
    passkeys: Passkeys, user: User, authenticator: SoftAuthenticator, flows: Any, clock: FakeClock
) -> None:
    """A second registration lists the user's passkeys, so an authenticator holding one makes no second."""
    credential = await flows.register(user, authenticator)
    options, _ = await passkeys.begin_registration(user.user_id, user_name="ada@example.com")
    assert options["excludeCredentials"] == [
        {"id": credential.credential_id, "type": "public-key", "transports": ["hybrid", "internal"]}
    ]
    with pytest.raises(ExcludedCredentialError):
        authenticator.create(options)
    clock.advance(1)
    second = await flows.register(user, SoftAuthenticator(), name="Phone")
    names = [c.name for c in await passkeys.list_credentials(user.user_id)]
    assert names == [None, "Phone"] and second.credential_id != credential.credential_id


async def test_packed_self_attestation_is_verified(passkeys: Passkeys, user: User, flows: Any) -> None:
    """A packed self attestation (signed by the new key) registers like "none"."""
    authenticator = SoftAuthenticator(attestation="packed")
    credential = await flows.register(user, authenticator)
    signed_in, _ = await flows.sign_in(authenticator)
    assert signed_in.user_id == credential.user_id == user.user_id


async def test_a_user_scoped_sign_in_offers_only_that_users_passkeys(
    passkeys: Passkeys, auth: Lucia, user: User, flows: Any
) -> None:
    """``begin_authentication(user_id)`` lists the user's passkeys; another user's passkey is refused."""
    mine, theirs = SoftAuthenticator(), SoftAuthenticator()
    credential = await flows.register(user, mine)
    other = await auth.create_user(primary_key=None, attributes={"username": "grace"})
    await flows.register(other, theirs)
    options, challenge_id = await passkeys.begin_authentication(user.user_id)
    assert [c["id"] for c in options["allowCredentials"]] == [credential.credential_id]
    forced = theirs.get({**options, "allowCredentials": []})  # a client ignoring the list
    with pytest.raises(WebAuthnUnknownCredentialError):
        await passkeys.finish_authentication(challenge_id, forced)
    assert (await flows.sign_in(mine, user.user_id))[0] == user


async def test_a_user_without_passkeys_cannot_start_a_scoped_sign_in(passkeys: Passkeys, user: User) -> None:
    """No passkey (or no such user): ``UNKNOWN_CREDENTIAL`` before any challenge is made."""
    for user_id in (user.user_id, "no-such-user"):
        with pytest.raises(WebAuthnUnknownCredentialError) as caught:
            await passkeys.begin_authentication(user_id)
        assert caught.value.code == "UNKNOWN_CREDENTIAL"


async def test_counters_must_advance_unless_both_are_zero(
    passkeys: Passkeys, user: User, flows: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A counter that goes back or stays is ``COUNTER_REPLAY``, logged, and nothing is recorded."""
    authenticator = SoftAuthenticator(counter_step=5)
    await flows.register(user, authenticator)
    _, used = await flows.sign_in(authenticator)
    assert used.sign_count == 5
    for counter in (5, 4, 0):
        with caplog.at_level(logging.WARNING, logger="lucia_webauthn"), pytest.raises(WebAuthnCounterReplayError):
            await flows.sign_in(authenticator, counter=counter)
        assert f"went from 5 to {counter}" in caplog.text
    assert await passkeys.list_credentials(user.user_id) == [used]
    assert (await flows.sign_in(authenticator, counter=6))[1].sign_count == 6


async def test_synced_passkeys_that_keep_a_zero_counter_sign_in_again(user: User, flows: Any) -> None:
    """Synced passkeys report 0 every time: 0 after 0 is accepted."""
    authenticator = SoftAuthenticator(counter_step=0)
    await flows.register(user, authenticator)
    for _ in range(3):
        _, used = await flows.sign_in(authenticator)
        assert used.sign_count == 0


async def test_preferred_user_verification_accepts_presence_alone(auth: Lucia, user: User) -> None:
    """With ``user_verification="preferred"`` a touch without PIN or biometric is enough."""
    passkeys = Passkeys(auth, rp_id="example.com", rp_name="Example", origins=[ORIGIN], user_verification="preferred")
    authenticator = SoftAuthenticator(flags=UP)
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    credential = await passkeys.finish_registration(user.user_id, challenge_id, authenticator.create(options))
    assert credential.backed_up is False
    options, challenge_id = await passkeys.begin_authentication(user.user_id)
    assert (await passkeys.finish_authentication(challenge_id, authenticator.get(options)))[0] == user


async def test_t1_one_challenge_admits_one_of_many_concurrent_finishes(
    passkeys: Passkeys, user: User, flows: Any
) -> None:
    """Of 10 concurrent finishes with one challenge (and one valid response) exactly one succeeds."""
    authenticator = SoftAuthenticator(counter_step=0)
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    response = authenticator.create(options)
    outcomes = await gather_outcomes(10, lambda: passkeys.finish_registration(user.user_id, challenge_id, response))
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1, outcomes
    assert all(isinstance(o, WebAuthnChallengeError) for o in outcomes if isinstance(o, Exception))

    options, challenge_id = await passkeys.begin_authentication()
    response = authenticator.get(options)
    outcomes = await gather_outcomes(10, lambda: passkeys.finish_authentication(challenge_id, response))
    wins = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(wins) == 1 and wins[0][0] == user, outcomes
    assert all(isinstance(o, WebAuthnChallengeError) for o in outcomes if isinstance(o, Exception))


async def test_t1_two_connections_to_one_database_share_single_use(tmp_path: Any, clock: FakeClock) -> None:
    """Two processes' worth of adapters on one SQLite file: a challenge is still used once."""
    from lucia_sqlite import SQLiteAdapter

    path = tmp_path / "shared.db"
    first, second = SQLiteAdapter(path), SQLiteAdapter(path)
    await first.create_schema(user_columns={"username": "string"})
    try:
        instances = [
            Passkeys(Lucia(adapter=a, clock=clock), rp_id="example.com", rp_name="Example", origins=[ORIGIN])
            for a in (first, second)
        ]
        user = await instances[0].auth.create_user(primary_key=None, attributes={"username": "ada"})
        authenticator = SoftAuthenticator()
        options, challenge_id = await instances[0].begin_registration(user.user_id, user_name="ada")
        await instances[1].finish_registration(user.user_id, challenge_id, authenticator.create(options))
        for _ in range(3):
            options, challenge_id = await instances[0].begin_authentication()
            outcomes = await _race(instances * 3, challenge_id, authenticator.get(options))
            assert sum(not isinstance(o, Exception) for o in outcomes) == 1, outcomes
            assert all(isinstance(o, WebAuthnChallengeError) for o in outcomes if isinstance(o, Exception))
    finally:
        await first.close()
        await second.close()


async def _race(instances: list[Passkeys], challenge_id: str, response: Any) -> list[Any]:
    """Finish one sign-in concurrently on each of ``instances``."""
    order = iter(instances)
    return await gather_outcomes(len(instances), lambda: next(order).finish_authentication(challenge_id, response))


async def test_concurrent_sign_ins_move_the_counter_forward_only(passkeys: Passkeys, user: User, flows: Any) -> None:
    """Parallel sign-ins of one authenticator: the stored counter ends at the highest accepted one."""
    authenticator = SoftAuthenticator()
    await flows.register(user, authenticator)
    ceremonies = [await passkeys.begin_authentication() for _ in range(6)]
    responses = [authenticator.get(options) for options, _ in ceremonies]  # counters 1..6

    pairs = iter(zip([challenge_id for _, challenge_id in ceremonies], responses, strict=True))
    outcomes = await gather_outcomes(6, lambda: passkeys.finish_authentication(*next(pairs)))
    assert all(isinstance(o, WebAuthnCounterReplayError) for o in outcomes if isinstance(o, Exception)), outcomes
    accepted = sorted(o[1].sign_count for o in outcomes if not isinstance(o, Exception))
    assert 6 in accepted and len(set(accepted)) == len(accepted), outcomes
    assert (await passkeys.list_credentials(user.user_id))[0].sign_count == 6


async def test_a_ceremony_expires_on_the_lucia_clock(
    passkeys: Passkeys, user: User, authenticator: SoftAuthenticator, clock: FakeClock
) -> None:
    """After ``challenge_expires_in`` (5 minutes) the ceremony is refused and nothing is stored."""
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    response = authenticator.create(options)
    clock.advance(timedelta(minutes=5))
    with pytest.raises(WebAuthnChallengeError, match="expired"):
        await passkeys.finish_registration(user.user_id, challenge_id, response)
    assert await passkeys.list_credentials(user.user_id) == []


async def test_a_ceremony_is_bound_to_its_kind_and_user(
    passkeys: Passkeys, auth: Lucia, user: User, authenticator: SoftAuthenticator, flows: Any
) -> None:
    """A sign-in challenge cannot finish a registration, nor one user's registration another's."""
    await flows.register(user, authenticator)
    options, challenge_id = await passkeys.begin_authentication()
    with pytest.raises(WebAuthnChallengeError, match="not a registration"):
        await passkeys.finish_registration(
            user.user_id, challenge_id, SoftAuthenticator().create(_as_creation(options))
        )
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    with pytest.raises(WebAuthnChallengeError, match="not a authentication"):
        await passkeys.finish_authentication(challenge_id, authenticator.get(_as_request(options)))
    other = await auth.create_user(primary_key=None, attributes={"username": "grace"})
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    with pytest.raises(WebAuthnChallengeError, match="another user"):
        await passkeys.finish_registration(other.user_id, challenge_id, SoftAuthenticator().create(options))
    assert len(await passkeys.list_credentials(user.user_id)) == 1
    assert await passkeys.list_credentials(other.user_id) == []


async def test_rename_and_delete_touch_only_the_users_own_passkeys(
    passkeys: Passkeys, auth: Lucia, user: User, authenticator: SoftAuthenticator, flows: Any
) -> None:
    """Renaming or deleting another user's passkey is ``UNKNOWN_CREDENTIAL``; a deleted passkey cannot sign in."""
    credential = await flows.register(user, authenticator)
    other = await auth.create_user(primary_key=None, attributes={"username": "grace"})
    with pytest.raises(WebAuthnUnknownCredentialError):
        await passkeys.rename_credential(other.user_id, credential.credential_id, "mine now")
    with pytest.raises(WebAuthnUnknownCredentialError):
        await passkeys.delete_credential(other.user_id, credential.credential_id)
    await passkeys.rename_credential(user.user_id, credential.credential_id, "Work laptop 💻")
    assert [c.name for c in await passkeys.list_credentials(user.user_id)] == ["Work laptop 💻"]
    await passkeys.delete_credential(user.user_id, credential.credential_id)
    assert await passkeys.list_credentials(user.user_id) == []
    with pytest.raises(WebAuthnUnknownCredentialError):
        await flows.sign_in(authenticator)
    with pytest.raises(WebAuthnUnknownCredentialError):
        await passkeys.delete_credential(user.user_id, credential.credential_id)


async def test_deleting_the_user_deletes_its_passkeys(
    passkeys: Passkeys, auth: Lucia, user: User, authenticator: SoftAuthenticator, flows: Any
) -> None:
    """After ``auth.delete_user`` the user's passkey is unknown."""
    await flows.register(user, authenticator)
    await auth.delete_user(user.user_id)
    assert await passkeys.list_credentials(user.user_id) == []
    with pytest.raises(WebAuthnUnknownCredentialError):
        await flows.sign_in(authenticator)


# -- the three use cases ----------------------------------------------------------------


async def test_passkey_only_sign_up_and_sign_in(passkeys: Passkeys, auth: Lucia) -> None:
    """Sign-up with a passkey and no password: a user without keys signs in and gets a session."""
    user = await auth.create_user(primary_key=None, attributes={"username": "ada"})
    authenticator = SoftAuthenticator()
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    await passkeys.finish_registration(user.user_id, challenge_id, authenticator.create(options))
    assert await auth.get_all_user_keys(user.user_id) == []

    options, challenge_id = await passkeys.begin_authentication()
    signed_in, _ = await passkeys.finish_authentication(challenge_id, authenticator.get(options))
    session = await auth.create_session(signed_in.user_id)
    assert (await auth.validate_session_user(session.token))[1] == user


async def test_passkey_added_to_a_password_account(passkeys: Passkeys, auth: Lucia, flows: Any) -> None:
    """A password user adds a passkey; afterwards either way signs them in."""
    user = await auth.create_user(
        primary_key={"provider_id": "email", "provider_user_id": "ada@example.com", "password": "correct horse"},
        attributes={"username": "ada"},
    )
    authenticator = SoftAuthenticator()
    await flows.register(user, authenticator, name="Phone")
    assert (await flows.sign_in(authenticator))[0] == user
    assert (await auth.use_key("email", "ada@example.com", "correct horse")).user_id == user.user_id


async def test_passkey_as_a_second_factor_after_the_password(passkeys: Passkeys, auth: Lucia, flows: Any) -> None:
    """Password first, then a sign-in scoped to that user's passkeys; only then a session."""
    user = await auth.create_user(
        primary_key={"provider_id": "email", "provider_user_id": "ada@example.com", "password": "correct horse"},
        attributes={"username": "ada"},
    )
    authenticator = SoftAuthenticator()
    await flows.register(user, authenticator)
    key = await auth.use_key("email", "ada@example.com", "correct horse")
    assert await passkeys.list_credentials(key.user_id)  # the account has a second factor
    options, challenge_id = await passkeys.begin_authentication(key.user_id)
    second, _ = await passkeys.finish_authentication(challenge_id, authenticator.get(options))
    assert second.user_id == key.user_id
    session = await auth.create_session(second.user_id)
    assert (await auth.validate_session(session.token)).user_id == user.user_id


def _as_creation(request_options: dict[str, Any]) -> dict[str, Any]:
    """Creation options carrying a sign-in's challenge (a client mixing up ceremonies)."""
    return {"rp": {"id": request_options["rpId"]}, "user": {"id": "AAAA"}, "challenge": request_options["challenge"]}


def _as_request(creation_options: dict[str, Any]) -> dict[str, Any]:
    """Request options carrying a registration's challenge."""
    return {"rpId": creation_options["rp"]["id"], "challenge": creation_options["challenge"]}


async def test_a_device_bound_passkey_is_not_backed_up(passkeys: Passkeys, user: User) -> None:
    """A device-bound credential (no BE) is stored as not backed up and keeps that status."""
    authenticator = SoftAuthenticator(flags=UP | UV)
    options, challenge_id = await passkeys.begin_registration(user.user_id, user_name="ada")
    credential = await passkeys.finish_registration(user.user_id, challenge_id, authenticator.create(options))
    assert credential.backed_up is False
    options, challenge_id = await passkeys.begin_authentication()
    _, used = await passkeys.finish_authentication(challenge_id, authenticator.get(options))
    assert used.backed_up is False
