"""PostgreSQL adapter for Lucia for Python, on psycopg 3 and psycopg_pool.

::

    from lucia import Lucia
    from lucia_postgresql import PostgresAdapter

    adapter = PostgresAdapter("postgresql://app@127.0.0.1/app")
    await adapter.create_schema(user_columns={"username": "string"})
    auth = Lucia(adapter=adapter)
"""

from lucia_postgresql._adapter import PostgresAdapter
from lucia_postgresql._version import __version__

__all__ = ["PostgresAdapter", "__version__"]
