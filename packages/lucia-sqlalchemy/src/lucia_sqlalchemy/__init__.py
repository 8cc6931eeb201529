"""SQLAlchemy 2 adapter for Lucia for Python: any async engine, tables on your ``MetaData``.

::

    from lucia import Lucia
    from lucia_sqlalchemy import SQLAlchemyAdapter, lucia_tables
    from sqlalchemy import Column, MetaData, String
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+psycopg://app@localhost/app", pool_pre_ping=True)
    tables = lucia_tables(MetaData(), user_columns=[Column("username", String(255))])
    adapter = SQLAlchemyAdapter(engine, tables=tables)
    await adapter.create_schema()  # or let Alembic create them from the MetaData
    auth = Lucia(adapter=adapter)
"""

from lucia_sqlalchemy._adapter import SQLAlchemyAdapter
from lucia_sqlalchemy._database import enable_sqlite_foreign_keys
from lucia_sqlalchemy._tables import TABLE_OPTIONS, LuciaTables, lucia_tables
from lucia_sqlalchemy._throttle import SQLAlchemyThrottleStore
from lucia_sqlalchemy._version import __version__

__all__ = [
    "TABLE_OPTIONS",
    "LuciaTables",
    "SQLAlchemyAdapter",
    "SQLAlchemyThrottleStore",
    "__version__",
    "enable_sqlite_foreign_keys",
    "lucia_tables",
]
