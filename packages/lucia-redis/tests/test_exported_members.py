"""The public surface of lucia_redis is pinned."""

from __future__ import annotations

from redis.asyncio import Redis

import lucia_redis
from lucia.adapters import SessionAdapter, SessionAndUserAdapter, UserAdapter
from lucia.throttle import ThrottleStore
from lucia_testkit import check_public_surface


def test_public_names_are_pinned_and_documented() -> None:
    """Each public module exports exactly its pinned names (``public_names.json``), each documented."""
    check_public_surface(__file__)


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
