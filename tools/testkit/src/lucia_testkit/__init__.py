"""Test tooling of the Lucia for Python repository (unpublished).

::

    from lucia_testkit import FaultProxy, secantus_server

    with FaultProxy(("127.0.0.1", 5432)) as proxy:
        url = f"postgresql://postgres@127.0.0.1:{proxy.port}/test"
        proxy.stall()
"""

from lucia_testkit._databases import (
    MYSQL_URL,
    POSTGRES_URL,
    REDIS_URL,
    fresh_mysql_database,
    fresh_postgres_database,
    mysql_connect_args,
    redis_server_url,
)
from lucia_testkit._lucia_js import LUCIA_JS_DDL, lucia_js_user_id
from lucia_testkit._process import npm_ci, stop_process, wait_for_port
from lucia_testkit._proxy import FaultProxy
from lucia_testkit._secantus import secantus_server
from lucia_testkit._surface import check_public_surface, pinned_surface
from lucia_testkit._version import __version__

__all__ = [
    "LUCIA_JS_DDL",
    "MYSQL_URL",
    "POSTGRES_URL",
    "REDIS_URL",
    "FaultProxy",
    "__version__",
    "check_public_surface",
    "fresh_mysql_database",
    "fresh_postgres_database",
    "lucia_js_user_id",
    "mysql_connect_args",
    "npm_ci",
    "pinned_surface",
    "redis_server_url",
    "secantus_server",
    "stop_process",
    "wait_for_port",
]
