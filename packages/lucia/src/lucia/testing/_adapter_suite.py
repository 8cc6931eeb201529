"""The conformance test classes. See :mod:`lucia.testing` for how to use them."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from lucia._core import Lucia
from lucia._errors import LuciaError
from lucia.adapters import KeyRow, SessionAndUserAdapter, UserRow
from lucia.testing._clock import FakeClock
from lucia.testing._harness import (
    AWKWARD_STRINGS,
    DAY_MS,
    NOW_MS,
    Harness,
    fast_password_hasher,
    gather_outcomes,
    key_row,
    needs,
    new_id,
    refused_with,
    session_row,
    stored_form,
    user_row,
)
from lucia.testing._session_suite import SessionPolicyTests

__all__ = ["AdapterTests", "LuciaSessionTests", "LuciaTests", "SessionAdapterTests", "UserAdapterTests"]


class UserAdapterTests(Harness):
    """The user and key half of the contract."""

    async def test_get_user_unknown_returns_none(self, adapter: Any) -> None:
        """An unknown user id reads as ``None``."""
        assert await adapter.get_user(new_id("nobody")) is None

    async def test_set_user_without_key_round_trips(self, adapter: Any) -> None:
        """A user stored without a key reads back with its attributes."""
        user = user_row("ada")
        await adapter.set_user(user, None)
        row = await adapter.get_user(user.id)
        assert row is not None and row.id == user.id
        assert row.attributes["username"] == "ada"
        assert "id" not in row.attributes

    async def test_set_user_with_key_stores_both(self, adapter: Any) -> None:
        """``set_user`` with a key stores the user and its primary key."""
        user = user_row()
        key = key_row(user.id, primary=True, password="hash")
        await adapter.set_user(user, key)
        assert await adapter.get_user(user.id) is not None
        assert await adapter.get_key(key.id) == key

    async def test_d1_set_user_with_duplicate_key_leaves_no_user(self, adapter: Any) -> None:
        """A failing primary-key insert leaves no user behind (atomic ``set_user``)."""
        first = user_row()
        key = key_row(first.id, primary=True)
        await adapter.set_user(first, key)
        second = user_row()
        await refused_with(
            "AUTH_DUPLICATE_KEY_ID", adapter.set_user, second, KeyRow(key.id, second.id, True, None, None)
        )
        assert await adapter.get_user(second.id) is None
        assert (await adapter.get_key(key.id)).user_id == first.id

    async def test_set_user_duplicate_id_raises_invalid_user_id(self, adapter: Any) -> None:
        """A second user with a taken id is refused with ``AUTH_INVALID_USER_ID`` and writes nothing."""
        user = user_row("first")
        await adapter.set_user(user, None)
        key = key_row(user.id, primary=True)
        await refused_with("AUTH_INVALID_USER_ID", adapter.set_user, UserRow(user.id, {"username": "second"}), key)
        assert (await adapter.get_user(user.id)).attributes["username"] == "first"
        assert await adapter.get_key(key.id) is None

    async def test_d1_concurrent_set_user_with_one_key_has_one_winner(self, adapter: Any) -> None:
        """Of 20 concurrent sign-ups with one primary key exactly one creates a user."""
        key_id = f"email:{new_id('race')}"
        users = [user_row() for _ in range(20)]
        pending = iter(users)

        async def sign_up() -> str:
            user = next(pending)
            await adapter.set_user(user, KeyRow(key_id, user.id, True, None, None))
            return user.id

        results = await gather_outcomes(20, sign_up)
        winners = [r for r in results if isinstance(r, str)]
        errors = [r for r in results if isinstance(r, LuciaError)]
        assert len(winners) == 1, results
        assert len(errors) == 19 and {e.code for e in errors} == {"AUTH_DUPLICATE_KEY_ID"}
        stored = [u.id for u in users if await adapter.get_user(u.id) is not None]
        assert stored == winners
        assert (await adapter.get_key(key_id)).user_id == winners[0]

    async def test_update_user_sets_attributes(self, adapter: Any) -> None:
        """``update_user`` changes the given columns; an unknown user is a no-op."""
        user = user_row("before")
        await adapter.set_user(user, None)
        await adapter.update_user(user.id, {"username": "after"})
        assert (await adapter.get_user(user.id)).attributes["username"] == "after"
        await adapter.update_user(new_id("nobody"), {"username": "x"})

    async def test_delete_user(self, adapter: Any) -> None:
        """``delete_user`` removes the row; deleting an unknown user succeeds."""
        user = user_row()
        await adapter.set_user(user, None)
        await adapter.delete_user(user.id)
        assert await adapter.get_user(user.id) is None
        await adapter.delete_user(user.id)

    async def test_unicode_large_and_metacharacter_values_round_trip(self, adapter: Any) -> None:
        """Emoji, right-to-left text, SQL metacharacters and 100 KB values are stored exactly."""
        large = "🔐" + "x" * 100_000 + "√"
        for text in (*AWKWARD_STRINGS, large, None):
            user = UserRow(id=f"u{text!s:.40}{secrets.token_hex(4)}", attributes={"username": text})
            key = KeyRow(f"{'p' + secrets.token_hex(2)}:{text!s:.100}", user.id, True, text, None)
            await adapter.set_user(user, key)
            got = await adapter.get_user(user.id)
            assert got is not None and got.id == user.id and got.attributes["username"] == text
            assert await adapter.get_key(key.id) == key

    async def test_ids_are_case_sensitive(self, adapter: Any) -> None:
        """``email:Bob`` and ``email:bob`` are two keys; ids compare exactly."""
        user = user_row()
        await adapter.set_user(user, None)
        upper, lower = (KeyRow(f"email:{name}{user.id}", user.id, False, None, None) for name in ("Bob", "bob"))
        await adapter.set_key(upper)
        await adapter.set_key(lower)
        assert await adapter.get_key(upper.id) == upper
        assert await adapter.get_key(lower.id) == lower

    async def test_get_key_unknown_returns_none(self, adapter: Any) -> None:
        """An unknown key id reads as ``None``."""
        assert await adapter.get_key(f"email:{new_id('nobody')}") is None

    async def test_set_key_duplicate_raises(self, adapter: Any) -> None:
        """A duplicate key id raises ``AUTH_DUPLICATE_KEY_ID``."""
        user = user_row()
        await adapter.set_user(user, None)
        key = key_row(user.id)
        await adapter.set_key(key)
        await refused_with("AUTH_DUPLICATE_KEY_ID", adapter.set_key, key)

    async def test_set_key_for_unknown_user_raises(self, adapter: Any) -> None:
        """A key for an unknown user raises ``AUTH_INVALID_USER_ID`` and is not stored."""
        key = key_row(new_id("nobody"))
        await refused_with("AUTH_INVALID_USER_ID", adapter.set_key, key)
        assert await adapter.get_key(key.id) is None

    async def test_get_keys_by_user_id(self, adapter: Any) -> None:
        """Every key of a user, and only its keys, are listed."""
        user, other = user_row(), user_row()
        primary = key_row(user.id, primary=True)
        await adapter.set_user(user, primary)
        await adapter.set_user(other, key_row(other.id, primary=True))
        extra = key_row(user.id, expires=NOW_MS)
        await adapter.set_key(extra)
        keys = await adapter.get_keys_by_user_id(user.id)
        assert sorted(keys, key=lambda k: k.id) == sorted([primary, extra], key=lambda k: k.id)
        assert await adapter.get_keys_by_user_id(new_id("nobody")) == []

    async def test_update_key_replaces_password_hash(self, adapter: Any) -> None:
        """``update_key`` sets and clears the stored hash."""
        user = user_row()
        key = key_row(user.id, primary=True, password="old")
        await adapter.set_user(user, key)
        await adapter.update_key(key.id, hashed_password="new")
        assert (await adapter.get_key(key.id)).hashed_password == "new"
        await adapter.update_key(key.id, hashed_password=None)
        assert (await adapter.get_key(key.id)).hashed_password is None

    async def test_delete_key_never_deletes_a_primary_key(self, adapter: Any) -> None:
        """``delete_key`` removes a secondary key and leaves a primary one."""
        user = user_row()
        primary = key_row(user.id, primary=True)
        await adapter.set_user(user, primary)
        secondary = key_row(user.id)
        await adapter.set_key(secondary)
        await adapter.delete_key(secondary.id)
        await adapter.delete_key(primary.id)
        assert await adapter.get_key(secondary.id) is None
        assert await adapter.get_key(primary.id) == primary

    async def test_delete_keys_by_user_id(self, adapter: Any) -> None:
        """All keys of one user go; another user's stay."""
        user, other = user_row(), user_row()
        await adapter.set_user(user, key_row(user.id, primary=True))
        await adapter.set_key(key_row(user.id))
        kept = key_row(other.id, primary=True)
        await adapter.set_user(other, kept)
        await adapter.delete_keys_by_user_id(user.id)
        assert await adapter.get_keys_by_user_id(user.id) == []
        assert await adapter.get_key(kept.id) == kept

    async def test_use_single_use_key_returns_and_deletes_it(self, adapter: Any) -> None:
        """A single-use key is returned once, then gone."""
        user = user_row()
        await adapter.set_user(user, None)
        key = key_row(user.id, password="h", expires=NOW_MS + 1000)
        await adapter.set_key(key)
        assert await adapter.use_single_use_key(key.id) == key
        assert await adapter.use_single_use_key(key.id) is None
        assert await adapter.get_key(key.id) is None

    async def test_use_single_use_key_leaves_persistent_keys(self, adapter: Any) -> None:
        """A persistent key is never consumed."""
        user = user_row()
        key = key_row(user.id, primary=True)
        await adapter.set_user(user, key)
        assert await adapter.use_single_use_key(key.id) is None
        assert await adapter.get_key(key.id) == key

    async def test_t1_concurrent_single_use_consumption_has_one_winner(self, adapter: Any) -> None:
        """Of 20 concurrent consumptions of one single-use key exactly one gets it."""
        user = user_row()
        await adapter.set_user(user, None)
        key = key_row(user.id, expires=NOW_MS + DAY_MS)
        await adapter.set_key(key)
        results = await gather_outcomes(20, lambda: adapter.use_single_use_key(key.id))
        assert [r for r in results if r is not None] == [key], results


class SessionAdapterTests(Harness):
    """The session half of the contract."""

    async def test_declared_capabilities_match_the_adapter(self, adapter: Any) -> None:
        """The capabilities a test class declares are the ones the adapter has."""
        assert isinstance(adapter, SessionAndUserAdapter) == ("get_session_and_user" in self.capabilities)

    async def test_get_session_unknown_returns_none(self, adapter: Any) -> None:
        """An unknown session id reads as ``None``."""
        assert await adapter.get_session(secrets.token_hex(32)) is None

    async def test_set_and_get_session(self, adapter: Any, user_adapter: Any) -> None:
        """A stored session reads back exactly."""
        session = session_row(await self._stored_user(user_adapter))
        await adapter.set_session(session)
        assert await adapter.get_session(session.id) == await stored_form(adapter, session)

    async def test_set_session_duplicate_raises(self, adapter: Any, user_adapter: Any) -> None:
        """A duplicate session id raises ``AUTH_DUPLICATE_SESSION_ID``."""
        session = session_row(await self._stored_user(user_adapter))
        await adapter.set_session(session)
        await refused_with("AUTH_DUPLICATE_SESSION_ID", adapter.set_session, session)

    @needs("user_foreign_key")
    async def test_set_session_for_unknown_user_raises(self, adapter: Any) -> None:
        """A session for an unknown user raises ``AUTH_INVALID_USER_ID`` and is not stored."""
        session = session_row(new_id("nobody"))
        await refused_with("AUTH_INVALID_USER_ID", adapter.set_session, session)
        assert await adapter.get_session(session.id) is None

    async def test_get_sessions_by_user_id(self, adapter: Any, user_adapter: Any) -> None:
        """Every session of a user, dead ones too, and only its own."""
        user_id, other_id = await self._stored_user(user_adapter), await self._stored_user(user_adapter)
        mine = [session_row(user_id), session_row(user_id, active=NOW_MS - 2 * DAY_MS, idle=NOW_MS + 60_000)]
        for session in [*mine, session_row(other_id)]:
            await adapter.set_session(session)
        listed = await adapter.get_sessions_by_user_id(user_id)
        expected = [await stored_form(adapter, row) for row in mine]
        assert sorted(listed, key=lambda s: s.id) == sorted(expected, key=lambda s: s.id)
        assert await adapter.get_sessions_by_user_id(new_id("nobody")) == []

    async def test_update_session(self, adapter: Any, user_adapter: Any) -> None:
        """``update_session`` moves both expiry times."""
        session = session_row(await self._stored_user(user_adapter))
        await adapter.set_session(session)
        await adapter.update_session(session.id, active_expires=NOW_MS + 5, idle_expires=NOW_MS + 10 * DAY_MS)
        got = await adapter.get_session(session.id)
        assert (got.active_expires, got.idle_expires) == (NOW_MS + 5, NOW_MS + 10 * DAY_MS)

    async def test_delete_session(self, adapter: Any, user_adapter: Any) -> None:
        """``delete_session`` removes one session; an unknown id is a no-op."""
        user_id = await self._stored_user(user_adapter)
        gone, kept = session_row(user_id), session_row(user_id)
        await adapter.set_session(gone)
        await adapter.set_session(kept)
        await adapter.delete_session(gone.id)
        await adapter.delete_session(gone.id)
        assert await adapter.get_session(gone.id) is None
        assert await adapter.get_session(kept.id) == await stored_form(adapter, kept)

    async def test_delete_sessions_by_user_id(self, adapter: Any, user_adapter: Any) -> None:
        """Every session of one user goes; another user's stay."""
        user_id, other_id = await self._stored_user(user_adapter), await self._stored_user(user_adapter)
        for _ in range(3):
            await adapter.set_session(session_row(user_id))
        kept = session_row(other_id)
        await adapter.set_session(kept)
        await adapter.delete_sessions_by_user_id(user_id)
        assert await adapter.get_sessions_by_user_id(user_id) == []
        assert await adapter.get_session(kept.id) == await stored_form(adapter, kept)

    async def test_session_columns_are_reported(self, adapter: Any) -> None:
        """``session_columns`` names the Lucia-JS columns (or is ``None`` for a document store)."""
        columns = await adapter.session_columns()
        assert columns is None or {"id", "user_id", "active_expires", "idle_expires"} <= columns

    @needs("session_policy_columns")
    async def test_policy_fields_and_attributes_round_trip(self, adapter: Any, user_adapter: Any) -> None:
        """Every policy field and the session attributes are stored and read back exactly."""
        user_id = await self._stored_user(user_adapter)
        row = dataclasses.replace(
            session_row(user_id),
            persistent=False,
            active_period=60_000,
            idle_period=120_000,
            absolute_period=DAY_MS,
            attributes={"ip_address": "2001:db8::1", "device": "Safari 🧭"},
        )
        await adapter.set_session(row)
        assert await adapter.get_session(row.id) == row
        assert await adapter.get_sessions_by_user_id(user_id) == [row]

    @needs("session_policy_columns")
    async def test_renew_session_moves_the_row_to_its_new_id(self, adapter: Any, user_adapter: Any) -> None:
        """``renew_session`` replaces the row once; the old id then finds the renewal (grace)."""
        user_id = await self._stored_user(user_adapter)
        old = dataclasses.replace(session_row(user_id), attributes={"device": "kept"})
        await adapter.set_session(old)
        renewed = dataclasses.replace(
            old,
            id=secrets.token_hex(32),
            active_expires=old.active_expires + 5,
            idle_expires=old.idle_expires + 5,
            previous_id=old.id,
            previous_expires=NOW_MS + 30_000,
        )
        assert await adapter.renew_session(old.id, renewed) is True
        assert await adapter.get_session(renewed.id) == renewed
        assert await adapter.get_session(old.id) == renewed  # found through previous_id
        again = dataclasses.replace(renewed, id=secrets.token_hex(32))
        assert await adapter.renew_session(old.id, again) is False  # renewed already
        assert await adapter.get_session(again.id) is None
        assert [r.id for r in await adapter.get_sessions_by_user_id(user_id)] == [renewed.id]
        assert await adapter.renew_session(secrets.token_hex(32), again) is False  # unknown

    async def test_t1_concurrent_renewals_of_one_session_have_one_winner(self, adapter: Any, user_adapter: Any) -> None:
        """Of 20 concurrent ``renew_session`` calls for one session exactly one succeeds."""
        user_id = await self._stored_user(user_adapter)
        old = session_row(user_id)
        await adapter.set_session(old)
        candidates = iter([dataclasses.replace(old, id=secrets.token_hex(32), previous_id=old.id) for _ in range(20)])
        results = await gather_outcomes(20, lambda: adapter.renew_session(old.id, next(candidates)))
        assert results.count(True) == 1 and results.count(False) == 19, results
        assert len(await adapter.get_sessions_by_user_id(user_id)) == 1

    @needs("session_policy_columns")
    async def test_delete_by_previous_id_and_keep_by_previous_id(self, adapter: Any, user_adapter: Any) -> None:
        """The replaced id names its renewal for ``delete_session`` and ``except_session_id``."""
        user_id = await self._stored_user(user_adapter)
        old, other = session_row(user_id), session_row(user_id)
        await adapter.set_session(old)
        await adapter.set_session(other)
        renewed = dataclasses.replace(old, id=secrets.token_hex(32), previous_id=old.id, previous_expires=NOW_MS)
        assert await adapter.renew_session(old.id, renewed)
        await adapter.delete_sessions_by_user_id(user_id, except_session_id=old.id)
        assert [r.id for r in await adapter.get_sessions_by_user_id(user_id)] == [renewed.id]
        await adapter.delete_session(old.id)
        assert await adapter.get_sessions_by_user_id(user_id) == []

    @needs("session_policy_columns")
    async def test_set_session_with_a_cap_drops_the_oldest(self, adapter: Any, user_adapter: Any) -> None:
        """``max_per_user`` keeps the newest sessions by sign-in time."""
        user_id = await self._stored_user(user_adapter)
        rows = [dataclasses.replace(session_row(user_id), created_at=NOW_MS + i) for i in range(4)]
        for row in rows:
            await adapter.set_session(row, max_per_user=2)
        assert sorted(r.id for r in await adapter.get_sessions_by_user_id(user_id)) == sorted(r.id for r in rows[2:])

    @needs("get_session_and_user")
    async def test_get_session_and_user_in_one_call(self, adapter: Any) -> None:
        """``get_session_and_user`` returns the session with its user, ``None`` for unknown ids."""
        user = user_row("joined")
        await adapter.set_user(user, None)
        session = session_row(user.id)
        await adapter.set_session(session)
        pair = await adapter.get_session_and_user(session.id)
        assert pair is not None
        got_session, got_user = pair
        assert got_session == await stored_form(adapter, session)
        assert got_user.id == user.id and got_user.attributes["username"] == "joined"
        assert await adapter.get_session_and_user(secrets.token_hex(32)) is None


class LuciaSessionTests(SessionPolicyTests):
    """Session flows through :class:`lucia.Lucia` on the adapter under test."""

    async def _signed_up_user(self, auth: Lucia) -> str:
        user = await auth.create_user(primary_key=None, attributes={"username": "flow"})
        return user.user_id

    async def test_session_lifecycle_active_idle_dead(self, auth: Lucia, clock: FakeClock) -> None:
        """Active, then idle (renewed by rotation with a new token), then dead."""
        user_id = await self._signed_up_user(auth)
        session = await auth.create_session(user_id)
        assert session.token is not None and session.fresh and session.state == "active"
        assert (await auth.validate_session(session.token)).fresh is False
        clock.advance(timedelta(days=1, seconds=1))
        renewed = await auth.validate_session(session.token)
        assert renewed.fresh and renewed.token != session.token and renewed.state == "active"
        clock.advance(auth.renewal_grace + timedelta(seconds=1))
        with pytest.raises(LuciaError):  # S3: the old token stops once its grace window passed
            await auth.validate_session(session.token)
        clock.advance(timedelta(days=16))
        await refused_with("AUTH_INVALID_SESSION_ID", auth.validate_session, renewed.token or "")

    async def test_s3_validate_session_user_renews_idle_session(self, auth: Lucia, clock: FakeClock) -> None:
        """``validate_session_user`` rotates an idle session and returns its user."""
        user_id = await self._signed_up_user(auth)
        session = await auth.create_session(user_id)
        clock.advance(timedelta(days=2))
        renewed, user = await auth.validate_session_user(session.token or "")
        assert renewed.fresh and user.user_id == user_id and user.attributes["username"] == "flow"
        clock.advance(auth.renewal_grace + timedelta(seconds=1))
        with pytest.raises(LuciaError):
            await auth.get_session_user(session.token or "")

    async def test_s2_raw_storage_never_holds_the_token(
        self, auth: Lucia, raw_dump: Callable[[], Awaitable[str]]
    ) -> None:
        """The stored rows hold SHA-256 of the token, never the token."""
        user_id = await self._signed_up_user(auth)
        tokens = [(await auth.create_session(user_id)).token for _ in range(3)]
        dump = await raw_dump()
        assert dump, "raw_dump returned nothing: it must dump every stored row"
        for token in tokens:
            assert token is not None and token not in dump

    async def test_s6_sign_out_everywhere_and_other_devices(self, auth: Lucia) -> None:
        """Signing out other devices keeps one session; signing out everywhere keeps none."""
        user_id = await self._signed_up_user(auth)
        sessions = [await auth.create_session(user_id) for _ in range(3)]
        await auth.invalidate_all_user_sessions(user_id, except_session_id=sessions[0].session_id)
        assert [s.session_id for s in await auth.get_all_user_sessions(user_id)] == [sessions[0].session_id]
        await auth.invalidate_all_user_sessions(user_id)
        assert await auth.get_all_user_sessions(user_id) == []

    async def test_dead_sessions_are_cleaned_up(self, auth: Lucia, adapter: Any, clock: FakeClock) -> None:
        """Listing a user's sessions drops and deletes dead ones."""
        user_id = await self._signed_up_user(auth)
        old = await auth.create_session(user_id)
        clock.advance(timedelta(days=20))
        new = await auth.create_session(user_id)
        assert [s.session_id for s in await auth.get_all_user_sessions(user_id)] == [new.session_id]
        assert await adapter.get_session(old.session_id) is None

    async def test_create_session_for_unknown_user_fails(self, auth: Lucia) -> None:
        """No session is created for a user that does not exist."""
        await refused_with("AUTH_INVALID_USER_ID", auth.create_session, new_id("nobody"))


class LuciaTests(LuciaSessionTests):
    """User and key flows through :class:`lucia.Lucia` on the adapter under test."""

    async def test_sign_up_and_sign_in_with_password(self, auth: Lucia) -> None:
        """A user created with a password key signs in with it and not with another."""
        email = f"{new_id('ada')}@example.com"
        user = await auth.create_user(
            primary_key={"provider_id": "email", "provider_user_id": email, "password": "correct horse"},
            attributes={"username": "ada"},
        )
        key = await auth.use_key("email", email, "correct horse")
        assert key.user_id == user.user_id and key.primary and key.password_defined
        await refused_with("AUTH_INVALID_PASSWORD", auth.use_key, "email", email, "wrong horse")

    async def test_d1_create_user_with_taken_key_creates_nothing(self, auth: Lucia, adapter: Any) -> None:
        """A sign-up with a taken primary key fails whole: no second user."""
        email = f"{new_id('dup')}@example.com"
        first = await auth.create_user(
            primary_key={"provider_id": "email", "provider_user_id": email, "password": None},
            attributes={"username": "first"},
        )
        with pytest.raises(LuciaError) as info:
            await auth.create_user(
                primary_key={"provider_id": "email", "provider_user_id": email, "password": None},
                attributes={"username": "second"},
            )
        assert info.value.code == "AUTH_DUPLICATE_KEY_ID"
        assert [k.user_id for k in await auth.get_all_user_keys(first.user_id)] == [first.user_id]

    async def test_t1_single_use_key_is_used_once_under_concurrency(self, auth: Lucia) -> None:
        """Of 20 concurrent ``use_key`` calls on a single-use key exactly one succeeds."""
        user_id = await self._signed_up_user(auth)
        token = new_id("otp")
        await auth.create_key(
            user_id, provider_id="otp", provider_user_id=token, password=None, expires_in=timedelta(hours=1)
        )
        results = await gather_outcomes(20, lambda: auth.use_key("otp", token, None))
        assert sum(1 for r in results if not isinstance(r, Exception)) == 1, results
        assert {r.code for r in results if isinstance(r, LuciaError)} == {"AUTH_INVALID_KEY_ID"}

    async def test_expired_single_use_key_is_refused_and_removed(self, auth: Lucia, clock: FakeClock) -> None:
        """An expired single-use key raises ``AUTH_EXPIRED_KEY`` and is gone afterwards."""
        user_id = await self._signed_up_user(auth)
        await auth.create_key(
            user_id, provider_id="otp", provider_user_id="late", password=None, expires_in=timedelta(minutes=5)
        )
        clock.advance(timedelta(minutes=6))
        await refused_with("AUTH_EXPIRED_KEY", auth.use_key, "otp", "late", None)
        with pytest.raises(LuciaError):
            await auth.get_key("otp", "late")

    async def test_delete_user_removes_keys_and_sessions(self, auth: Lucia, adapter: Any) -> None:
        """Deleting a user deletes its keys and sessions."""
        email = f"{new_id('gone')}@example.com"
        user = await auth.create_user(
            primary_key={"provider_id": "email", "provider_user_id": email, "password": None},
            attributes={"username": "gone"},
        )
        session = await auth.create_session(user.user_id)
        await auth.delete_user(user.user_id)
        assert await adapter.get_session(session.session_id) is None
        assert await adapter.get_key(f"email:{email}") is None
        with pytest.raises(LuciaError):
            await auth.get_user(user.user_id)
        await auth.delete_user(user.user_id)

    async def test_hash_session_ids_false_stores_the_token_as_id(self, adapter: Any, clock: FakeClock) -> None:
        """With ``hash_session_ids=False`` the stored id is the token (Lucia-JS 1.x databases)."""
        auth = Lucia(adapter=adapter, clock=clock, hash_session_ids=False, password_hasher=fast_password_hasher())
        user = await auth.create_user(primary_key=None, attributes={"username": "js"})
        session = await auth.create_session(user.user_id)
        assert session.session_id == session.token
        assert (await auth.validate_session(session.token or "")).user_id == user.user_id


class AdapterTests(UserAdapterTests, SessionAdapterTests, LuciaTests):
    """The whole contract, for adapters that store users, keys and sessions."""
