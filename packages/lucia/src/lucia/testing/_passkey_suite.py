"""The passkey-storage suite: credentials and single-use ceremony challenges on a real store."""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

import pytest

from lucia._errors import DuplicateKeyError, InvalidUserError
from lucia.adapters import ChallengeRow, PasskeyCredentialRow
from lucia.testing._harness import NOW_MS, Harness, gather_outcomes

__all__ = ["PasskeyStoreTests"]


def _credential(user_id: str, **changes: Any) -> PasskeyCredentialRow:
    row = PasskeyCredentialRow(
        id=secrets.token_urlsafe(32),
        user_id=user_id,
        user_handle=secrets.token_urlsafe(32),
        public_key=secrets.token_bytes(77) + b"\x00\xff",
        sign_count=0,
        transports=("internal", "hybrid"),
        aaguid="08987058-cadc-4b81-b6e1-30de50dcbe96",
        backup_eligible=True,
        backed_up=True,
        name="Phone 📱",
        created_at=NOW_MS,
        last_used_at=None,
    )
    return dataclasses.replace(row, **changes)


class PasskeyStoreTests(Harness):
    """What every adapter that stores keys must do for ``lucia-webauthn`` (``PasskeyAdapter``)."""

    async def test_credentials_round_trip_and_list_by_user(self, adapter: Any, user_adapter: Any) -> None:
        """A credential reads back exactly; a user's list holds its credentials only."""
        user_id, other_id = await self._stored_user(user_adapter), await self._stored_user(user_adapter)
        mine = [_credential(user_id), _credential(user_id, transports=(), name=None, backup_eligible=False)]
        for credential in [*mine, _credential(other_id)]:
            await adapter.set_passkey_credential(credential)
        assert await adapter.get_passkey_credential(mine[0].id) == mine[0]
        listed = await adapter.get_passkey_credentials_by_user_id(user_id)
        assert sorted(listed, key=lambda c: c.id) == sorted(mine, key=lambda c: c.id)
        assert await adapter.get_passkey_credential(secrets.token_urlsafe(32)) is None

    async def test_duplicate_credential_and_unknown_user_are_refused(self, adapter: Any, user_adapter: Any) -> None:
        """A credential id is unique; a credential needs an existing user."""
        user_id = await self._stored_user(user_adapter)
        credential = _credential(user_id)
        await adapter.set_passkey_credential(credential)
        with pytest.raises(DuplicateKeyError):
            await adapter.set_passkey_credential(credential)
        with pytest.raises(InvalidUserError):
            await adapter.set_passkey_credential(_credential("no-such-user"))

    async def test_use_is_recorded_only_from_the_expected_counter(self, adapter: Any, user_adapter: Any) -> None:
        """The counter update is a compare-and-set: concurrent uses cannot both move it."""
        credential = _credential(await self._stored_user(user_adapter), sign_count=5)
        await adapter.set_passkey_credential(credential)
        update = adapter.update_passkey_credential_use
        assert await update(credential.id, expected_sign_count=5, sign_count=6, backed_up=False, last_used_at=NOW_MS)
        assert not await update(credential.id, expected_sign_count=5, sign_count=7, backed_up=False, last_used_at=1)
        stored = await adapter.get_passkey_credential(credential.id)
        assert (stored.sign_count, stored.backed_up, stored.last_used_at) == (6, False, NOW_MS)
        results = await gather_outcomes(
            10,
            lambda: update(credential.id, expected_sign_count=6, sign_count=8, backed_up=False, last_used_at=NOW_MS),
        )
        assert results.count(True) == 1, results

    async def test_rename_and_delete_only_the_users_own_credential(self, adapter: Any, user_adapter: Any) -> None:
        """Renaming or deleting another user's credential does nothing and says so."""
        owner, stranger = await self._stored_user(user_adapter), await self._stored_user(user_adapter)
        credential = _credential(owner)
        await adapter.set_passkey_credential(credential)
        assert not await adapter.rename_passkey_credential(stranger, credential.id, "mine now")
        assert not await adapter.delete_passkey_credential(stranger, credential.id)
        assert await adapter.rename_passkey_credential(owner, credential.id, "Laptop")
        assert (await adapter.get_passkey_credential(credential.id)).name == "Laptop"
        assert await adapter.delete_passkey_credential(owner, credential.id)
        assert await adapter.get_passkey_credential(credential.id) is None

    async def test_deleting_a_user_deletes_its_credentials(self, adapter: Any) -> None:
        """``delete_user`` removes the user's passkeys with it."""
        user_id = await self._stored_user(adapter)
        credential = _credential(user_id)
        await adapter.set_passkey_credential(credential)
        await adapter.delete_user(user_id)
        assert await adapter.get_passkey_credential(credential.id) is None

    async def test_a_use_writing_identical_values_still_counts(self, adapter: Any, user_adapter: Any) -> None:
        """Counter 0 -> 0 with the same time (synced passkeys) is a successful use (MySQL: FOUND_ROWS)."""
        credential = _credential(await self._stored_user(user_adapter), last_used_at=NOW_MS)
        await adapter.set_passkey_credential(credential)
        update = adapter.update_passkey_credential_use
        assert await update(credential.id, expected_sign_count=0, sign_count=0, backed_up=True, last_used_at=NOW_MS)

    async def test_registration_challenges_round_trip_and_expired_ones_are_deleted(self, adapter: Any) -> None:
        """A registration challenge keeps its user and handle; expired challenges can be purged."""
        user_id = await self._stored_user(adapter)
        registration = ChallengeRow(
            id=secrets.token_hex(32),
            kind="registration",
            user_id=user_id,
            challenge=secrets.token_urlsafe(64)[:87],
            expires=NOW_MS + 300_000,
            user_handle=secrets.token_urlsafe(32),
        )
        stale = dataclasses.replace(registration, id=secrets.token_hex(32), expires=NOW_MS - 1)
        await adapter.set_challenge(registration)
        await adapter.set_challenge(stale)
        await adapter.delete_expired_challenges(NOW_MS)
        assert await adapter.use_challenge(stale.id) is None
        assert await adapter.use_challenge(registration.id) == registration

    async def test_t1_a_challenge_is_used_once_under_concurrency(self, adapter: Any) -> None:
        """Of 20 concurrent uses of one challenge exactly one gets it; unknown ids get ``None``."""
        challenge = ChallengeRow(
            id=secrets.token_hex(32), kind="authentication", user_id=None, challenge="Y2hhbGxlbmdl", expires=NOW_MS
        )
        await adapter.set_challenge(challenge)
        results = await gather_outcomes(20, lambda: adapter.use_challenge(challenge.id))
        assert [r for r in results if r is not None] == [challenge], results
        assert await adapter.use_challenge(secrets.token_hex(32)) is None
