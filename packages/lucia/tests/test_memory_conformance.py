"""The conformance suite over the reference in-memory adapter, and proof that it can fail."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from lucia.adapters.memory import MemoryAdapter
from lucia.testing import AdapterTests


class TestMemoryAdapter(AdapterTests):
    @pytest.fixture
    def adapter(self) -> MemoryAdapter:
        return MemoryAdapter()

    @pytest.fixture
    def raw_dump(self, adapter: MemoryAdapter) -> Callable[[], Awaitable[str]]:
        async def dump() -> str:
            return repr((adapter.users, adapter.keys, adapter.sessions))

        return dump
