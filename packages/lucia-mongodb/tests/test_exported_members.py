"""The public surface of lucia_mongodb is pinned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

import lucia_mongodb
from lucia.adapters import Adapter, PasskeyAdapter, SessionAndUserAdapter
from lucia.throttle import ThrottleStore

#: What the package exports, in ``__all__`` order: data, kept beside this test.
PUBLIC_SURFACE: dict[str, list[str]] = json.loads(Path(__file__).with_name("public_names.json").read_text())


def test_all_is_pinned_and_sorted() -> None:
    """``__all__`` lists exactly the documented names, sorted, and each one exists."""
    assert lucia_mongodb.__all__ == PUBLIC_SURFACE["lucia_mongodb"]
    assert lucia_mongodb.__all__ == sorted(lucia_mongodb.__all__)
    for name in lucia_mongodb.__all__:
        assert getattr(lucia_mongodb, name) is not None


@pytest.mark.anyio
async def test_adapter_satisfies_the_contract() -> None:
    """``MongoDBAdapter`` is a whole ``Adapter`` with the one-round-trip read, passkeys and a throttle store."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient("mongodb://127.0.0.1:1", connect=False)
    adapter = lucia_mongodb.MongoDBAdapter(client["app"])
    assert isinstance(adapter, Adapter) and isinstance(adapter, SessionAndUserAdapter)
    assert isinstance(adapter, PasskeyAdapter) and isinstance(adapter.throttle_store(), ThrottleStore)
    assert repr(adapter) == "MongoDBAdapter(database='app')"
    await client.close()
