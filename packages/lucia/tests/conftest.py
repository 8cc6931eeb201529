from __future__ import annotations

from typing import Any

import pytest

from lucia import Lucia
from lucia.adapters.memory import MemoryAdapter
from lucia.testing import FakeClock, fast_password_hasher


class CountingAdapter:
    """Wraps an adapter and counts every call made to it: proves 'no database query'."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []
        # Python 3.12+ checks runtime protocols (isinstance(x, UserAdapter)) with
        # getattr_static, never through __getattr__: the public methods are bound here.
        for name in dir(inner):
            if not name.startswith("_") and not hasattr(type(self), name) and callable(getattr(inner, name)):
                setattr(self, name, self.__getattr__(name))

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not callable(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await attribute(*args, **kwargs)

        return call


class CountingHasher:
    """Wraps a password hasher and counts hash/verify/needs_rehash calls (as Django's tests do)."""

    def __init__(self, inner: Any | None = None) -> None:
        self.inner = inner or fast_password_hasher()
        self.hashes = 0
        self.verifies = 0

    def hash(self, password: str) -> str:
        self.hashes += 1
        return str(self.inner.hash(password))

    def verify(self, hash: str, password: str) -> bool:
        self.verifies += 1
        return bool(self.inner.verify(hash, password))

    def needs_rehash(self, hash: str) -> bool:
        return bool(self.inner.needs_rehash(hash))


@pytest.fixture
def memory() -> MemoryAdapter:
    return MemoryAdapter()


@pytest.fixture
def store(memory: MemoryAdapter) -> CountingAdapter:
    return CountingAdapter(memory)


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def auth(store: CountingAdapter, clock: FakeClock, hasher: CountingHasher) -> Lucia:
    return Lucia(adapter=store, clock=clock, password_hasher=hasher)
