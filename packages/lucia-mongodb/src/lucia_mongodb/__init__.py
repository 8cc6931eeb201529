"""MongoDB adapter for Lucia for Python, on PyMongo's native async client.

::

    from lucia import Lucia
    from lucia.throttle import Throttle
    from lucia_mongodb import MongoDBAdapter

    adapter = MongoDBAdapter.from_url("mongodb://127.0.0.1:27017/app")  # 5 s timeouts by default
    await adapter.create_indexes()
    auth = Lucia(adapter=adapter, throttle=Throttle(store=adapter.throttle_store()))

``MongoDBAdapter(AsyncMongoClient(url, ...)["app"])`` takes a database of a client you
build yourself, and a Motor database (``AsyncIOMotorClient(...)["app"]``) works too.
"""

from lucia_mongodb._adapter import MongoDBAdapter
from lucia_mongodb._throttle import MongoDBThrottleStore
from lucia_mongodb._version import __version__

__all__ = ["MongoDBAdapter", "MongoDBThrottleStore", "__version__"]
