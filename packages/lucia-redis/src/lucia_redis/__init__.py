"""Redis session storage and throttle store for Lucia for Python: standalone Redis and Redis Cluster.

Sessions live in Redis; users and keys live in another adapter::

    from lucia import Lucia
    from lucia.throttle import Throttle
    from lucia_redis import RedisSessionAdapter, RedisThrottleStore
    from lucia_sqlite import SQLiteAdapter

    url = "redis://127.0.0.1:6379/0"  # from_url sets 5 s socket timeouts
    sessions = RedisSessionAdapter.from_url(url, key_prefix="myapp:")
    throttle = Throttle(store=RedisThrottleStore.from_url(url, key_prefix="myapp:"))
    auth = Lucia(adapter={"user": SQLiteAdapter("app.db"), "session": sessions}, throttle=throttle)
"""

from lucia_redis._adapter import RedisSessionAdapter
from lucia_redis._throttle import RedisThrottleStore
from lucia_redis._version import __version__

__all__ = ["RedisSessionAdapter", "RedisThrottleStore", "__version__"]
