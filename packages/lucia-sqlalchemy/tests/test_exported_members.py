"""The public surface of lucia_sqlalchemy is pinned."""

from __future__ import annotations

import json
from pathlib import Path

import lucia_sqlalchemy

#: What the package exports, in ``__all__`` order: data, kept beside this test.
PUBLIC_SURFACE: dict[str, list[str]] = json.loads(Path(__file__).with_name("public_names.json").read_text())


def test_all_is_pinned_and_sorted() -> None:
    """``__all__`` lists exactly the documented names, sorted as ruff sorts them, and each one exists."""
    assert lucia_sqlalchemy.__all__ == PUBLIC_SURFACE["lucia_sqlalchemy"]
    # The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions and dunders.
    order = sorted(lucia_sqlalchemy.__all__, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n))
    assert lucia_sqlalchemy.__all__ == order
    for name in lucia_sqlalchemy.__all__:
        assert getattr(lucia_sqlalchemy, name) is not None


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
