"""Redis session adapter for Lucia for Python: standalone Redis and Redis Cluster.

Sessions live in Redis; users and keys live in another adapter::

    from redis.asyncio import Redis
    from lucia import Lucia
    from lucia_redis import RedisSessionAdapter
    from lucia_sqlite import SQLiteAdapter

    sessions = RedisSessionAdapter(Redis.from_url("redis://127.0.0.1:6379/0"), key_prefix="myapp:")
    auth = Lucia(adapter={"user": SQLiteAdapter("app.db"), "session": sessions})
"""

from lucia_redis._adapter import RedisSessionAdapter
from lucia_redis._version import __version__

__all__ = ["RedisSessionAdapter", "__version__"]
