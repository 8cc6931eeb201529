"""The public surface of lucia_mongodb is pinned."""

from __future__ import annotations

import pytest
from pymongo import AsyncMongoClient

import lucia_mongodb
from lucia.adapters import Adapter, PasskeyAdapter, SessionAndUserAdapter
from lucia.throttle import ThrottleStore
from lucia_testkit import check_public_surface


def test_public_names_are_pinned_and_documented() -> None:
    """Each public module exports exactly its pinned names (``public_names.json``), each documented."""
    check_public_surface(__file__)


@pytest.mark.anyio
async def test_adapter_satisfies_the_contract() -> None:
    """``MongoDBAdapter`` is a whole ``Adapter`` with the one-round-trip read, passkeys and a throttle store."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient("mongodb://127.0.0.1:1", connect=False)
    adapter = lucia_mongodb.MongoDBAdapter(client["app"])
    assert isinstance(adapter, Adapter) and isinstance(adapter, SessionAndUserAdapter)
    assert isinstance(adapter, PasskeyAdapter) and isinstance(adapter.throttle_store(), ThrottleStore)
    assert repr(adapter) == "MongoDBAdapter(database='app')"
    await client.close()
