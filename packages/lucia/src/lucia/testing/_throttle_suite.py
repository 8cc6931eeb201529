"""The throttle-store suite (SECURITY B1, B4): atomic, shared across processes, fail closed.

A store's test class supplies ``throttle_store`` (a fresh store) and
``throttle_store_recipe``: how a *new process* builds the same store, as
``("module:callable", kwargs, method)`` — the callable is called with ``kwargs`` and, if
``method`` is given, that method of the result gives the store (``("lucia_sqlite:SQLiteAdapter",
{"database": path}, "throttle_store")``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import multiprocessing
import random
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import anyio.to_thread
import pytest

from lucia._core import Lucia
from lucia._errors import InvalidPasswordError, TooManyRequestsError
from lucia.adapters.memory import MemoryAdapter
from lucia.testing._clock import FakeClock
from lucia.testing._harness import Harness, fast_password_hasher, gather_outcomes, needs, required_fixture
from lucia.throttle import Backoff, Throttle, ThrottleState

__all__ = ["StoreRecipe", "ThrottleStoreTests"]

#: ``("module:callable", kwargs, method or None)``: how another process builds the store.
StoreRecipe = tuple[str, Mapping[str, Any], "str | None"]

PROCESSES = 4
PER_PROCESS = 50


def _build(recipe: StoreRecipe) -> tuple[Any, Any]:
    target, kwargs, method = recipe
    module, _, name = target.partition(":")
    factory: Any = importlib.import_module(module)
    for part in name.split("."):
        factory = getattr(factory, part)
    built = factory(**kwargs)
    return built, getattr(built, method)() if method else built


async def _hammer(recipe: StoreRecipe, key: str, count: int, now: int) -> None:
    owner, store = _build(recipe)
    never = Backoff(max_failures=10**9, base_delay=1, max_delay=1, forget_after=3_600_000)
    try:
        for _ in range(count):
            assert await store.hit(key, now=now, backoff=never) == 0
            await store.add_event(key, secrets.token_hex(8), now, since=now - 60_000, expires_at=now + 3_600_000)
    finally:
        close = getattr(owner, "close", None)
        if close is not None:
            result = close()
            if asyncio.iscoroutine(result):
                await result


def _worker(recipe: StoreRecipe, key: str, count: int, now: int) -> None:
    asyncio.run(_hammer(recipe, key, count, now))


class ThrottleStoreTests(Harness):
    """What every throttle store must do. Subclasses supply ``throttle_store`` and ``throttle_store_recipe``.

    Capability ``shared_across_processes`` (declared by default): the store serves
    several worker processes; an in-process store declares no capabilities.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"shared_across_processes"})

    throttle_store = required_fixture("throttle_store", "A fresh throttle store.")
    throttle_store_recipe = required_fixture("throttle_store_recipe", "How another process builds the same store.")

    async def test_b1_hits_follow_the_reference_back_off_exactly(self, throttle_store: Any) -> None:
        """Counted hits and refusals match :class:`~lucia.throttle.Backoff` step by step (with ``forget_after``)."""
        backoff = Backoff(max_failures=3, base_delay=1_000, max_delay=8_000, forget_after=60_000)
        key = f"k:{secrets.token_hex(8)}"
        expected_state: ThrottleState | None = None
        now = 1_000_000
        for step in (0, 10, 10, 10, 500, 600, 1_500, 2_100, 4_000, 8_000, 20_000, 61_000, 10):
            now += step
            wait = await throttle_store.hit(key, now=now, backoff=backoff)
            assert wait == backoff.wait_ms(expected_state, now), (step, expected_state)
            if wait == 0:
                expected_state = backoff.counted(expected_state, now)
            assert await throttle_store.get_state(key) == expected_state
        await throttle_store.delete_state(key)
        assert await throttle_store.get_state(key) is None
        assert await throttle_store.hit(key, now=now, backoff=backoff) == 0

    async def test_b1_random_timelines_follow_the_reference(self, throttle_store: Any) -> None:
        """Random settings (up to a day's base delay) and gaps: each hit counted or refused as the reference says."""
        rng = random.Random(20261206)  # the same timelines on every run and every store
        for _ in range(4):
            base = rng.choice((1, 250, 1_000, 86_400_000))
            longest = base * rng.choice((1, 3, 64, 1 << 20))
            backoff = Backoff(rng.randint(1, 5), base, longest, longest * rng.choice((1, 2, 10)))
            key, now, expected = f"k:{secrets.token_hex(8)}", 1_700_000_000_000, None
            for _ in range(40):
                now += rng.choice((0, 1, base // 2, base, 2 * base, longest, backoff.forget_after))
                wait = await throttle_store.hit(key, now=now, backoff=backoff)
                assert wait == backoff.wait_ms(expected, now), (backoff, expected, now)
                if wait == 0:
                    expected = backoff.counted(expected, now)
                assert await throttle_store.get_state(key) == expected

    async def test_b1_no_refusal_below_max_failures_when_clocks_disagree(self, throttle_store: Any) -> None:
        """Below ``max_failures`` nothing waits, even if the last failure has a later time (a clock ahead)."""
        backoff = Backoff(max_failures=5, base_delay=1_000, max_delay=8_000, forget_after=60_000)
        key = f"k:{secrets.token_hex(8)}"
        assert await throttle_store.hit(key, now=1_000_010, backoff=backoff) == 0
        for failures in range(2, 6):  # workers whose clocks run 10 ms behind the first one
            assert await throttle_store.hit(key, now=1_000_000, backoff=backoff) == 0
            assert await throttle_store.get_state(key) == ThrottleState(failures, 1_000_010)
        assert await throttle_store.hit(key, now=1_000_000, backoff=backoff) == 1_010  # the window has begun

    async def test_b1_concurrent_hits_never_slip_past_the_limit(self, throttle_store: Any) -> None:
        """50 concurrent hits with a limit of 5: exactly 5 are counted, 45 refused."""
        backoff = Backoff(max_failures=5, base_delay=60_000, max_delay=60_000, forget_after=3_600_000)
        key = f"k:{secrets.token_hex(8)}"
        results = await gather_outcomes(50, lambda: throttle_store.hit(key, now=5_000_000, backoff=backoff))
        assert sorted(r > 0 for r in results) == [False] * 5 + [True] * 45, results
        assert await throttle_store.get_state(key) == ThrottleState(5, 5_000_000)

    async def test_events_count_a_sliding_window(self, throttle_store: Any) -> None:
        """Events older than ``since`` stop counting; a removed event stops counting."""
        key = f"c:{secrets.token_hex(8)}"
        for at in (1_000, 2_000, 3_000):
            await throttle_store.add_event(key, f"e{at}", at, since=0, expires_at=10**13)
        count, oldest = await throttle_store.add_event(key, "e4000", 4_000, since=2_000, expires_at=10**13)
        assert (count, oldest) == (3, 2_000)
        await throttle_store.remove_event(key, "e4000")
        assert (await throttle_store.add_event(key, "e5000", 5_000, since=4_500, expires_at=10**13))[0] == 1

    async def test_expired_state_and_events_are_deleted(self, throttle_store: Any) -> None:
        """``delete_expired`` forgets what expired and keeps the rest."""
        gone, kept = f"k:{secrets.token_hex(8)}", f"k:{secrets.token_hex(8)}"
        short = Backoff(max_failures=5, base_delay=1, max_delay=1, forget_after=4_000)
        await throttle_store.hit(gone, now=1_000, backoff=short)
        await throttle_store.hit(kept, now=1_000, backoff=dataclasses.replace(short, forget_after=10**12))
        await throttle_store.add_event(gone, "old", 1, since=0, expires_at=5_000)
        await throttle_store.delete_expired(6_000)
        assert await throttle_store.get_state(gone) is None
        assert await throttle_store.get_state(kept) == ThrottleState(1, 1_000)
        assert (await throttle_store.add_event(gone, "new", 7_000, since=0, expires_at=10**13))[0] == 1

    async def test_b4_concurrent_failures_in_one_process_are_all_counted(self, throttle_store: Any) -> None:
        """100 concurrent attempts through the throttle: every one is counted."""
        throttle = Throttle(store=throttle_store, max_failures=10**6, per_client_limit=10**6)
        clock = FakeClock()
        subject = f"email:{secrets.token_hex(6)}"
        results = await gather_outcomes(100, lambda: throttle.attempt(subject, client="198.51.100.1", now=clock()))
        assert not [r for r in results if isinstance(r, Exception)]
        state = await throttle_store.get_state(throttle.key_of(subject))
        assert state is not None and state.failures == 100

    @needs("shared_across_processes")
    async def test_b4_failures_from_four_processes_are_all_counted(
        self, throttle_store: Any, throttle_store_recipe: StoreRecipe
    ) -> None:
        """200 concurrent failures from 4 processes on one store: all 200 counted."""
        key = f"k:{secrets.token_hex(8)}"
        now = 1_000_000
        context = multiprocessing.get_context("spawn")
        workers = [
            context.Process(target=_worker, args=(throttle_store_recipe, key, PER_PROCESS, now))
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            await anyio.to_thread.run_sync(worker.join, 120)
            assert worker.exitcode == 0, f"a worker process failed (exit code {worker.exitcode})"
        state = await throttle_store.get_state(key)
        count, _ = await throttle_store.add_event(key, "read-back", now, since=now, expires_at=now + 3_600_000)
        assert (state.failures if state else 0, count - 1) == (PROCESSES * PER_PROCESS, PROCESSES * PER_PROCESS)

    async def test_b1_two_lucia_instances_share_one_store(self, throttle_store: Any) -> None:
        """Failures made through one ``Lucia`` throttle the other: the state is the store's."""
        clock = FakeClock()
        adapter = MemoryAdapter()
        instances = [
            Lucia(
                adapter=adapter,
                clock=clock,
                password_hasher=fast_password_hasher(),
                throttle=Throttle(store=throttle_store, max_failures=3),
            )
            for _ in range(2)
        ]
        email = f"{secrets.token_hex(6)}@example.com"
        await instances[0].create_user(
            primary_key={"provider_id": "email", "provider_user_id": email, "password": "right"}, attributes={}
        )
        for _ in range(3):
            with pytest.raises(InvalidPasswordError):
                await instances[0].use_key("email", email, "wrong")
        with pytest.raises(TooManyRequestsError) as info:
            await instances[1].use_key("email", email, "right")
        assert 0 < info.value.retry_after <= 1
        clock.advance(timedelta(seconds=1))
        assert (await instances[1].use_key("email", email, "right")).provider_user_id == email
