"""Session policy through :class:`lucia.Lucia` on a real store: S3, S7, S8, S9 with real concurrency."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import anyio
import pytest

from lucia._config import SessionExpiresIn
from lucia._core import Lucia
from lucia._errors import InvalidInputError, InvalidSessionError, LuciaError
from lucia._models import Session
from lucia.testing._clock import FakeClock
from lucia.testing._harness import Harness, fast_password_hasher, gather_outcomes, needs

__all__ = ["SessionPolicyTests"]

#: Trials of each renew-versus-revoke race (SECURITY S7 asks for at least 100).
RACE_TRIALS = 100


class SessionPolicyTests(Harness):
    """Atomic renewal, grace, absolute lifetime, remember-me, attributes and caps on one store."""

    def _lucia(self, auth: Lucia, clock: FakeClock, **options: Any) -> Lucia:
        """A ``Lucia`` like the ``auth`` fixture (same stores, ids and session-id mode) with ``options``."""
        one_store = auth.users is auth.sessions  # type: ignore[comparison-overlap]
        store: Any = auth.users if one_store else {"user": auth.users, "session": auth.sessions}
        return Lucia(
            adapter=store,
            clock=clock,
            password_hasher=fast_password_hasher(),
            throttle=None,
            generate_user_id=auth.generate_user_id,
            hash_session_ids=auth.hash_session_ids,
            **options,
        )

    async def _user(self, auth: Lucia) -> str:
        return (await auth.create_user(primary_key=None, attributes={"username": "policy"})).user_id

    async def _idle_session(self, auth: Lucia, clock: FakeClock, **options: Any) -> tuple[str, Session]:
        user_id = await self._user(auth)
        session = await auth.create_session(user_id, **options)
        clock.advance(timedelta(days=1, seconds=1))  # past the default active period
        return user_id, session

    async def _valid(self, auth: Lucia, token: str | None) -> bool:
        try:
            await auth.get_session(token or "")
        except InvalidSessionError:
            return False
        return True

    @needs("session_policy_columns")
    async def test_s8_parallel_requests_with_one_idle_cookie_all_authenticate(
        self, auth: Lucia, clock: FakeClock
    ) -> None:
        """50 concurrent validations of one idle token: all authenticate, one renews, one session remains."""
        user_id, session = await self._idle_session(auth, clock)
        results = await gather_outcomes(50, lambda: auth.validate_session(session.token or ""))
        failures = [r for r in results if isinstance(r, Exception)]
        assert failures == [], failures[:3]
        renewed = [r for r in results if r.fresh]
        assert len(renewed) == 1
        assert {r.user_id for r in results} == {user_id}
        live = await auth.get_all_user_sessions(user_id)
        assert [s.session_id for s in live] == [renewed[0].session_id]

    async def _race(
        self, auth: Lucia, adapter: Any, clock: FakeClock, revoke: Callable[[str, Session], Coroutine[Any, Any, object]]
    ) -> int:
        """Run renew-versus-``revoke`` trials; return how many left a session alive."""
        survivors = 0
        for _ in range(RACE_TRIALS):
            user_id, session = await self._idle_session(auth, clock)
            renewed: list[Session] = []

            async def renew(token: str = session.token or "", found: list[Session] = renewed) -> None:
                with contextlib.suppress(InvalidSessionError):
                    found.append(await auth.validate_session(token))

            async with anyio.create_task_group() as group:
                group.start_soon(renew)
                group.start_soon(revoke, user_id, session)
            alive = [t for t in (session.token, *(s.token for s in renewed)) if await self._valid(auth, t)]
            survivors += bool(alive or await adapter.get_sessions_by_user_id(user_id))
        return survivors

    async def test_s7_renewal_racing_sign_out_everywhere_leaves_no_survivor(
        self, auth: Lucia, adapter: Any, clock: FakeClock
    ) -> None:
        """100 trials of renew-versus-"sign out everywhere": no session, renewed or not, survives."""
        auth = self._lucia(auth, clock)
        survivors = await self._race(
            auth, adapter, clock, lambda user_id, _: auth.invalidate_all_user_sessions(user_id)
        )
        assert survivors == 0, f"{survivors} of {RACE_TRIALS} trials left a live session after sign-out"

    # Revoking a session by the id it had before a concurrent renewal reaches the renewal
    # only through ``previous_id``: a four-column Lucia-JS table cannot record it (sign-out
    # everywhere and delete_user, which go by user, stay linearizable there).
    @needs("session_policy_columns")
    async def test_s7_renewal_racing_invalidate_session_leaves_no_survivor(
        self, auth: Lucia, adapter: Any, clock: FakeClock
    ) -> None:
        """100 trials of renew-versus-sign-out of that session: neither it nor its renewal survives."""
        auth = self._lucia(auth, clock)
        survivors = await self._race(auth, adapter, clock, lambda _, s: auth.invalidate_session(s.session_id))
        assert survivors == 0, f"{survivors} of {RACE_TRIALS} trials left a live session after invalidate_session"

    async def test_s7_renewal_racing_delete_user_leaves_no_survivor(
        self, auth: Lucia, adapter: Any, clock: FakeClock
    ) -> None:
        """Deleting a user while its session is renewed leaves no session of it anywhere."""
        auth = self._lucia(auth, clock)
        for _ in range(RACE_TRIALS // 4):
            user_id, session = await self._idle_session(auth, clock)
            async with anyio.create_task_group() as group:
                group.start_soon(gather_outcomes, 1, lambda t=session.token: auth.validate_session(t or ""))
                group.start_soon(auth.delete_user, user_id)
            assert await adapter.get_sessions_by_user_id(user_id) == []
            assert not await self._valid(auth, session.token)

    async def test_s7_concurrent_renewals_without_grace_leave_one_session(
        self, auth: Lucia, adapter: Any, clock: FakeClock
    ) -> None:
        """With grace off, 50 concurrent renewals of one token leave exactly one renewed session."""
        auth = self._lucia(auth, clock, renewal_grace=timedelta(0))
        user_id, session = await self._idle_session(auth, clock)
        results = await gather_outcomes(50, lambda: auth.validate_session(session.token or ""))
        winners = [r for r in results if isinstance(r, Session)]
        assert len(winners) == 1 and winners[0].fresh
        assert all(isinstance(r, InvalidSessionError) for r in results if not isinstance(r, Session))
        assert len(await adapter.get_sessions_by_user_id(user_id)) == 1
        assert not await self._valid(auth, session.token)  # S3: the replaced token stops at once

    @needs("session_policy_columns")
    async def test_s8_replaced_token_works_within_grace_then_stops(self, auth: Lucia, clock: FakeClock) -> None:
        """The replaced token authenticates as its renewal (never renewing again) until grace ends."""
        _, session = await self._idle_session(auth, clock)
        renewed = await auth.validate_session(session.token or "")
        assert renewed.fresh
        again = await auth.validate_session(session.token or "")
        assert not again.fresh and again.session_id == renewed.session_id
        clock.advance(auth.renewal_grace + timedelta(seconds=1))
        assert not await self._valid(auth, session.token)
        assert await self._valid(auth, renewed.token)

    @needs("session_policy_columns")
    async def test_s8_revoking_the_replaced_id_revokes_its_renewal(self, auth: Lucia, clock: FakeClock) -> None:
        """Within the grace window, revoking the replaced session id revokes what it was renewed into."""
        _, session = await self._idle_session(auth, clock)
        renewed = await auth.validate_session(session.token or "")
        await auth.invalidate_session(session.session_id)
        assert not await self._valid(auth, renewed.token)
        assert not await self._valid(auth, session.token)

    @needs("session_policy_columns")
    async def test_s6_sign_out_other_devices_keeps_this_device_and_its_renewal(
        self, auth: Lucia, clock: FakeClock
    ) -> None:
        """``except_session_id`` keeps the named session even when it was just renewed."""
        user_id, session = await self._idle_session(auth, clock)
        other = await auth.create_session(user_id)
        renewed = await auth.validate_session(session.token or "")
        await auth.invalidate_all_user_sessions(user_id, except_session_id=session.session_id)
        assert await self._valid(auth, renewed.token)
        assert not await self._valid(auth, other.token)

    @needs("session_policy_columns")
    async def test_s9_absolute_period_bounds_every_renewal(self, auth: Lucia, adapter: Any, clock: FakeClock) -> None:
        """No chain of renewals from one sign-in outlives ``created_at + absolute_period``."""
        periods = SessionExpiresIn(timedelta(hours=1), timedelta(hours=2), timedelta(hours=5))
        auth = self._lucia(auth, clock, session_expires_in=periods)
        user_id = await self._user(auth)
        session = await auth.create_session(user_id)
        signed_in = session.created_at
        assert signed_in is not None
        token = session.token or ""
        for _ in range(4):
            clock.advance(timedelta(minutes=61))
            renewed = await auth.validate_session(token)
            assert renewed.created_at == signed_in  # kept across renewal
            assert renewed.idle_period_expires_at <= signed_in + timedelta(hours=5)
            token = renewed.token or token
        clock.advance(timedelta(minutes=61))  # 5 h 5 min after sign-in
        assert not await self._valid(auth, token)

    @needs("session_policy_columns")
    async def test_s9_session_cap_holds_under_concurrent_creation(
        self, auth: Lucia, adapter: Any, clock: FakeClock
    ) -> None:
        """With a cap of 3, 20 concurrent sign-ins of one user leave at most 3 sessions, the newest."""
        auth = self._lucia(auth, clock, max_sessions_per_user=3)
        user_id = await self._user(auth)
        first = await auth.create_session(user_id)
        clock.advance(1)
        results = await gather_outcomes(20, lambda: auth.create_session(user_id))
        assert all(isinstance(r, Session) for r in results), results[:3]
        stored = await adapter.get_sessions_by_user_id(user_id)
        assert 1 <= len(stored) <= 3
        assert first.session_id not in {row.id for row in stored}  # the oldest went first

    @needs("session_policy_columns")
    async def test_session_attributes_are_stored_renewed_and_listed(self, auth: Lucia, clock: FakeClock) -> None:
        """Session attributes round-trip, survive renewal and appear in the session list."""
        attributes = {"ip_address": "203.0.113.7", "device": "Firefox on Linux 🦊"}
        user_id, session = await self._idle_session(auth, clock, attributes=attributes)
        assert session.attributes == attributes
        renewed = await auth.validate_session(session.token or "")
        assert renewed.fresh and renewed.attributes == attributes
        assert [s.attributes for s in await auth.get_all_user_sessions(user_id)] == [attributes]

    @needs("session_policy_columns")
    async def test_remember_me_off_gives_a_browser_session_cookie_after_renewal(
        self, auth: Lucia, clock: FakeClock
    ) -> None:
        """``persistent=False``: no Max-Age on the cookie, now and after renewal."""
        _, session = await self._idle_session(auth, clock, persistent=False)
        assert "Max-Age" not in auth.create_session_cookie(session).serialize()
        renewed = await auth.validate_session(session.token or "")
        assert renewed.fresh and not renewed.persistent
        assert "Max-Age" not in auth.create_session_cookie(renewed).serialize()
        kept = await auth.create_session(renewed.user_id)
        assert "Max-Age=" in auth.create_session_cookie(kept).serialize()

    @needs("session_policy_columns")
    async def test_expires_in_sets_this_sessions_own_periods(self, auth: Lucia, clock: FakeClock) -> None:
        """A session created with ``expires_in`` keeps its own periods across renewal."""
        user_id = await self._user(auth)
        short = SessionExpiresIn(timedelta(minutes=10), timedelta(minutes=20))
        session = await auth.create_session(user_id, expires_in=short)
        clock.advance(timedelta(minutes=11))
        renewed = await auth.validate_session(session.token or "")
        assert renewed.fresh
        assert renewed.idle_period_expires_at - renewed.active_period_expires_at == timedelta(minutes=20)
        clock.advance(timedelta(minutes=31))
        assert not await self._valid(auth, renewed.token)

    @pytest.mark.parametrize("name", ["ID", "User_Id", "Active_Expires", "created_at", "PREVIOUS_ID", "bad name"])
    async def test_h5_reserved_session_attribute_names_are_refused_in_any_case(self, auth: Lucia, name: str) -> None:
        """Attribute names that collide with Lucia's session columns are refused, nothing written."""
        user_id = await self._user(auth)
        with pytest.raises(InvalidInputError):
            await auth.create_session(user_id, attributes={name: "x"})
        assert await auth.get_all_user_sessions(user_id) == []

    @pytest.mark.parametrize("value", [object(), ["list"], "x" * 1_048_577, "\ud800", float("nan")])
    async def test_bad_session_attribute_values_are_refused(self, auth: Lucia, value: object) -> None:
        """Non-serialisable, oversized or unencodable values are refused, nothing written."""
        user_id = await self._user(auth)
        with pytest.raises(InvalidInputError):
            await auth.create_session(user_id, attributes={"device": value})
        assert await auth.get_all_user_sessions(user_id) == []

    @needs("session_policy_columns")
    async def test_a_dead_session_is_not_revived_by_its_previous_id(self, auth: Lucia, clock: FakeClock) -> None:
        """After grace, the replaced token names no session; revoking the renewal ends both."""
        user_id, session = await self._idle_session(auth, clock)
        renewed = await auth.validate_session(session.token or "")
        await auth.invalidate_session(renewed.session_id)
        for token in (session.token, renewed.token):
            with pytest.raises(LuciaError):
                await auth.validate_session(token or "")
        assert await auth.get_all_user_sessions(user_id) == []
