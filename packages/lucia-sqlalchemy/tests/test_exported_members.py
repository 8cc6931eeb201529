"""The public surface of lucia_sqlalchemy is pinned."""

from __future__ import annotations

import lucia_sqlalchemy


def test_all_is_pinned_and_sorted() -> None:
    """``__all__`` lists exactly the documented names, sorted, and each one exists."""
    assert lucia_sqlalchemy.__all__ == [
        "LuciaTables",
        "SQLAlchemyAdapter",
        "__version__",
        "enable_sqlite_foreign_keys",
        "lucia_tables",
    ]
    assert lucia_sqlalchemy.__all__ == sorted(lucia_sqlalchemy.__all__)
    for name in lucia_sqlalchemy.__all__:
        assert getattr(lucia_sqlalchemy, name) is not None


def test_adapter_satisfies_the_contract() -> None:
    """``SQLAlchemyAdapter`` is an ``Adapter`` with the one-round-trip capability."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from lucia.adapters import Adapter, SessionAndUserAdapter

    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    adapter = lucia_sqlalchemy.SQLAlchemyAdapter(engine)
    assert isinstance(adapter, Adapter) and isinstance(adapter, SessionAndUserAdapter)
    assert "sqlite" in repr(adapter)


def test_repr_never_shows_the_database_password() -> None:
    """The adapter's repr names the database but masks the URL's password."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+psycopg://app:s3cret-pw@127.0.0.1/app")
    text = repr(lucia_sqlalchemy.SQLAlchemyAdapter(engine))
    assert "s3cret-pw" not in text and "127.0.0.1/app" in text
