"""The adapter conformance suite, shipped with the core so any adapter can prove itself.

An adapter package subclasses the suite once and supplies a fixture that yields a
fresh adapter on empty tables (the user table must have a text column ``username``)::

    import pytest
    from lucia.testing import AdapterTests

    class TestMyAdapter(AdapterTests):
        capabilities = frozenset({"get_session_and_user", "user_foreign_key"})

        @pytest.fixture
        async def adapter(self):
            adapter = MyAdapter(...)
            await adapter.create_schema(user_columns={"username": "text"})
            yield adapter

        @pytest.fixture
        def raw_dump(self, adapter):
            async def dump() -> str:  # every stored row, as text (SECURITY S2)
                ...
            return dump

Capabilities are declared, never guessed: ``get_session_and_user`` (the optional
one-round-trip read) and ``user_foreign_key`` (``set_session`` refuses an unknown
user). The suite checks that the declaration matches the adapter; the tests of an
undeclared capability do not apply and are not collected.

Session-only stores (Redis) subclass :class:`SessionAdapterTests` and
:class:`LuciaSessionTests` and override ``user_adapter`` with a store for users.
The tests need the ``anyio`` pytest plugin (installed with anyio) and run on asyncio.
"""

from __future__ import annotations

from lucia.testing._clock import FakeClock
from lucia.testing._suite import (
    CONFORMANCE_USER_COLUMNS,
    AdapterTests,
    LuciaSessionTests,
    LuciaTests,
    SessionAdapterTests,
    UserAdapterTests,
    fast_password_hasher,
)

__all__ = [
    "CONFORMANCE_USER_COLUMNS",
    "AdapterTests",
    "FakeClock",
    "LuciaSessionTests",
    "LuciaTests",
    "SessionAdapterTests",
    "UserAdapterTests",
    "fast_password_hasher",
]
