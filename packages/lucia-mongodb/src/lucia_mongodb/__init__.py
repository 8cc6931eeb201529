"""MongoDB adapter for Lucia for Python, on PyMongo's native async client.

::

    from pymongo import AsyncMongoClient
    from lucia import Lucia
    from lucia_mongodb import MongoDBAdapter

    adapter = MongoDBAdapter(AsyncMongoClient("mongodb://127.0.0.1:27017")["app"])
    await adapter.create_indexes()
    auth = Lucia(adapter=adapter)

A Motor database (``AsyncIOMotorClient(...)["app"]``) works in place of the PyMongo one.
"""

from lucia_mongodb._adapter import MongoDBAdapter
from lucia_mongodb._version import __version__

__all__ = ["MongoDBAdapter", "__version__"]
