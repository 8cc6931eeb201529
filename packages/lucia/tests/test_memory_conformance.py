"""The conformance suite over the reference in-memory adapter, and its native sync path."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import pytest

from lucia.adapters.memory import MemoryAdapter
from lucia.testing import AdapterTests, PasskeyStoreTests, SyncPathTests, ThrottleStoreTests
from lucia.testing._throttle_suite import StoreRecipe
from lucia.throttle import MemoryThrottleStore


def dump_memory(adapter: MemoryAdapter) -> str:
    """Every stored value, unmasked (reprs mask secrets; a dump must not)."""
    tables = (adapter.users, adapter.keys, adapter.sessions, adapter.passkeys, adapter.challenges)
    return repr([dataclasses.astuple(row) for table in tables for row in table.values()])


class TestMemoryAdapter(AdapterTests, PasskeyStoreTests):
    @pytest.fixture
    def adapter(self) -> MemoryAdapter:
        return MemoryAdapter()

    @pytest.fixture
    def raw_dump(self, adapter: MemoryAdapter) -> Callable[[], Awaitable[str]]:
        async def dump() -> str:
            return dump_memory(adapter)

        return dump


class TestMemoryThrottleStore(ThrottleStoreTests):
    capabilities = frozenset()  # one process only, by design

    @pytest.fixture
    def throttle_store(self) -> MemoryThrottleStore:
        return MemoryThrottleStore()

    @pytest.fixture
    def throttle_store_recipe(self) -> StoreRecipe:
        raise AssertionError("not used: the store declares no shared_across_processes capability")


class TestMemorySyncPath(SyncPathTests):
    """SyncLucia over the in-memory adapter: its own blocking twin, shared by real threads."""

    @pytest.fixture
    def adapter(self) -> MemoryAdapter:
        return MemoryAdapter()
