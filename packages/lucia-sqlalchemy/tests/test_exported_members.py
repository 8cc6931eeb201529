"""The public surface of lucia_sqlalchemy is pinned."""

from __future__ import annotations

import lucia_sqlalchemy
from lucia_testkit import check_public_surface


def test_public_names_are_pinned_and_documented() -> None:
    """Each public module exports exactly its pinned names (``public_names.json``), each documented."""
    check_public_surface(__file__)


def test_adapter_satisfies_the_contract() -> None:
    """``SQLAlchemyAdapter`` is an ``Adapter`` with the join and passkey storage; its throttle store is one."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from lucia.adapters import Adapter, PasskeyAdapter, SessionAndUserAdapter
    from lucia.throttle import ThrottleStore

    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    adapter = lucia_sqlalchemy.SQLAlchemyAdapter(engine)
    assert isinstance(adapter, Adapter) and isinstance(adapter, SessionAndUserAdapter)
    assert isinstance(adapter, PasskeyAdapter)
    store = adapter.throttle_store()
    assert isinstance(store, ThrottleStore) and isinstance(store, lucia_sqlalchemy.SQLAlchemyThrottleStore)
    assert "sqlite" in repr(adapter) and "sqlite" in repr(store)


def test_repr_never_shows_the_database_password() -> None:
    """The adapter's repr names the database but masks the URL's password."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+psycopg://app:s3cret-pw@127.0.0.1/app")
    adapter = lucia_sqlalchemy.SQLAlchemyAdapter(engine)
    for text in (repr(adapter), repr(adapter.throttle_store())):
        assert "s3cret-pw" not in text and "127.0.0.1/app" in text
