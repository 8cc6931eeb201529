"""SQLite adapter for Lucia for Python, on aiosqlite.

::

    from lucia import Lucia
    from lucia_sqlite import SQLiteAdapter

    adapter = SQLiteAdapter("app.db")
    await adapter.create_schema(user_columns={"username": "string"})
    auth = Lucia(adapter=adapter)
"""

from lucia_sqlite._adapter import SQLiteAdapter
from lucia_sqlite._version import __version__

__all__ = ["SQLiteAdapter", "__version__"]
