"""The public surface of lucia_redis is pinned."""

from __future__ import annotations

import json
from pathlib import Path

from redis.asyncio import Redis

import lucia_redis
from lucia.adapters import SessionAdapter, SessionAndUserAdapter, UserAdapter
from lucia.throttle import ThrottleStore

#: What the package exports, in ``__all__`` order: data, kept beside this test.
PUBLIC_SURFACE: dict[str, list[str]] = json.loads(Path(__file__).with_name("public_names.json").read_text())


def test_all_is_pinned_and_sorted() -> None:
    """``__all__`` lists exactly the documented names, sorted, and each one exists."""
    assert lucia_redis.__all__ == PUBLIC_SURFACE["lucia_redis"]
    assert lucia_redis.__all__ == sorted(lucia_redis.__all__)
    for name in lucia_redis.__all__:
        assert getattr(lucia_redis, name) is not None


def test_adapter_is_a_session_store_only() -> None:
    """``RedisSessionAdapter`` is a ``SessionAdapter``, not a user store, without the joined read."""
    adapter = lucia_redis.RedisSessionAdapter(Redis(), key_prefix="app:")
    assert isinstance(adapter, SessionAdapter)
    assert not isinstance(adapter, UserAdapter) and not isinstance(adapter, SessionAndUserAdapter)
    assert repr(adapter) == "RedisSessionAdapter(key_prefix='app:')"


def test_throttle_store_is_a_throttle_store() -> None:
    """``RedisThrottleStore`` implements ``lucia.throttle.ThrottleStore``."""
    store = lucia_redis.RedisThrottleStore(Redis(), key_prefix="app:")
    assert isinstance(store, ThrottleStore)
    assert repr(store) == "RedisThrottleStore(key_prefix='app:')"
