"""Brute-force protection through ``use_key`` (SECURITY B1, B2, B5): the rules SPEC §2 states."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from lucia import (
    InvalidKeyError,
    InvalidPasswordError,
    Lucia,
    PrimaryKey,
    StorageUnavailableError,
    TooManyRequestsError,
)
from lucia.adapters.memory import MemoryAdapter
from lucia.testing import FakeClock
from lucia.throttle import MemoryThrottleStore, Throttle, ThrottleEvent

from .conftest import CountingHasher

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


@pytest.fixture
def events() -> list[ThrottleEvent]:
    return []


@pytest.fixture
def auth(memory: MemoryAdapter, clock: FakeClock, hasher: CountingHasher, events: list[ThrottleEvent]) -> Lucia:
    throttle = Throttle(max_failures=3, per_client_limit=10, on_throttle=events.append)
    return Lucia(adapter=memory, clock=clock, password_hasher=hasher, throttle=throttle)


async def _fail(auth: Lucia, key: str = "ada@x", **kwargs: Any) -> None:
    with pytest.raises((InvalidPasswordError, InvalidKeyError)):
        await auth.use_key("email", key, "wrong", **kwargs)


async def test_b1_back_off_starts_after_max_failures_without_hashing(
    auth: Lucia, clock: FakeClock, hasher: CountingHasher
) -> None:
    """After 3 failures: refused for 1 s, then 2 s, then 4 s, with no hash computed while refused."""
    await auth.create_user(primary_key=PrimaryKey("email", "ada@x", PASSWORD), attributes={})
    for _ in range(3):
        await _fail(auth)
    for window in (1, 2, 4):
        verifies = hasher.verifies
        with pytest.raises(TooManyRequestsError) as info:
            await auth.use_key("email", "ada@x", PASSWORD)  # even the right password waits
        assert info.value.retry_after == pytest.approx(window) and hasher.verifies == verifies
        clock.advance(window - 0.5)
        with pytest.raises(TooManyRequestsError) as info:
            await auth.use_key("email", "ada@x", PASSWORD)
        assert info.value.retry_after == pytest.approx(0.5)
        clock.advance(0.5)
        await _fail(auth)  # the window is over: one more attempt, one more failure
    clock.advance(8)
    assert (await auth.use_key("email", "ada@x", PASSWORD)).provider_user_id == "ada@x"
    for _ in range(3):  # a success reset the key: three fresh failures before back-off
        await _fail(auth)


async def test_b1_back_off_is_capped_at_max_delay(memory: MemoryAdapter, clock: FakeClock) -> None:
    """The window doubles up to ``max_delay`` and no further; ``retry_after`` stays finite."""
    throttle = Throttle(max_failures=1, base_delay=timedelta(seconds=1), max_delay=timedelta(seconds=5))
    auth = Lucia(adapter=memory, clock=clock, throttle=throttle)
    seen = []
    for _ in range(8):
        await _fail(auth)
        with pytest.raises(TooManyRequestsError) as info:
            await auth.use_key("email", "ada@x", "wrong")
        seen.append(info.value.retry_after)
        clock.advance(info.value.retry_after)
    assert seen == [1, 2, 4, 5, 5, 5, 5, 5]


async def test_b1_unknown_keys_are_counted_like_known_ones(auth: Lucia, hasher: CountingHasher) -> None:
    """An unknown key costs a hash and is throttled the same way: throttling enumerates nothing."""
    await auth.create_user(primary_key=PrimaryKey("email", "known@x", PASSWORD), attributes={})
    outcomes = {}
    for key in ("known@x", "unknown@x"):
        verifies = hasher.verifies
        for _ in range(3):
            await _fail(auth, key)
        with pytest.raises(TooManyRequestsError) as info:
            await auth.use_key("email", key, "wrong")
        outcomes[key] = (hasher.verifies - verifies, info.value.retry_after)
    assert outcomes["known@x"] == outcomes["unknown@x"] == (3, 1.0)


async def test_b1_keys_without_a_password_are_not_throttled(auth: Lucia) -> None:
    """Links and OAuth keys (no password) are never throttled per key."""
    user = await auth.create_user(primary_key=None, attributes={})
    await auth.create_key(user.user_id, provider_id="github", provider_user_id="42", password=None)
    for _ in range(20):
        assert (await auth.use_key("github", "42", None)).user_id == user.user_id
    for _ in range(20):
        with pytest.raises(InvalidKeyError):
            await auth.use_key("github", "43", None)


async def test_b2_one_client_cannot_spray_one_password_over_many_keys(auth: Lucia, clock: FakeClock) -> None:
    """Per client: 10 failures across keys in a minute, then refused until the oldest leaves the window."""
    for index in range(10):
        await _fail(auth, f"victim{index}@x", client="203.0.113.9")
    with pytest.raises(TooManyRequestsError) as info:
        await auth.use_key("email", "victim99@x", "wrong", client="203.0.113.9")
    assert info.value.retry_after == pytest.approx(60)
    await _fail(auth, "victim99@x", client="198.51.100.1")  # another client is not affected
    clock.advance(60)
    await _fail(auth, "victim99@x", client="203.0.113.9")


async def test_b2_successes_do_not_count_against_a_client(auth: Lucia) -> None:
    """A client signing many users in (a shared office address) is not throttled by successes."""
    for index in range(15):
        await auth.create_user(primary_key=PrimaryKey("email", f"u{index}@x", PASSWORD), attributes={})
        await auth.use_key("email", f"u{index}@x", PASSWORD, client="192.0.2.1")


async def test_b5_refusals_are_logged_without_secrets_and_reported(
    auth: Lucia, events: list[ThrottleEvent], caplog: pytest.LogCaptureFixture
) -> None:
    """Each refusal: a WARNING with the hashed key, the client and retry_after; never the password."""
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        await _fail(auth, client="203.0.113.5")
    with pytest.raises(TooManyRequestsError):
        await auth.use_key("email", "ada@x", "s3cret-guess", client="203.0.113.5")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and len(events) == 1
    text = warnings[0].getMessage()
    assert "203.0.113.5" in text and "retry_after" in text and events[0].scope == "key"
    everything = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records) + repr(events)
    assert "s3cret-guess" not in everything and "wrong" not in everything and "ada@x" not in everything


async def test_b5_a_store_that_is_down_fails_closed(memory: MemoryAdapter, caplog: pytest.LogCaptureFixture) -> None:
    """A broken throttle store refuses the sign-in with a storage error and logs it; nothing is hashed."""

    class Down(MemoryThrottleStore):
        async def hit(self, key: str, **kwargs: Any) -> int:
            raise ConnectionError("store down")

    hasher = CountingHasher()
    auth = Lucia(adapter=memory, password_hasher=hasher, throttle=Throttle(store=Down()))
    with pytest.raises(StorageUnavailableError) as info:
        await auth.use_key("email", "ada@x", PASSWORD)
    assert isinstance(info.value.__cause__, ConnectionError) and hasher.verifies == 0
    assert any(r.levelno >= logging.ERROR for r in caplog.records)


async def test_throttle_none_turns_it_off(memory: MemoryAdapter, clock: FakeClock) -> None:
    """``throttle=None``: any number of failures, never a refusal."""
    auth = Lucia(adapter=memory, clock=clock, throttle=None)
    for _ in range(12):
        await _fail(auth)


@pytest.mark.parametrize(
    "options",
    [
        {"max_failures": 0},
        {"max_failures": True},
        {"base_delay": timedelta(seconds=-1)},
        {"max_delay": timedelta(0)},
        {"base_delay": timedelta(minutes=5), "max_delay": timedelta(minutes=1)},
        {"per_client_limit": 0},
        {"per_client_window": timedelta(0)},
    ],
)
def test_absurd_settings_are_refused_at_construction(options: dict[str, Any]) -> None:
    """Settings that cannot work raise ValueError when the Throttle is built."""
    with pytest.raises(ValueError):
        Throttle(**options)


def test_the_default_is_an_in_memory_throttle() -> None:
    """``Lucia()`` throttles by default, in this process's memory."""
    auth = Lucia(adapter=MemoryAdapter())
    assert auth.throttle is not None and isinstance(auth.throttle.store, MemoryThrottleStore)
    assert auth.throttle.max_failures == 5
