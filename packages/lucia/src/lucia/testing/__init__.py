"""The conformance suites, shipped with the core so any adapter or store can prove itself.

An adapter package subclasses the suite once and supplies a fixture that yields a
fresh adapter on empty tables (the user table must have the columns of
:data:`CONFORMANCE_USER_COLUMNS`, the session table those of
:data:`CONFORMANCE_SESSION_COLUMNS`)::

    import pytest
    from lucia.testing import CONFORMANCE_SESSION_COLUMNS, CONFORMANCE_USER_COLUMNS, AdapterTests

    class TestMyAdapter(AdapterTests):
        capabilities = frozenset({"get_session_and_user", "user_foreign_key"})

        @pytest.fixture
        async def adapter(self):
            adapter = MyAdapter(...)
            await adapter.create_schema(
                user_columns=CONFORMANCE_USER_COLUMNS, session_columns=CONFORMANCE_SESSION_COLUMNS
            )
            yield adapter

        @pytest.fixture
        def raw_dump(self, adapter):
            async def dump() -> str:  # every stored row, as text (SECURITY S2)
                ...
            return dump

Capabilities are declared, never guessed: ``get_session_and_user`` (the optional
one-round-trip read) and ``user_foreign_key`` (``set_session`` refuses an unknown
user). The suite checks that the declaration matches the adapter; a test of an
undeclared capability is skipped with its reason.

Session-only stores (Redis) subclass :class:`SessionAdapterTests` and
:class:`LuciaSessionTests` and override ``user_adapter`` with a store for users.
Throttle stores subclass :class:`ThrottleStoreTests`; passkey storage
:class:`PasskeyStoreTests`; storage faults (a server cut off, refusing, stalled;
cancelled writes) :class:`FaultTests`, with a :class:`FaultInjector` in front of the
server. The tests need the ``anyio`` pytest plugin (installed with anyio) and run on
asyncio.
"""

from __future__ import annotations

from lucia.testing._adapter_suite import (
    AdapterTests,
    LuciaSessionTests,
    LuciaTests,
    SessionAdapterTests,
    UserAdapterTests,
)
from lucia.testing._clock import FakeClock
from lucia.testing._fault_suite import FaultInjector, FaultTests
from lucia.testing._harness import (
    CONFORMANCE_SESSION_COLUMNS,
    CONFORMANCE_USER_COLUMNS,
    fast_password_hasher,
    gather_outcomes,
)
from lucia.testing._passkey_suite import PasskeyStoreTests
from lucia.testing._session_suite import SessionPolicyTests
from lucia.testing._sync_suite import SyncPathTests
from lucia.testing._throttle_suite import ThrottleStoreTests

__all__ = [
    "CONFORMANCE_SESSION_COLUMNS",
    "CONFORMANCE_USER_COLUMNS",
    "AdapterTests",
    "FakeClock",
    "FaultInjector",
    "FaultTests",
    "LuciaSessionTests",
    "LuciaTests",
    "PasskeyStoreTests",
    "SessionAdapterTests",
    "SessionPolicyTests",
    "SyncPathTests",
    "ThrottleStoreTests",
    "UserAdapterTests",
    "fast_password_hasher",
    "gather_outcomes",
]
