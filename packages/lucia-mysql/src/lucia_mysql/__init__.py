"""MySQL 8 and MariaDB adapter for Lucia for Python, on aiomysql.

::

    from lucia import Lucia
    from lucia_mysql import MySQLAdapter

    adapter = MySQLAdapter("mysql://app:secret@127.0.0.1:3306/app")
    await adapter.create_schema(user_columns={"username": "string"})
    auth = Lucia(adapter=adapter)
"""

from lucia_mysql._adapter import MySQLAdapter
from lucia_mysql._version import __version__

__all__ = ["MySQLAdapter", "__version__"]
